"""SQL the console needs beyond the care and cases services: sessions, calls, history, search.

The console's read model: it shows a case with everything around it, so its reads join across owners, and
that is all they do. It reads care's care_recipients, checkin_plans, care_steps and cases; care.safety's
safety_checks; the alerts' alerts (a warning's headline and times); notifications' notices and outbox (the
care messages and their fate); accounts' staff and staff_accounts (sign-in, names). It writes only the
console's own tables, console_sessions and case_calls (sign-in and its lock-out have theirs, in
signin_repository.py); a change to anything else (a person's details, guardians, birth date or plan, a case,
an audit row) goes through its owner: care.service, care.cases.service, care.audit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

# Sessions (signing in is in signin_repository)


async def insert_session(
    conn: asyncpg.Connection,
    *,
    token_hash: bytes,
    staff_id: int,
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
    user_agent: str | None,
) -> None:
    await conn.execute(
        """
        INSERT INTO console_sessions (token_hash, staff_id, csrf_token, created_at, last_seen_at, expires_at,
                                      user_agent)
        VALUES ($1, $2, $3, $4, $4, $5, $6)
        """,
        token_hash,
        staff_id,
        csrf_token,
        now,
        expires_at,
        user_agent,
    )


async def purge_sessions(conn: asyncpg.Connection, *, now: datetime, idle: timedelta) -> None:
    await conn.execute(
        "DELETE FROM console_sessions WHERE expires_at <= $1 OR last_seen_at <= $1 - $2::interval", now, idle
    )


async def touch_session(
    conn: asyncpg.Connection, *, token_hash: bytes, now: datetime, idle: timedelta
) -> asyncpg.Record | None:
    """The live session of an active account, idle clock restarted, unread notices counted; or None."""
    return await conn.fetchrow(
        """
        UPDATE console_sessions s SET last_seen_at = $2
        FROM staff_accounts a
        WHERE s.token_hash = $1 AND a.id = s.staff_id AND a.active
          AND s.expires_at > $2 AND s.last_seen_at > $2 - $3::interval
        RETURNING s.staff_id, s.csrf_token, a.name, a.email, a.role, a.districts,
                  (SELECT count(*) FROM console_security_notices n
                    WHERE n.staff_id = s.staff_id AND n.seen_at IS NULL) AS unseen_notices
        """,
        token_hash,
        now,
        idle,
    )


async def delete_session(conn: asyncpg.Connection, token_hash: bytes) -> None:
    await conn.execute("DELETE FROM console_sessions WHERE token_hash = $1", token_hash)


# The queue's live refresh


async def queue_version(conn: asyncpg.Connection, *, districts: Sequence[str] | None) -> str:
    """A fingerprint of the unresolved cases of these districts (None: all): it changes when the queue does."""
    return await conn.fetchval(
        """
        SELECT count(*) || '-' || md5(coalesce(string_agg(
                   id || ':' || priority || ':' || state || ':' || coalesce(all_clear_at::text, ''), ','
                   ORDER BY id), ''))
        FROM cases
        WHERE ($1::text[] IS NULL OR district = ANY ($1::text[])) AND state <> 'resolved'
        """,
        list(districts) if districts is not None else None,
    )


# A case: how it came about, and the calls made on it


async def safety_check_of(conn: asyncpg.Connection, *, recipient_id: int, alert_id: int) -> asyncpg.Record | None:
    """The safety check behind a 'safety_check' case, with the warning's headline and times."""
    return await conn.fetchrow(
        """
        SELECT s.asked_at, s.step, s.safe_at, s.safe_via, a.id AS alert_id, a.event, a.sent, a.expires,
               a.texts -> 'ko' ->> 'headline' AS headline_ko, a.texts -> 'en' ->> 'headline' AS headline_en
        FROM safety_checks s JOIN alerts a ON a.id = s.alert_id
        WHERE s.recipient_id = $1 AND s.alert_id = $2
        """,
        recipient_id,
        alert_id,
    )


async def steps_of_slot(conn: asyncpg.Connection, *, recipient_id: int, slot_at: datetime) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT step, taken_at FROM care_steps WHERE recipient_id = $1 AND slot_at = $2 ORDER BY step",
        recipient_id,
        slot_at,
    )


async def care_deliveries(
    conn: asyncpg.Connection, *, recipient_id: int, since: datetime, until: datetime, limit: int = 50
) -> list[asyncpg.Record]:
    """Every care message about this person (to them or their guardians) enqueued in the period, and its fate; for a
    call, what came of it (``call_result``: answered fine, asked for help, busy, voicemail…)."""
    return await conn.fetch(
        """
        SELECT n.template, n.created_at, o.channel, o.recipient, o.state, o.attempts, o.sent_at, o.delivered_at,
               o.last_error,
               (SELECT c.result FROM voice_calls c WHERE c.outbox_id = o.id
                ORDER BY c.created_at DESC LIMIT 1) AS call_result
        FROM notices n
        JOIN outbox o ON o.notice_id = n.id
        WHERE n.dedupe_key LIKE 'care:' || $1::bigint || ':%' AND n.created_at BETWEEN $2 AND $3
        ORDER BY n.created_at, o.id
        LIMIT $4
        """,
        recipient_id,
        since,
        until,
        limit,
    )


async def insert_call(
    conn: asyncpg.Connection,
    *,
    case_id: int,
    author: str,
    callee: str,
    phone: str | None,
    result: str,
    body: str | None,
    now: datetime,
) -> int:
    return await conn.fetchval(
        """
        INSERT INTO case_calls (case_id, author, callee, phone, result, body, at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        RETURNING id
        """,
        case_id,
        author,
        callee,
        phone,
        result,
        body,
        now,
    )


async def list_calls(conn: asyncpg.Connection, case_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, author, callee, phone, result, body, at FROM case_calls WHERE case_id = $1 ORDER BY at, id",
        case_id,
    )


async def staff_names(conn: asyncpg.Connection, subjects: Sequence[str]) -> dict[str, str]:
    """Staff names by subject (``staff:12``), for showing who wrote a note or made a call."""
    rows = await conn.fetch(
        "SELECT 'staff:' || id AS subject, name FROM staff WHERE 'staff:' || id = ANY ($1::text[])", list(subjects)
    )
    return {r["subject"]: r["name"] for r in rows}


# People


async def search_people(
    conn: asyncpg.Connection, *, districts: Sequence[str] | None, pattern: str | None, digits: str | None, limit: int
) -> list[asyncpg.Record]:
    """Enrolled people of these districts (None: all) whose name or address matches ``pattern``, or phone ``digits``."""
    return await conn.fetch(
        """
        SELECT r.id, r.name, r.phone, r.district, r.address, r.birth_date,
               p.paused_until, p.slot_at, p.last_contact_at,
               (SELECT count(*) FROM cases c WHERE c.recipient_id = r.id AND c.state <> 'resolved') AS open_cases
        FROM care_recipients r
        JOIN checkin_plans p ON p.recipient_id = r.id
        WHERE ($1::text[] IS NULL OR r.district = ANY ($1::text[]))
          AND ($2::text IS NULL OR r.name ILIKE $2 ESCAPE '\\' OR r.address ILIKE $2 ESCAPE '\\'
               OR ($3::text IS NOT NULL AND r.phone LIKE '%' || $3 || '%'))
        ORDER BY r.name, r.id
        LIMIT $4
        """,
        list(districts) if districts is not None else None,
        pattern,
        digits,
        limit,
    )
