"""Keeping each device subscribed to its district's topic, so a district-wide warning is one push."""

from __future__ import annotations

from collections import defaultdict

import asyncpg
import structlog

from notifications import recipients_repository
from notifications.channels.base import Failure, PushChannel

log = structlog.get_logger(__name__)

_BATCH = 1000  # FCM's limit of tokens per topic-management call


async def sync_topics(conn: asyncpg.Connection, push: PushChannel) -> int:
    """Move devices marked ``topic_pending`` to their district's topic; the count of devices settled.

    FCM is called outside any transaction: the devices are read, subscribed and unsubscribed, and then marked
    settled in a short transaction of their own, only where the topic is still the one subscribed to (a district
    changed meanwhile leaves the device pending for the next pass). Two dispatchers may subscribe the same
    device at once; FCM's subscriptions are idempotent, so that is harmless.
    """
    rows = await recipients_repository.pending_topic_devices(conn, limit=_BATCH)
    if not rows:
        return 0
    leave: dict[str, list[str]] = defaultdict(list)
    join: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row["subscribed_topic"] and row["subscribed_topic"] != row["topic"]:
            leave[row["subscribed_topic"]].append(row["fcm_token"])
        if row["topic"] and row["topic"] != row["subscribed_topic"]:
            join[row["topic"]].append(row["fcm_token"])
    failed: dict[str, Failure] = {}
    for topic, tokens in leave.items():
        for result in await push.unsubscribe(tokens, topic):
            if not result.ok and result.failure is not None:
                failed[result.token] = result.failure
    for topic, tokens in join.items():
        for result in await push.subscribe(tokens, topic):
            if not result.ok and result.failure is not None:
                failed[result.token] = result.failure
    dead = [t for t, f in failed.items() if f is Failure.bad_recipient]
    done = [r for r in rows if r["fcm_token"] not in failed]
    async with conn.transaction():
        await recipients_repository.topics_synced(conn, ids=[r["id"] for r in done], topics=[r["topic"] for r in done])
        if dead:
            await recipients_repository.forget_device_tokens(conn, dead)
    if len(failed) > len(dead):
        log.warning("topic subscriptions will be retried", devices=len(failed) - len(dead))
    return len(done) + len(dead)
