"""SQL for city sensors: the registry, the rules and their state, and the day-partitioned readings.

Its own tables only: city_sensors, sensor_rules, sensor_readings (and its partitions).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

import asyncpg


class Reading(NamedTuple):
    sensor_id: str
    at: datetime
    value: float


class RuleRow(NamedTuple):
    name: str
    window_s: int
    trip_at: float
    clear_at: float
    trip_after_s: int
    clear_after_s: int


async def insert_sensor(conn: asyncpg.Connection, row: dict[str, Any], rules: Sequence[RuleRow]) -> bool:
    """A new sensor and its rules; False when the id is taken."""
    created = await conn.fetchval(
        """
        INSERT INTO city_sensors (id, kind, name, lat, lon, dong, district, owner, radius_m, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (id) DO NOTHING
        RETURNING true
        """,
        row["id"],
        row["kind"],
        row["name"],
        row["lat"],
        row["lon"],
        row["dong"],
        row["district"],
        row["owner"],
        row["radius_m"],
        row["created_at"],
    )
    if not created:
        return False
    await conn.execute(
        """
        INSERT INTO sensor_rules (sensor_id, name, window_s, trip_at, clear_at, trip_after_s, clear_after_s)
        SELECT $1, * FROM unnest($2::text[], $3::int[], $4::float8[], $5::float8[], $6::int[], $7::int[])
        """,
        row["id"],
        [r.name for r in rules],
        [r.window_s for r in rules],
        [r.trip_at for r in rules],
        [r.clear_at for r in rules],
        [r.trip_after_s for r in rules],
        [r.clear_after_s for r in rules],
    )
    return True


async def get_sensors(conn: asyncpg.Connection, ids: Sequence[str] | None = None) -> list[asyncpg.Record]:
    """Sensors (these, or all) with their rules as a json list, by id."""
    return await conn.fetch(
        """
        SELECT s.*,
               (SELECT coalesce(json_agg(json_build_object(
                    'name', r.name, 'window_s', r.window_s, 'trip_at', r.trip_at, 'clear_at', r.clear_at,
                    'trip_after_s', r.trip_after_s, 'clear_after_s', r.clear_after_s, 'tripped', r.tripped,
                    'alert_id', r.alert_id, 'incident_id', r.incident_id,
                    'alert_expires_at', r.alert_expires_at) ORDER BY r.name), '[]')
                FROM sensor_rules r WHERE r.sensor_id = s.id) AS rules
        FROM city_sensors s
        WHERE $1::text[] IS NULL OR s.id = ANY($1::text[])
        ORDER BY s.id
        """,
        None if ids is None else list(ids),
    )


async def kinds_of(conn: asyncpg.Connection, ids: Sequence[str]) -> dict[str, str]:
    rows = await conn.fetch("SELECT id, kind FROM city_sensors WHERE id = ANY($1::text[])", list(ids))
    return {r["id"]: r["kind"] for r in rows}


async def missing_days(conn: asyncpg.Connection, days: Sequence[date]) -> list[date]:
    """The days among these that have no readings partition yet."""
    rows = await conn.fetch(
        """
        SELECT d FROM unnest($1::date[]) AS d
        WHERE to_regclass('sensor_readings_' || to_char(d, 'YYYYMMDD')) IS NULL
        """,
        list(days),
    )
    return [r["d"] for r in rows]


async def ensure_partitions(conn: asyncpg.Connection, *, first: date, last: date) -> int:
    """Make the daily partitions from ``first`` to ``last`` that do not exist; how many were made."""
    return await conn.fetchval("SELECT sensor_readings_ensure($1, $2)", first, last)


async def insert_readings(
    conn: asyncpg.Connection, readings: Sequence[Reading], *, gateway: str, now: datetime
) -> list[asyncpg.Record]:
    """Store the readings, once per (sensor, time); the (sensor_id, at) of those stored now."""
    return await conn.fetch(
        """
        INSERT INTO sensor_readings (sensor_id, at, value, gateway, received_at)
        SELECT sensor_id, at, value, $4, $5 FROM unnest($1::text[], $2::timestamptz[], $3::float8[])
            AS r (sensor_id, at, value)
        ON CONFLICT (sensor_id, at) DO NOTHING
        RETURNING sensor_id, at
        """,
        [r.sensor_id for r in readings],
        [r.at for r in readings],
        [r.value for r in readings],
        gateway,
        now,
    )


async def lock_rules(conn: asyncpg.Connection, sensor_ids: Sequence[str]) -> list[asyncpg.Record]:
    """The rules of these sensors with their state, locked until the transaction ends (one batch at a time)."""
    return await conn.fetch(
        """
        SELECT r.*, s.kind, s.name AS sensor_name, s.lat, s.lon, s.dong, s.district, s.radius_m
        FROM sensor_rules r JOIN city_sensors s ON s.id = r.sensor_id
        WHERE r.sensor_id = ANY($1::text[])
        ORDER BY r.sensor_id, r.name
        FOR UPDATE OF r
        """,
        list(sensor_ids),
    )


async def measures(
    conn: asyncpg.Connection, *, sensor_ids: Sequence[str], ats: Sequence[datetime], window_s: int
) -> list[asyncpg.Record]:
    """For each (sensor, time): the sum of its readings in the ``window_s`` up to and including that time (the
    reading itself when ``window_s`` is 0), in time order."""
    return await conn.fetch(
        """
        SELECT m.sensor_id, m.at,
               CASE WHEN $3 = 0 THEN (SELECT x.value FROM sensor_readings x
                                      WHERE x.sensor_id = m.sensor_id AND x.at = m.at
                                        AND x.at BETWEEN $4 AND $5)
                    ELSE (SELECT sum(x.value) FROM sensor_readings x
                          WHERE x.sensor_id = m.sensor_id AND x.at <= m.at
                            AND x.at > m.at - make_interval(secs => $3)
                            AND x.at BETWEEN $4 AND $5) END AS measure
        FROM unnest($1::text[], $2::timestamptz[]) AS m (sensor_id, at)
        ORDER BY m.sensor_id, m.at
        """,
        list(sensor_ids),
        list(ats),
        window_s,
        # The whole span as constants too, so each lookup visits only the partitions it can touch.
        min(ats) - timedelta(seconds=window_s),
        max(ats),
    )


async def save_states(conn: asyncpg.Connection, states: Sequence[dict[str, Any]]) -> None:
    """Write each rule's new state (sensor_id, name, tripped, above_since, below_since, evaluated_at, alert_id,
    tripped_at, incident_id, alert_expires_at, alert_identifier, alert_sent_at), in one statement."""
    if not states:
        return
    await conn.execute(
        """
        UPDATE sensor_rules r
        SET tripped = s.tripped, above_since = s.above_since, below_since = s.below_since,
            evaluated_at = s.evaluated_at, alert_id = s.alert_id, tripped_at = s.tripped_at,
            incident_id = s.incident_id, alert_expires_at = s.alert_expires_at,
            alert_identifier = s.alert_identifier, alert_sent_at = s.alert_sent_at
        FROM unnest($1::text[], $2::text[], $3::bool[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[],
                    $7::bigint[], $8::timestamptz[], $9::bigint[], $10::timestamptz[], $11::text[],
                    $12::timestamptz[])
            AS s (sensor_id, name, tripped, above_since, below_since, evaluated_at, alert_id, tripped_at,
                  incident_id, alert_expires_at, alert_identifier, alert_sent_at)
        WHERE r.sensor_id = s.sensor_id AND r.name = s.name
        """,
        *[[state[k] for state in states] for k in _STATE_COLUMNS],
    )


_STATE_COLUMNS = (
    "sensor_id", "name", "tripped", "above_since", "below_since", "evaluated_at", "alert_id", "tripped_at",
    "incident_id", "alert_expires_at", "alert_identifier", "alert_sent_at",
)  # fmt: skip
