"""Scheduled hazard work: placing incidents opened before routing existed, and telling area watchers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.hazards import routing, watches
from api.platform.jobs.registry import JobContext, job
from notifications.service import Notifier


@job("hazards.route", every=timedelta(minutes=10))
async def route_incidents(ctx: JobContext) -> dict[str, Any]:
    """Give a district to incidents that have none (those opened before routing existed)."""
    return {"routed": await routing.route_unrouted(ctx.conn)}


@job("hazards.watch-alerts", every=timedelta(minutes=1))
async def watch_alerts(ctx: JobContext) -> dict[str, Any]:
    """Tell citizens watching an area of each new gas, sinkhole or fire incident inside it, at once."""
    return await watches.tell_at_once(ctx.conn, notifier=Notifier(ctx.settings.notify), now=ctx.now)


# Slots of a day from 00:00 UTC: the digest goes at 09:00 in Seoul, of the day before.
@job("hazards.watch-digest", every=timedelta(days=1))
async def watch_digest(ctx: JobContext) -> dict[str, Any]:
    """Tell citizens watching an area of the day's other new incidents inside it, once a day."""
    return await watches.daily_digest(
        ctx.conn,
        notifier=Notifier(ctx.settings.notify),
        since=ctx.slot - timedelta(days=1),
        until=ctx.slot,
        now=ctx.now,
    )
