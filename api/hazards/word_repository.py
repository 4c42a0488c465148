"""The reporters' word: the hazard_feedback and hazard_follows tables, and who is told of an incident's changes
(migrations/0035_hazard_reporters_word.sql)."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def reporters_to_tell(conn: asyncpg.Connection, incident_id: int) -> list[asyncpg.Record]:
    """Each citizen who reported the incident, once: their first report in it, and whether any of their reports
    there asked to hear of every change."""
    return await conn.fetch(
        """
        SELECT citizen_id, min(id) AS report_id, bool_or(updates = 'every') AS every_change
        FROM hazard_reports
        WHERE incident_id = $1 AND citizen_id IS NOT NULL
        GROUP BY citizen_id
        ORDER BY citizen_id
        """,
        incident_id,
    )


async def followers_to_tell(conn: asyncpg.Connection, incident_id: int) -> list[asyncpg.Record]:
    """Those following the incident who did not report it (reporters hear as reporters)."""
    return await conn.fetch(
        """
        SELECT f.citizen_id, f.updates = 'every' AS every_change
        FROM hazard_follows f
        WHERE f.incident_id = $1
          AND NOT EXISTS (SELECT 1 FROM hazard_reports r WHERE r.incident_id = $1 AND r.citizen_id = f.citizen_id)
        ORDER BY f.citizen_id
        """,
        incident_id,
    )


async def people_count(conn: asyncpg.Connection, incident_id: int) -> asyncpg.Record:
    """How many follow the incident, and how many distinct people stand behind it (reporters and followers)."""
    return await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM hazard_follows WHERE incident_id = $1) AS followers,
               (SELECT count(*) FROM (
                    SELECT coalesce('c' || citizen_id, 'r' || id) FROM hazard_reports WHERE incident_id = $1
                    UNION
                    SELECT 'c' || citizen_id FROM hazard_follows WHERE incident_id = $1
               ) people) AS weight
        """,
        incident_id,
    )


async def is_reporter(conn: asyncpg.Connection, *, incident_id: int, citizen_id: int) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM hazard_reports WHERE incident_id = $1 AND citizen_id = $2)",
        incident_id,
        citizen_id,
    )


async def last_resolve(conn: asyncpg.Connection, incident_id: int) -> asyncpg.Record | None:
    """The incident's latest resolve: its event id and when."""
    return await conn.fetchrow(
        """
        SELECT id, at FROM hazard_incident_events
        WHERE incident_id = $1 AND kind = 'status' AND to_status = 'resolved'
        ORDER BY id DESC LIMIT 1
        """,
        incident_id,
    )


async def insert_feedback(
    conn: asyncpg.Connection,
    *,
    incident_id: int,
    resolve_event_id: int,
    citizen_id: int,
    fixed: bool,
    note: str | None,
    reopened: bool,
    now: datetime,
) -> asyncpg.Record | None:
    """The new answer, or None when this citizen answered this resolve already."""
    return await conn.fetchrow(
        """
        INSERT INTO hazard_feedback (incident_id, resolve_event_id, citizen_id, fixed, note, reopened, answered_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (resolve_event_id, citizen_id) DO NOTHING
        RETURNING *
        """,
        incident_id,
        resolve_event_id,
        citizen_id,
        fixed,
        note,
        reopened,
        now,
    )


async def get_feedback(conn: asyncpg.Connection, *, resolve_event_id: int, citizen_id: int) -> asyncpg.Record:
    return await conn.fetchrow(
        "SELECT * FROM hazard_feedback WHERE resolve_event_id = $1 AND citizen_id = $2", resolve_event_id, citizen_id
    )


async def reopen(conn: asyncpg.Connection, *, incident_id: int, reason: str, now: datetime) -> None:
    """Back to acknowledged, open again, with a fresh deadline from the category's table."""
    await conn.execute(
        """
        UPDATE hazard_incidents i
        SET status = 'acknowledged', status_reason = $2, status_changed_at = $3, updated_at = $3,
            handled_at = NULL, due_at = $3::timestamptz + make_interval(mins => r.deadline_minutes)
        FROM hazard_routing r
        WHERE i.id = $1 AND r.category = i.category
        """,
        incident_id,
        reason,
        now,
    )


async def follow(conn: asyncpg.Connection, *, incident_id: int, citizen_id: int, updates: str, now: datetime) -> None:
    await conn.execute(
        """
        INSERT INTO hazard_follows (incident_id, citizen_id, updates, created_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (incident_id, citizen_id) DO UPDATE SET updates = excluded.updates
        """,
        incident_id,
        citizen_id,
        updates,
        now,
    )


async def unfollow(conn: asyncpg.Connection, *, incident_id: int, citizen_id: int) -> None:
    await conn.execute("DELETE FROM hazard_follows WHERE incident_id = $1 AND citizen_id = $2", incident_id, citizen_id)


async def move_follows(conn: asyncpg.Connection, *, source: int, target: int) -> None:
    """A merged incident's followers follow the one it went into (once each)."""
    await conn.execute(
        """
        INSERT INTO hazard_follows (incident_id, citizen_id, updates, created_at)
        SELECT $2, citizen_id, updates, created_at FROM hazard_follows WHERE incident_id = $1
        ON CONFLICT (incident_id, citizen_id) DO NOTHING
        """,
        source,
        target,
    )
    await conn.execute("DELETE FROM hazard_follows WHERE incident_id = $1", source)


async def set_updates(conn: asyncpg.Connection, *, report_id: int, citizen_id: int, updates: str) -> bool:
    status = await conn.execute(
        "UPDATE hazard_reports SET updates = $3 WHERE id = $1 AND citizen_id = $2", report_id, citizen_id, updates
    )
    return status != "UPDATE 0"


async def status_of(conn: asyncpg.Connection, incident_id: int) -> str:
    return await conn.fetchval("SELECT status FROM hazard_incidents WHERE id = $1", incident_id)
