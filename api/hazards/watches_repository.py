"""The hazard_area_watches table, and the incidents inside watched areas (migrations/0035)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

# Told at once; the rest wait for the daily digest.
DANGEROUS = ["gas_smell", "sinkhole", "fire_smoke"]
_COLUMNS = "id, label, place_id, area::text AS area, area_km2, created_at"
_INSIDE = """
    i.lat BETWEEN w.min_lat AND w.max_lat AND i.lon BETWEEN w.min_lon AND w.max_lon
    AND point(i.lon, i.lat) <@ w.area
"""


async def lock_watches(conn: asyncpg.Connection, citizen_id: int) -> list[asyncpg.Record]:
    """The citizen's watches, with the citizen locked so that two adds count one after the other."""
    await conn.execute("SELECT 1 FROM citizens WHERE id = $1 FOR UPDATE", citizen_id)
    return await list_watches(conn, citizen_id)


async def list_watches(conn: asyncpg.Connection, citizen_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {_COLUMNS} FROM hazard_area_watches WHERE citizen_id = $1 ORDER BY id",  # noqa: S608
        citizen_id,
    )


async def insert_watch(
    conn: asyncpg.Connection,
    *,
    citizen_id: int,
    label: str,
    place_id: int | None,
    area: str,
    area_km2: float,
    bounds: tuple[float, float, float, float],
    now: datetime,
) -> asyncpg.Record:
    """``bounds`` is (min lon, min lat, max lon, max lat), as shapely gives it."""
    return await conn.fetchrow(
        f"""
        INSERT INTO hazard_area_watches (citizen_id, label, place_id, area, area_km2,
                                         min_lon, min_lat, max_lon, max_lat, created_at)
        VALUES ($1, $2, $3, $4::text::polygon, $5, $6, $7, $8, $9, $10)
        RETURNING {_COLUMNS}
        """,  # noqa: S608
        citizen_id,
        label,
        place_id,
        area,
        area_km2,
        *bounds,
        now,
    )


async def delete_watch(conn: asyncpg.Connection, *, citizen_id: int, watch_id: int) -> bool:
    status = await conn.execute(
        "DELETE FROM hazard_area_watches WHERE id = $1 AND citizen_id = $2", watch_id, citizen_id
    )
    return status != "DELETE 0"


async def claim_dangerous(conn: asyncpg.Connection, *, limit: int) -> list[asyncpg.Record]:
    """Dangerous incidents whose watchers have not been told, locked for this run."""
    return await conn.fetch(
        """
        SELECT id, category, first_reported_at FROM hazard_incidents
        WHERE watchers_told_at IS NULL AND category = ANY($1::text[])
        ORDER BY id LIMIT $2
        FOR UPDATE SKIP LOCKED
        """,
        DANGEROUS,
        limit,
    )


async def watchers_of(conn: asyncpg.Connection, incident_ids: Sequence[int]) -> list[asyncpg.Record]:
    """Each (incident, watching citizen) once, with the label of one of their watches over it; reporters of the
    incident are left out (they know)."""
    return await conn.fetch(
        f"""
        SELECT i.id AS incident_id, i.category, w.citizen_id, min(w.label) AS label
        FROM hazard_incidents i
        JOIN hazard_area_watches w ON {_INSIDE}
        WHERE i.id = ANY($1::bigint[]) AND i.status <> 'merged'
          AND NOT EXISTS (SELECT 1 FROM hazard_reports r WHERE r.incident_id = i.id AND r.citizen_id = w.citizen_id)
        GROUP BY i.id, i.category, w.citizen_id
        ORDER BY i.id, w.citizen_id
        """,  # noqa: S608
        list(incident_ids),
    )


async def mark_told(conn: asyncpg.Connection, incident_ids: Sequence[int], *, now: datetime) -> None:
    await conn.execute(
        "UPDATE hazard_incidents SET watchers_told_at = $2 WHERE id = ANY($1::bigint[])", list(incident_ids), now
    )


async def digest(conn: asyncpg.Connection, *, since: datetime, until: datetime) -> list[asyncpg.Record]:
    """Per watch: the incidents (not dangerous ones, told at once; not a sensor's) first reported inside it in
    [since, until), counted by category."""
    return await conn.fetch(
        f"""
        SELECT w.id AS watch_id, w.citizen_id, w.label, i.category, count(*) AS n
        FROM hazard_area_watches w
        JOIN hazard_incidents i ON {_INSIDE}
        WHERE i.first_reported_at >= $1 AND i.first_reported_at < $2
          AND i.status <> 'merged' AND NOT (i.category = ANY($3::text[]))
          -- A sensor's incident has told the people there already, through its alert.
          AND i.source = 'reports'
        GROUP BY w.id, w.citizen_id, w.label, i.category
        ORDER BY w.id, i.category
        """,  # noqa: S608
        since,
        until,
        DANGEROUS,
    )
