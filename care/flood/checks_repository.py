"""SQL for flood checks: opening them for an alert (one statement for every household under it), the answers,
the escalations that come due, and the counts per dong."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from api.platform.geo import PRECISE_SCALE

# What a check is, for the operators' page: a need for help no staff member has resolved; else an answer from
# anyone (the household safe or evacuated, a partner arrived or evacuated them) or a resolution; else nothing.
STATUS_SQL = """
    CASE
        WHEN c.resolved_at IS NULL AND (c.answer = 'need_help' OR EXISTS (
            SELECT 1 FROM flood_partner_asks a WHERE a.check_id = c.id AND a.answer = 'need_help'))
        THEN 'need_help'
        WHEN c.resolved_at IS NOT NULL OR c.answer IS NOT NULL OR EXISTS (
            SELECT 1 FROM flood_partner_asks a WHERE a.check_id = c.id AND a.answer IS NOT NULL)
        THEN 'confirmed'
        ELSE 'not_yet'
    END
"""


async def close_expired(conn: asyncpg.Connection, *, now: datetime) -> int:
    """Checks whose warning has run out close, so that the next storm asks again."""
    status = await conn.execute(
        "UPDATE flood_checks SET closed_at = $1, closed_why = 'expired' WHERE closed_at IS NULL AND open_until <= $1",
        now,
    )
    return int(status.split()[-1])


async def open_checks(
    conn: asyncpg.Connection,
    *,
    alert_id: int,
    districts: Sequence[str],
    polygons: Sequence[str],
    precise: Sequence[str],
    dongs: Sequence[str],
    open_until: datetime,
    silent_due: datetime,
    now: datetime,
) -> tuple[list[asyncpg.Record], int]:
    """A check for every consenting household under the alert that has none open, with an ask for each partner;
    a household with one open keeps it, under this alert too, never asked twice. The new checks, each with what its
    messages need, and how many open checks were kept.

    Under the alert means as the fan-out reads it (docs/alerts.md): in a district it tells as a whole, a home point
    inside one of its shapes, or a home given only as a dong its shapes overlap.
    """
    rows = await conn.fetch(
        f"""
        WITH covered AS (
            SELECT id FROM flood_households WHERE withdrawn_at IS NULL AND district = ANY($2::text[])
            UNION
            SELECT h.id FROM flood_households h JOIN unnest($3::text[], $4::text[]) AS g (shape, precise)
                ON h.home <@ g.shape::polygon
               AND point(h.home_lon * {PRECISE_SCALE}, h.home_lat * {PRECISE_SCALE}) <@ g.precise::polygon
            WHERE h.withdrawn_at IS NULL
            UNION
            SELECT id FROM flood_households WHERE withdrawn_at IS NULL AND home IS NULL AND dong = ANY($5::text[])
        ), kept AS (
            UPDATE flood_checks c SET latest_alert_id = $1, open_until = greatest(c.open_until, $6)
            FROM covered WHERE c.household_id = covered.id AND c.closed_at IS NULL
            RETURNING c.id
        ), opened AS (
            INSERT INTO flood_checks (household_id, alert_id, latest_alert_id, dong, district, asked_at, open_until,
                                      silent_due_at)
            SELECT h.id, $1, $1, h.dong, h.district, $8, $6, $7
            FROM flood_households h JOIN covered ON covered.id = h.id
            WHERE NOT EXISTS (SELECT 1 FROM flood_checks o WHERE o.household_id = h.id AND o.closed_at IS NULL)
            ON CONFLICT DO NOTHING
            RETURNING id, household_id
        ), asked AS (
            INSERT INTO flood_partner_asks (check_id, partner_id, phone)
            SELECT o.id, p.id, p.phone FROM opened o JOIN flood_partners p ON p.household_id = o.household_id
            RETURNING check_id
        )
        SELECT o.id AS check_id, h.id AS household_id, h.name, h.address, h.phones, h.language, h.dong,
               h.recipient_id, (SELECT count(*) FROM kept) AS kept, (SELECT count(*) FROM asked) AS asks,
               ARRAY(SELECT p.id FROM flood_partners p WHERE p.household_id = h.id ORDER BY p.position)
                   AS partner_ids,
               ARRAY(SELECT p.phone FROM flood_partners p WHERE p.household_id = h.id ORDER BY p.position)
                   AS partner_phones,
               ARRAY(SELECT p.language FROM flood_partners p WHERE p.household_id = h.id ORDER BY p.position)
                   AS partner_languages
        FROM opened o JOIN flood_households h ON h.id = o.household_id
        ORDER BY o.id
        """,  # noqa: S608
        alert_id,
        list(districts),
        list(polygons),
        list(precise),
        list(dongs),
        open_until,
        silent_due,
        now,
    )
    kept = rows[0]["kept"] if rows else await _kept_only(conn, alert_id)
    return list(rows), kept


async def _kept_only(conn: asyncpg.Connection, alert_id: int) -> int:
    # When nothing was opened the statement returns no row to carry the count of those kept.
    return await conn.fetchval(
        "SELECT count(*) FROM flood_checks WHERE latest_alert_id = $1 AND alert_id <> $1 AND closed_at IS NULL",
        alert_id,
    )


async def stand_down(conn: asyncpg.Connection, *, alert_ids: Sequence[int], now: datetime) -> int:
    """The warning was lifted: the open checks it last covered close (a need for help already asked for stays)."""
    status = await conn.execute(
        """
        UPDATE flood_checks SET closed_at = $2, closed_why = 'lifted'
        WHERE closed_at IS NULL AND latest_alert_id = ANY($1::bigint[])
        """,
        list(alert_ids),
        now,
    )
    return int(status.split()[-1])


async def asks_of_partner(conn: asyncpg.Connection, phone: str) -> list[asyncpg.Record]:
    """The open checks whose partner this phone is, newest first, with what a reply to them needs."""
    return await conn.fetch(
        """
        SELECT a.check_id, a.partner_id, p.role, p.language, c.household_id, h.name AS household, h.address
        FROM flood_partner_asks a
        JOIN flood_checks c ON c.id = a.check_id AND c.closed_at IS NULL
        JOIN flood_partners p ON p.id = a.partner_id
        JOIN flood_households h ON h.id = c.household_id AND h.withdrawn_at IS NULL
        WHERE a.phone = $1
        ORDER BY c.asked_at DESC, c.id DESC
        """,
        phone,
    )


async def checks_of_household_phone(conn: asyncpg.Connection, phone: str) -> list[asyncpg.Record]:
    """The open check of each household with this phone (one, in practice)."""
    return await conn.fetch(
        """
        SELECT c.id AS check_id, c.household_id, h.name AS household, h.address, h.language, h.recipient_id
        FROM flood_households h JOIN flood_checks c ON c.household_id = h.id AND c.closed_at IS NULL
        WHERE h.phones @> ARRAY[$1::text] AND h.withdrawn_at IS NULL
        ORDER BY c.id DESC
        """,
        phone,
    )


async def record_answer(
    conn: asyncpg.Connection,
    *,
    check_id: int,
    partner_id: int | None,
    who: str,
    answer: str,
    via: str,
    body: str | None,
    at: datetime,
) -> None:
    """Keep an answer: on the partner's ask (``partner_id``) or on the check (the household, or staff for them),
    in the log; a need for help is due to the duty worker now."""
    if partner_id is not None:
        await conn.execute(
            """
            UPDATE flood_partner_asks SET answer = $3, answered_at = $4, answered_via = $5
            WHERE check_id = $1 AND partner_id = $2
            """,
            check_id,
            partner_id,
            answer,
            at,
            via,
        )
    else:
        await conn.execute(
            "UPDATE flood_checks SET answer = $2, answered_at = $3, answered_via = $4 WHERE id = $1",
            check_id,
            answer,
            at,
            via,
        )
    if answer == "need_help":
        await conn.execute(
            "UPDATE flood_checks SET help_due_at = coalesce(help_due_at, $2), resolved_at = NULL WHERE id = $1",
            check_id,
            at,
        )
    await conn.execute(
        """
        INSERT INTO flood_answers (check_id, who, partner_id, answer, via, body, at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """,
        check_id,
        who,
        partner_id,
        answer,
        via,
        body,
        at,
    )
