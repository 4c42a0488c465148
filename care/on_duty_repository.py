"""SQL for the people on duty: rotas, the escalation of urgent cases along them, and staff replies.

Staff contacts are read from the accounts domain's ``staff`` table (its phone and whether the account is
active): the one read of it outside api/accounts, documented in docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from care.rota import Shift


async def replace_rota(conn: asyncpg.Connection, *, district: str | None, shifts: Sequence[Shift]) -> None:
    """The district's rota (None: the night desk's) becomes these shifts, in the caller's transaction."""
    await conn.execute("DELETE FROM care_rota_shifts WHERE district IS NOT DISTINCT FROM $1", district)
    await conn.executemany(
        "INSERT INTO care_rota_shifts (district, starts, ends, staff_ids) VALUES ($1, $2, $3, $4)",
        [(district, s.starts, s.ends, list(s.staff_ids)) for s in shifts],
    )


async def rotas(conn: asyncpg.Connection, districts: Sequence[str]) -> dict[str | None, list[Shift]]:
    """The shifts of these districts and of the night desk (key None), each in order."""
    rows = await conn.fetch(
        """
        SELECT district, starts, ends, staff_ids FROM care_rota_shifts
        WHERE district = ANY($1::text[]) OR district IS NULL ORDER BY district, starts
        """,
        list(districts),
    )
    found: dict[str | None, list[Shift]] = {}
    for r in rows:
        found.setdefault(r["district"], []).append(Shift(r["starts"], r["ends"], tuple(r["staff_ids"])))
    return found


async def unknown_staff(conn: asyncpg.Connection, ids: Sequence[int]) -> list[int]:
    """Which of these are not staff accounts."""
    known = {r["id"] for r in await conn.fetch("SELECT id FROM staff WHERE id = ANY($1::bigint[])", list(ids))}
    return sorted(set(ids) - known)


async def contacts(conn: asyncpg.Connection, ids: Sequence[int]) -> dict[int, asyncpg.Record]:
    """Active staff among these who have a phone: id, name, phone, and ``app``: the citizen account of the same
    phone when it has a device registered (a worker who signed in to the app with their work phone), else None.
    A read of accounts' citizens and devices (id, phone, citizen_id), as care reads them for people in care."""
    rows = await conn.fetch(
        """
        SELECT s.id, s.name, s.phone,
               (SELECT c.id FROM citizens c
                WHERE c.phone = s.phone AND EXISTS (SELECT 1 FROM devices d WHERE d.citizen_id = c.id)) AS app
        FROM staff s WHERE s.id = ANY($1::bigint[]) AND s.active AND s.phone IS NOT NULL
        """,
        list(ids),
    )
    return {r["id"]: r for r in rows}


async def start(conn: asyncpg.Connection, *, case_ids: Sequence[int], now: datetime) -> None:
    """These urgent cases begin their chain now, unless it has begun already."""
    await conn.execute(
        """
        UPDATE cases SET escalated_at = $2
        WHERE id = ANY($1::bigint[]) AND priority = 'urgent' AND state = 'open' AND escalated_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM case_escalations e WHERE e.case_id = cases.id)
        """,
        list(case_ids),
        now,
    )


async def due(
    conn: asyncpg.Connection, *, now: datetime, every: timedelta, case_ids: Sequence[int] | None
) -> list[asyncpg.Record]:
    """Open cases whose next step is due (only these ids, when given), locked, with the step to take.

    The first step is due when the chain begins; each later one ``every`` after the one before.
    """
    return await conn.fetch(
        """
        SELECT id, district, reason, step FROM (
            SELECT c.id, c.district, c.reason, c.escalated_at,
                   (SELECT count(*) FROM case_escalations e WHERE e.case_id = c.id)::int AS step
            FROM cases c
            WHERE c.state = 'open' AND c.escalated_at <= $1
              AND ($3::bigint[] IS NULL OR c.id = ANY($3::bigint[]))
            FOR UPDATE OF c SKIP LOCKED
        ) d
        WHERE d.step = 0 OR d.escalated_at <= $1 - $2::interval
        ORDER BY d.escalated_at
        """,
        now,
        every,
        None if case_ids is None else list(case_ids),
    )


async def record(
    conn: asyncpg.Connection,
    *,
    told: Sequence[tuple[int, int, int, str]],
    next_at: Sequence[tuple[int, datetime | None]],
    now: datetime,
) -> None:
    """Record who was told, as (case, step, staff, phone), and each case's new ``escalated_at`` (None: ended)."""
    await conn.executemany(
        "INSERT INTO case_escalations (case_id, step, staff_id, phone, notified_at) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT DO NOTHING",
        [(*t, now) for t in told],
    )
    await conn.executemany("UPDATE cases SET escalated_at = $2 WHERE id = $1", list(next_at))


async def case_told_to(conn: asyncpg.Connection, *, phone: str, since: datetime) -> asyncpg.Record | None:
    """The open case most recently told to this phone since then, with the staff member told, locked."""
    return await conn.fetchrow(
        """
        SELECT c.id, c.recipient_id, e.staff_id FROM case_escalations e JOIN cases c ON c.id = e.case_id
        WHERE e.phone = $1 AND e.notified_at >= $2 AND c.state = 'open'
        ORDER BY e.notified_at DESC LIMIT 1
        FOR UPDATE OF c
        """,
        phone,
        since,
    )


async def is_staff_phone(conn: asyncpg.Connection, phone: str) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM staff WHERE phone = $1 AND active)", phone))


ESCALATION_REPLY_WINDOW = timedelta(hours=24)  # a reply acknowledges a case told to that phone this recently
