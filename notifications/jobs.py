"""Scheduled housekeeping for the outbox: its monthly partitions, old notices and old inbound SMS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.platform.db import partitions
from api.platform.jobs.registry import PoolContext, job
from notifications import recipients_repository, repository, retention_repository

# Long enough to answer "did she get the message?" months later; a fan-out is a million rows, so not forever.
# A month's deliveries go when the whole month is this old: each is kept 90 days at least, a month more at most.
KEEP = timedelta(days=90)

OUTBOX = partitions.Retention(
    table="outbox",
    keep=KEEP,
    purge_default=retention_repository.purge_default,
    still_needed=retention_repository.still_to_go,
    before_drop=retention_repository.delete_calls_of,
)


@job("notifications.purge-old", every=timedelta(days=1), transaction=False)
async def purge_old(ctx: PoolContext) -> dict[str, Any]:
    """Make the outbox's months ahead and drop those past 90 days; delete notices left with no delivery, and
    inbound SMS older than 90 days."""
    result: dict[str, Any] = {"outbox": await partitions.maintain(ctx.pool, OUTBOX, now=ctx.now)}
    before = ctx.now - KEEP
    async with ctx.pool.acquire() as conn, conn.transaction():
        result["notices"] = await repository.purge_notices(conn, before=before)
        result["sms_inbound"] = await recipients_repository.purge_inbound(conn, before=before)
    return result
