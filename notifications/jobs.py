"""Scheduled housekeeping for the outbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.platform.jobs.registry import JobContext, job
from notifications import recipients_repository, repository

# Long enough to answer "did she get the message?" months later; a fan-out is a million rows, so not forever.
KEEP = timedelta(days=90)


@job("notifications.purge-old", every=timedelta(days=1))
async def purge_old(ctx: JobContext) -> dict[str, Any]:
    """Delete notices older than 90 days whose deliveries have all ended, and inbound SMS as old."""
    before = ctx.now - KEEP
    return {
        "notices": await repository.purge_notices(ctx.conn, before=before),
        "sms_inbound": await recipients_repository.purge_inbound(ctx.conn, before=before),
    }
