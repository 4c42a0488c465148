"""Scheduled care work: the minute-by-minute sweep of the escalation ladders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.platform.jobs.registry import JobContext, job
from care import on_duty
from care.ladder import sweep
from notifications.service import Notifier


@job("care.sweep", every=timedelta(minutes=1))
async def care_sweep(ctx: JobContext) -> dict[str, Any]:
    """Advance every check-in plan whose next step is due by exactly one step."""
    return await sweep(ctx.conn, notifier=Notifier(ctx.settings.notify), now=ctx.now)


@job("care.on-duty", every=timedelta(minutes=1))
async def on_duty_escalation(ctx: JobContext) -> dict[str, Any]:
    """Tell the next person on duty of every urgent case nobody has acknowledged within the escalation time."""
    every = timedelta(minutes=ctx.settings.care.escalate_after_min)
    told = await on_duty.escalate(ctx.conn, notifier=Notifier(ctx.settings.notify), now=ctx.now, every=every)
    return {"told": told}
