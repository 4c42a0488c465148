"""Scheduled passive-safety work: the inactivity watch and the home devices' health."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.platform.jobs.registry import JobContext, job
from care.passive import devices, inactivity
from notifications.service import Notifier

# A silent person is found within one period of passing their limit.
INACTIVITY_EVERY = timedelta(minutes=5)


@job("care.inactivity", every=INACTIVITY_EVERY)
async def inactivity_sweep(ctx: JobContext) -> dict[str, Any]:
    """Start the inactivity ladder for every quiet home and advance every episode whose next step is due."""
    return await inactivity.sweep(ctx.conn, notifier=Notifier(ctx.settings.notify), now=ctx.now)


@job("care.device-health", every=timedelta(minutes=5))
async def device_health(ctx: JobContext) -> dict[str, Any]:
    """Tell the social worker of every home device silent past its heartbeat limit, as a device problem."""
    return await devices.sweep(ctx.conn, now=ctx.now)
