"""SQL for incidents a city sensor opens: the open one of a (sensor, rule), and a new one, routed.

Its own columns of hazard_incidents only (source, sensor_id, sensor_rule, sensor_measure); the rest of an
incident's life is the repository's.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

_OPEN = ["submitted", "acknowledged", "in_progress"]


async def open_of(conn: asyncpg.Connection, *, sensor_id: str, rule: str) -> asyncpg.Record | None:
    """The open incident of this sensor's rule, locked; None when there is none."""
    return await conn.fetchrow(
        """
        SELECT * FROM hazard_incidents
        WHERE source = 'sensor' AND sensor_id = $1 AND sensor_rule = $2 AND status = ANY($3::text[])
        FOR UPDATE
        """,
        sensor_id,
        rule,
        _OPEN,
    )


async def insert(
    conn: asyncpg.Connection,
    *,
    category: str,
    lat: float,
    lon: float,
    district: str,
    sensor_id: str,
    rule: str,
    measure: float,
    now: datetime,
) -> int:
    """A new incident of the sensor, routed as any other (its district, its category's department, a deadline).

    A second opener racing for the same rule waits on the unique index and then finds nothing inserted; the
    caller holds the rule's lock, so that does not happen in practice.
    """
    return await conn.fetchval(
        """
        INSERT INTO hazard_incidents (category, lat, lon, first_reported_at, last_reported_at, status_changed_at,
                                      updated_at, district, department_ko, department_en, due_at,
                                      source, sensor_id, sensor_rule, sensor_measure)
        SELECT $1, $2, $3, $4::timestamptz, $4, $4, $4, $5, r.department_ko, r.department_en,
               $4::timestamptz + make_interval(mins => r.deadline_minutes), 'sensor', $6, $7, $8
        FROM hazard_routing r WHERE r.category = $1
        RETURNING id
        """,
        category,
        lat,
        lon,
        now,
        district,
        sensor_id,
        rule,
        measure,
    )


async def seen_again(conn: asyncpg.Connection, *, incident_id: int, measure: float, now: datetime) -> None:
    """A new trip of the rule while its incident is open: the latest measure, and when it was seen."""
    await conn.execute(
        "UPDATE hazard_incidents SET sensor_measure = $2, last_reported_at = $3, updated_at = $3 WHERE id = $1",
        incident_id,
        measure,
        now,
    )
