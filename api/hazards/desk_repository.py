"""The hazard desk's reads over incidents: the filtered list, the map's counts, and the open-data export."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

import asyncpg

# One WHERE for the list, the map and the export: $1 categories, $2 statuses, $3 district, $4 overdue only,
# $5 since, $6 until (of the first report), $7 now.
_FILTER = """
    i.status <> 'merged'
    AND ($1::text[] IS NULL OR i.category = ANY($1::text[]))
    AND ($2::text[] IS NULL OR i.status = ANY($2::text[]))
    AND ($3::text IS NULL OR i.district = $3)
    AND (NOT $4::bool OR coalesce(i.handled_at, $7::timestamptz) > i.due_at)
    AND i.first_reported_at >= $5 AND i.first_reported_at < $6
"""


def _args(
    categories: Sequence[str] | None,
    statuses: Sequence[str] | None,
    district: str | None,
    overdue: bool,
    since: datetime,
    until: datetime,
    now: datetime,
) -> list[object]:
    return [
        list(categories) if categories else None,
        list(statuses) if statuses else None,
        district,
        overdue,
        since,
        until,
        now,
    ]


async def page(
    conn: asyncpg.Connection, *, filters: list[object], before_id: int | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""
        SELECT i.id, i.category, i.status, i.district, i.department_ko, i.department_en, i.lat, i.lon,
               i.report_count, i.first_reported_at, i.status_changed_at, i.due_at, i.handled_at,
               coalesce(i.handled_at, $7::timestamptz) > i.due_at AS overdue,
               i.source, i.sensor_id, i.sensor_rule, i.sensor_measure,
               ARRAY(SELECT r.id FROM hazard_reports r WHERE r.incident_id = i.id ORDER BY r.id) AS report_ids
        FROM hazard_incidents i
        WHERE {_FILTER} AND ($8::bigint IS NULL OR i.id < $8)
        ORDER BY i.id DESC
        LIMIT $9
        """,  # noqa: S608
        *filters,
        before_id,
        limit,
    )


async def by_district(conn: asyncpg.Connection, *, filters: list[object]) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""
        SELECT i.district, count(*) AS incidents,
               count(*) FILTER (WHERE i.status IN ('submitted', 'acknowledged', 'in_progress')) AS open,
               count(*) FILTER (WHERE coalesce(i.handled_at, $7::timestamptz) > i.due_at) AS overdue
        FROM hazard_incidents i
        WHERE {_FILTER} AND i.district IS NOT NULL
        GROUP BY i.district
        """,  # noqa: S608
        *filters,
    )


async def sensor_incidents(conn: asyncpg.Connection, *, filters: list[object]) -> list[asyncpg.Record]:
    """The incidents sensors opened, newest first: the map marks each at its sensor."""
    return await conn.fetch(
        f"""
        SELECT i.id, i.status, i.lat, i.lon, i.district, i.sensor_id, i.sensor_rule, i.sensor_measure,
               i.first_reported_at, i.handled_at, coalesce(i.handled_at, $7::timestamptz) > i.due_at AS overdue
        FROM hazard_incidents i
        WHERE {_FILTER} AND i.source = 'sensor'
        ORDER BY i.id DESC
        LIMIT 500
        """,  # noqa: S608
        *filters,
    )


async def heat(conn: asyncpg.Connection, *, filters: list[object], cell_deg: float) -> list[asyncpg.Record]:
    """Incidents counted per grid cell (its south-west corner), for the heatmap."""
    return await conn.fetch(
        f"""
        SELECT floor(i.lat / $8::float8) * $8::float8 AS lat, floor(i.lon / $8::float8) * $8::float8 AS lon,
               count(*) AS n
        FROM hazard_incidents i
        WHERE {_FILTER}
        GROUP BY 1, 2
        ORDER BY 3 DESC
        """,  # noqa: S608
        *filters,
        cell_deg,
    )


_AT = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
_GRID_LAT = "round((round(i.lat / 0.0005) * 0.0005)::numeric, 4)"
_GRID_LON = "round((round(i.lon / 0.0006) * 0.0006)::numeric, 4)"
_EXPORT_TYPED = f"""
    i.id, i.category, i.status, i.district, i.department_ko, i.department_en,
    {_GRID_LAT}::float8 AS lat, {_GRID_LON}::float8 AS lon, i.report_count, i.first_reported_at,
    i.status_changed_at, i.due_at, i.handled_at, coalesce(i.handled_at, $7::timestamptz) > i.due_at AS overdue
"""
# The same columns as text, formatted by PostgreSQL: the CSV writer only quotes them.
_EXPORT_TEXT = f"""
    i.id::text, i.category, i.status, coalesce(i.district, ''), coalesce(i.department_ko, ''),
    coalesce(i.department_en, ''), {_GRID_LAT}::text, {_GRID_LON}::text, i.report_count::text,
    {_AT.format("i.first_reported_at")}, {_AT.format("i.status_changed_at")},
    coalesce({_AT.format("i.due_at")}, ''), coalesce({_AT.format("i.handled_at")}, ''),
    CASE WHEN coalesce(i.handled_at, $7::timestamptz) > i.due_at THEN 'true' ELSE 'false' END
"""


async def export_rows(
    conn: asyncpg.Connection, *, filters: list[object], as_text: bool = False, prefetch: int = 5000
) -> AsyncIterator[asyncpg.Record]:
    """Every matching incident, oldest first, read through a cursor (the caller holds a transaction):
    what the city publishes: no one's words, no reporter, the place on the public ~50 m grid (rounded here).
    ``as_text`` gives every column as text, in the order of ``desk.EXPORT_FIELDS``."""
    query = f"""
        SELECT {_EXPORT_TEXT if as_text else _EXPORT_TYPED}
        FROM hazard_incidents i
        WHERE {_FILTER}
        ORDER BY i.id
    """  # noqa: S608
    async for row in conn.cursor(query, *filters, prefetch=prefetch):
        yield row


async def count(conn: asyncpg.Connection, *, filters: list[object]) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM hazard_incidents i WHERE {_FILTER}", *filters)  # noqa: S608


filters = _args
