"""Scheduled hazard work: placing incidents opened before routing existed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.hazards import routing
from api.platform.jobs.registry import JobContext, job


@job("hazards.route", every=timedelta(minutes=10))
async def route_incidents(ctx: JobContext) -> dict[str, Any]:
    """Give a district to incidents that have none (those opened before routing existed)."""
    return {"routed": await routing.route_unrouted(ctx.conn)}
