"""Scheduled safety-check work: the minute-by-minute climb of unanswered "are you safe?" questions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.platform.jobs.registry import JobContext, job
from care.safety.service import sweep
from notifications.service import Notifier


@job("care.safety-sweep", every=timedelta(minutes=1))
async def safety_sweep(ctx: JobContext) -> dict[str, Any]:
    """Advance every unanswered safety check whose next step is due by exactly one step."""
    return await sweep(ctx.conn, notifier=Notifier(ctx.settings.notify), now=ctx.now)
