"""Scheduled flood work: the minute-by-minute escalation of silent checks and unanswered calls for help."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.platform.jobs.registry import JobContext, job
from care.flood.escalation import sweep
from notifications.service import Notifier


@job("care.flood-escalation", every=timedelta(minutes=1))
async def flood_escalation(ctx: JobContext) -> dict[str, Any]:
    """Tell the duty workers of every flood check whose silence or call for help is due, each once."""
    return await sweep(ctx.conn, notifier=Notifier(ctx.settings.notify), now=ctx.now)
