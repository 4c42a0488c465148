"""Scheduled sensor work: the readings' daily partitions, made a week ahead and dropped once past retention."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from api.platform.db import partitions
from api.platform.jobs.registry import PoolContext, job
from api.sensors import repository

AHEAD = timedelta(days=7)
TABLE = "sensor_readings"


def retention(keep_days: int) -> partitions.Retention:
    """The readings' retention: a day goes when all of it is older than ``keep_days`` (SENSOR_READINGS_KEEP_DAYS).
    Nothing references a reading and the table has no default partition, so nothing is checked or purged first."""
    return partitions.Retention(table=TABLE, keep=timedelta(days=keep_days))


@job("sensors.partitions", every=timedelta(hours=6), transaction=False)
async def make_partitions(ctx: PoolContext) -> dict[str, Any]:
    """Make the readings partitions from today to a week ahead (those missing only), then drop the days past
    retention, each in a short transaction of its own."""
    today = ctx.now.astimezone(UTC).date()
    async with ctx.pool.acquire() as conn, conn.transaction():
        made = await repository.ensure_partitions(conn, first=today, last=today + AHEAD)
    ended = await partitions.drop_ended(ctx.pool, retention(ctx.settings.sensors.readings_keep_days), now=ctx.now)
    return {"made": made, **ended}
