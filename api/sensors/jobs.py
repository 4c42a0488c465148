"""Scheduled sensor work: the readings' daily partitions, made a week ahead."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from api.platform.jobs.registry import JobContext, job
from api.sensors import repository

AHEAD = timedelta(days=7)


@job("sensors.partitions", every=timedelta(hours=6))
async def make_partitions(ctx: JobContext) -> dict[str, Any]:
    """Make the readings partitions from today to a week ahead (those missing only)."""
    today = ctx.now.astimezone(UTC).date()
    made = await repository.ensure_partitions(ctx.conn, first=today, last=today + AHEAD)
    return {"made": made}
