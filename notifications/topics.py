"""Keeping each device subscribed to its topics: its district's, so that a district-wide warning is one push, and
the dong of each of its citizen's places (``dong-<code>``), so that a warning over whole dongs is one push a dong."""

from __future__ import annotations

from collections import defaultdict

import asyncpg
import structlog

from notifications import recipients_repository
from notifications.channels.base import Failure, PushChannel

log = structlog.get_logger(__name__)

_BATCH = 1000  # FCM's limit of tokens per topic-management call


async def sync_topics(conn: asyncpg.Connection, push: PushChannel) -> int:
    """Bring the devices marked ``topic_pending`` onto the topics they should hear; the count of devices settled.

    FCM is called outside any transaction: the devices are read, unsubscribed and subscribed, and what each is on
    afterwards is recorded in a short transaction of their own. A device whose calls failed, or whose citizen's
    district or places changed meanwhile, stays pending for the next pass, which starts from what was recorded.
    Two dispatchers may subscribe the same device at once; FCM's subscriptions are idempotent, so that is
    harmless.
    """
    rows = await recipients_repository.pending_topic_devices(conn, limit=_BATCH)
    if not rows:
        return 0
    leave: dict[str, list[str]] = defaultdict(list)
    join: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        subscribed, wanted = set(row["subscribed"]), set(row["wanted"])
        for topic in subscribed - wanted:
            leave[topic].append(row["fcm_token"])
        for topic in wanted - subscribed:
            join[topic].append(row["fcm_token"])
    failed: dict[tuple[str, str], Failure] = {}  # (token, topic) → why
    for topic, tokens in leave.items():
        for result in await push.unsubscribe(tokens, topic):
            if not result.ok and result.failure is not None:
                failed[result.token, topic] = result.failure
    for topic, tokens in join.items():
        for result in await push.subscribe(tokens, topic):
            if not result.ok and result.failure is not None:
                failed[result.token, topic] = result.failure
    dead = {token for (token, _), f in failed.items() if f is Failure.bad_recipient}
    live = [r for r in rows if r["fcm_token"] not in dead]
    now_on = [_now_on(r, failed) for r in live]
    async with conn.transaction():
        await recipients_repository.topics_synced(conn, ids=[r["id"] for r in live], topics=now_on)
        if dead:
            await recipients_repository.forget_device_tokens(conn, sorted(dead))
    retried = {token for token, _ in failed} - dead
    if retried:
        log.warning("topic subscriptions will be retried", devices=len(retried))
    return len(rows) - len(retried)


def _now_on(row: asyncpg.Record, failed: dict[tuple[str, str], Failure]) -> list[str]:
    """The topics a device is on after this pass: what it wanted, except where joining failed, and what it
    should leave where leaving failed."""
    token, subscribed, wanted = row["fcm_token"], set(row["subscribed"]), set(row["wanted"])
    kept = {t for t in subscribed - wanted if (token, t) in failed}
    joined = {t for t in wanted if t in subscribed or (token, t) not in failed}
    return sorted(kept | joined)
