"""Old readings go a day at a time: the sensors.partitions job drops each day's partition once the whole day is
older than SENSOR_READINGS_KEEP_DAYS (90 by default), with its rows, and keeps the rest, rows and all.

The test database was migrated today, so its partitions run from 8 days ago to 7 ahead; the job runs as if
about three months later.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import msgspec
import pytest

from api.platform.jobs.runner import run_job
from api.platform.settings import SensorSettings, Settings, SettingsError
from api.worker import JOBS

JOB = JOBS["sensors.partitions"]
TODAY = datetime.now(UTC).date()


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def name(d: date) -> str:
    return f"sensor_readings_{d:%Y%m%d}"


async def partitions(pool) -> set[str]:  # type: ignore[no-untyped-def]
    rows = await pool.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'sensor_readings'::regclass"
    )
    return {r["relname"] for r in rows}


async def test_days_past_retention_are_dropped_with_their_rows_and_the_rest_kept(pool, settings):
    noon = {d: datetime.combine(day(d), time(12), tzinfo=UTC) for d in (-8, -5, -4, 5, 6, 7)}
    await pool.execute(
        "INSERT INTO sensor_readings (sensor_id, at, value, gateway, received_at)"
        " SELECT 'rain-1', at, 1.0, 'gw', at FROM unnest($1::timestamptz[]) AS at",
        list(noon.values()),
    )
    runs_at = datetime.combine(day(96), time(1), tzinfo=UTC)

    # Kept 100 days: the days wholly before 4 days ago go, 8 to 5 days ago (and their readings).
    longer = msgspec.structs.replace(settings, sensors=SensorSettings(readings_keep_days=100))
    result = (await run_job(pool, JOB, now=runs_at, settings=longer)).result
    assert result["dropped"] == [name(day(d)) for d in range(-8, -4)]
    assert {name(day(d)) for d in range(-8, -4)}.isdisjoint(await partitions(pool))

    # The default 90 days: every day up to 5 days ahead of today goes; 6 and 7 ahead stay, and the new week.
    # Each run is a slot of its own (every 6 hours).
    result = (await run_job(pool, JOB, now=runs_at + timedelta(hours=6), settings=settings)).result
    assert result["dropped"] == [name(day(d)) for d in range(-4, 6)]
    left = await partitions(pool)
    assert {name(day(6)), name(day(7))} | {name(day(d)) for d in range(96, 104)} <= left
    assert not any(name(day(d)) in left for d in range(-8, 6))
    kept = await pool.fetch("SELECT at FROM sensor_readings ORDER BY at")
    assert [r["at"] for r in kept] == [noon[6], noon[7]]

    # Run again: nothing more to drop.
    assert (await run_job(pool, JOB, now=runs_at + timedelta(hours=12), settings=settings)).result["dropped"] == []


def test_a_retention_shorter_than_the_readings_taken_is_refused() -> None:
    with pytest.raises(SettingsError, match="SENSOR_READINGS_KEEP_DAYS"):
        Settings.from_env({"SENSOR_READINGS_KEEP_DAYS": "5"})
    assert Settings.from_env({"SENSOR_READINGS_KEEP_DAYS": "30"}).sensors.readings_keep_days == 30
    assert Settings.from_env({}).sensors.readings_keep_days == 90
