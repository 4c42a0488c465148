"""The hazard_routing table and the deadline figures read from incidents (migrations/0034_hazard_routing.sql)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

_COLUMNS = "category, department_ko, department_en, deadline_minutes, updated_by, updated_at"


async def list_routing(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {_COLUMNS} FROM hazard_routing ORDER BY deadline_minutes, category")  # noqa: S608


async def update_routing(
    conn: asyncpg.Connection,
    *,
    category: str,
    department_ko: str,
    department_en: str,
    deadline_minutes: int,
    actor: str,
    now: datetime,
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""
        UPDATE hazard_routing
        SET department_ko = $2, department_en = $3, deadline_minutes = $4, updated_by = $5, updated_at = $6
        WHERE category = $1
        RETURNING {_COLUMNS}
        """,  # noqa: S608
        category,
        department_ko,
        department_en,
        deadline_minutes,
        actor,
        now,
    )


async def timeliness(
    conn: asyncpg.Connection, *, since: datetime, until: datetime, now: datetime
) -> list[asyncpg.Record]:
    """Per district: incidents handled in [since, until), how many by their deadline, and those overdue now."""
    return await conn.fetch(
        """
        SELECT d.code AS district,
               count(i.id) FILTER (WHERE i.handled_at >= $1 AND i.handled_at < $2) AS handled,
               count(i.id) FILTER (WHERE i.handled_at >= $1 AND i.handled_at < $2 AND i.handled_at <= i.due_at)
                   AS handled_in_time,
               count(i.id) FILTER (WHERE i.handled_at IS NULL AND i.status <> 'merged' AND i.due_at < $3)
                   AS open_overdue
        FROM districts d
        LEFT JOIN hazard_incidents i
               ON i.district = d.code
              AND ((i.handled_at >= $1 AND i.handled_at < $2)
                   OR (i.handled_at IS NULL AND i.status <> 'merged' AND i.due_at < $3))
        GROUP BY d.code
        ORDER BY d.code
        """,
        since,
        until,
        now,
    )


async def unrouted(conn: asyncpg.Connection, *, limit: int) -> list[asyncpg.Record]:
    """Incidents opened before routing existed, which have no district yet."""
    return await conn.fetch(
        "SELECT id, lat, lon FROM hazard_incidents WHERE district IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit,
    )


async def set_districts(conn: asyncpg.Connection, *, ids: list[int], districts: list[str]) -> None:
    await conn.execute(
        """
        UPDATE hazard_incidents i SET district = s.district
        FROM unnest($1::bigint[], $2::text[]) AS s (id, district)
        WHERE i.id = s.id
        """,
        ids,
        districts,
    )
