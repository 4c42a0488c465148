"""Scheduled chat work: forward the texts the webhook's fast path did not answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg

from api.chat import conversation, tracker_store
from api.chat.rasa import RasaClient
from api.platform.db.embedded import with_database
from api.platform.jobs.registry import PoolContext, job
from notifications.service import Notifier

GRACE = timedelta(seconds=10)  # the fast path's time to answer before the job steps in


# Outside the slot's transaction: Rasa is never called inside one, and the slot's would sit idle for the whole run.
@job("chat.sms-replies", every=timedelta(seconds=15), transaction=False)
async def sms_replies(ctx: PoolContext) -> dict[str, Any]:
    """Forward to the chatbot every text still waiting for it, and send its answer (or an apology) by SMS."""
    rasa = RasaClient(ctx.settings.rasa)
    try:
        return await conversation.forward_due(
            ctx.pool,
            rasa,
            Notifier(ctx.settings.notify),
            now=ctx.now,
            grace=GRACE,
            lease_s=conversation.lease(ctx.settings.rasa.timeout_s),
        )
    finally:
        await rasa.aclose()


# Outside the slot's transaction: the tracker store is another database, reached on a connection of its own.
@job("chat.tracker-retention", every=timedelta(days=1), transaction=False)
async def tracker_retention(ctx: PoolContext) -> dict[str, Any]:
    """Delete from Rasa's tracker store the conversations silent for ``RASA_TRACKER_RETENTION_DAYS`` (30)."""
    days = ctx.settings.rasa.tracker_retention_days
    assert ctx.settings.db.url is not None  # the worker runs on a database
    url = with_database(ctx.settings.db.url, ctx.settings.rasa.tracker_db)
    try:
        conn = await asyncpg.connect(url)
    except asyncpg.InvalidCatalogNameError:
        return {"skipped": f"no tracker store database {ctx.settings.rasa.tracker_db!r} (the chatbot never ran)"}
    try:
        if not await tracker_store.has_events_table(conn):
            return {"skipped": "the tracker store has no events yet"}
        conversations, events = await tracker_store.delete_idle_conversations(
            conn, idle_since=ctx.now - timedelta(days=days)
        )
    finally:
        await conn.close()
    return {"retention_days": days, "conversations_deleted": conversations, "events_deleted": events}
