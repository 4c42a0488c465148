"""SQL for what flood checks come to: the escalations due to the duty worker, and the operators' board per dong."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from care.flood.checks_repository import STATUS_SQL


async def due_silent(conn: asyncpg.Connection, *, now: datetime, limit: int) -> list[asyncpg.Record]:
    """Open checks nobody has answered (neither the household nor any partner) by their time, locked."""
    return await conn.fetch(
        """
        SELECT c.id AS check_id, c.household_id, c.dong, c.district, c.asked_at, h.name AS household, h.address
        FROM flood_checks c JOIN flood_households h ON h.id = c.household_id
        WHERE c.closed_at IS NULL AND c.silent_told_at IS NULL AND c.silent_due_at <= $1
          AND c.answer IS NULL AND c.resolved_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM flood_partner_asks a WHERE a.check_id = c.id AND a.answer IS NOT NULL)
        ORDER BY c.silent_due_at, c.id
        LIMIT $2
        FOR UPDATE OF c SKIP LOCKED
        """,
        now,
        limit,
    )


async def due_help(
    conn: asyncpg.Connection, *, now: datetime, limit: int, check_ids: Sequence[int] | None = None
) -> list[asyncpg.Record]:
    """Checks whose call for help the duty worker has not yet been told of (only these, when given), locked, with
    who asked: the latest need-help answer."""
    return await conn.fetch(
        """
        SELECT c.id AS check_id, c.household_id, c.dong, c.district, c.asked_at, h.name AS household, h.address,
               n.who, n.at AS help_at, p.role, coalesce(p.phone, h.phones[1]) AS phone
        FROM flood_checks c JOIN flood_households h ON h.id = c.household_id
        LEFT JOIN LATERAL (
            SELECT f.who, f.partner_id, f.at FROM flood_answers f
            WHERE f.check_id = c.id AND f.answer = 'need_help' ORDER BY f.at DESC, f.id DESC LIMIT 1
        ) n ON true
        LEFT JOIN flood_partners p ON p.id = n.partner_id
        WHERE c.help_due_at <= $1 AND c.help_told_at IS NULL AND c.resolved_at IS NULL
          AND ($3::bigint[] IS NULL OR c.id = ANY($3))
        ORDER BY c.help_due_at, c.id
        LIMIT $2
        FOR UPDATE OF c SKIP LOCKED
        """,
        now,
        limit,
        None if check_ids is None else list(check_ids),
    )


async def mark_told(conn: asyncpg.Connection, *, kind: str, check_ids: Sequence[int], now: datetime) -> None:
    column = {"silent": "silent_told_at", "help": "help_told_at"}[kind]
    await conn.execute(
        f"UPDATE flood_checks SET {column} = $2 WHERE id = ANY($1::bigint[])",  # noqa: S608
        list(check_ids),
        now,
    )


async def resolve(conn: asyncpg.Connection, *, check_id: int, by: str, now: datetime) -> bool:
    """Staff have it in hand: the check counts as confirmed, and nothing more escalates."""
    status = await conn.execute(
        "UPDATE flood_checks SET resolved_at = $2, resolved_by = $3 WHERE id = $1 AND resolved_at IS NULL",
        check_id,
        now,
        by,
    )
    return status.endswith(" 1")


async def dong_counts(conn: asyncpg.Connection, *, districts: Sequence[str] | None) -> list[asyncpg.Record]:
    """Per dong with an open check: households asked, confirmed, not yet, needing help."""
    return await conn.fetch(
        f"""
        SELECT dong, min(district) AS district, count(*) AS households,
               count(*) FILTER (WHERE status = 'confirmed') AS confirmed,
               count(*) FILTER (WHERE status = 'not_yet') AS not_yet,
               count(*) FILTER (WHERE status = 'need_help') AS need_help
        FROM (SELECT c.dong, c.district, {STATUS_SQL} AS status FROM flood_checks c
              WHERE c.closed_at IS NULL AND ($1::text[] IS NULL OR c.district = ANY($1))) s
        GROUP BY dong
        ORDER BY count(*) FILTER (WHERE status = 'need_help') DESC, count(*) FILTER (WHERE status = 'not_yet') DESC,
                 dong
        """,  # noqa: S608
        None if districts is None else list(districts),
    )


async def checks(
    conn: asyncpg.Connection, *, dong: str | None = None, check_id: int | None = None
) -> list[asyncpg.Record]:
    """The open checks of a dong (or one check, open or not), needing help first, with each partner's answer."""
    return await conn.fetch(
        f"""
        SELECT c.id, c.household_id, h.name AS household_name, c.alert_id, c.latest_alert_id, c.dong, c.district,
               c.asked_at, {STATUS_SQL} AS status, c.answer, c.answered_at, c.silent_told_at, c.help_told_at,
               c.resolved_at, c.closed_at,
               coalesce((SELECT json_agg(json_build_object(
                            'partner_id', a.partner_id, 'name', p.name, 'role', p.role, 'answer', a.answer,
                            'answered_at', a.answered_at) ORDER BY p.position)
                         FROM flood_partner_asks a JOIN flood_partners p ON p.id = a.partner_id
                         WHERE a.check_id = c.id), '[]') AS partners
        FROM flood_checks c JOIN flood_households h ON h.id = c.household_id
        WHERE ($1::text IS NULL OR (c.dong = $1 AND c.closed_at IS NULL)) AND ($2::bigint IS NULL OR c.id = $2)
        ORDER BY ({STATUS_SQL}) = 'need_help' DESC, ({STATUS_SQL}) = 'not_yet' DESC, c.id
        LIMIT 2000
        """,  # noqa: S608
        dong,
        check_id,
    )
