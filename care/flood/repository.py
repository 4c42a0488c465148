"""SQL for the flood registry: households, their partners and consent (the checks are in checks_repository)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import asyncpg

_HOUSEHOLD = """
    SELECT h.id, h.name, h.address, h.housing, h.home_lat, h.home_lon, h.dong, h.district, h.phones, h.language,
           h.recipient_id, h.notes, h.consent, h.withdrawn_at, h.withdrawn_why, h.created_at, h.updated_at,
           coalesce((SELECT json_agg(json_build_object('id', p.id, 'position', p.position, 'name', p.name,
                                                       'role', p.role, 'phone', p.phone, 'language', p.language)
                                     ORDER BY p.position)
                     FROM flood_partners p WHERE p.household_id = h.id), '[]') AS partners
    FROM flood_households h
"""


class PartnerRow(NamedTuple):
    position: int
    name: str
    role: str
    phone: str
    language: str


async def insert_household(conn: asyncpg.Connection, row: Mapping[str, Any]) -> int:
    return await conn.fetchval(
        """
        INSERT INTO flood_households (name, address, housing, home_lat, home_lon, dong, district, phones, language,
                                      recipient_id, notes, consent, created_by, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
        RETURNING id
        """,
        row["name"],
        row["address"],
        row["housing"],
        row["home_lat"],
        row["home_lon"],
        row["dong"],
        row["district"],
        row["phones"],
        row["language"],
        row["recipient_id"],
        row["notes"],
        row["consent"],
        row["created_by"],
        row["now"],
    )


async def update_household(conn: asyncpg.Connection, household_id: int, row: Mapping[str, Any]) -> None:
    await conn.execute(
        """
        UPDATE flood_households
        SET name = $2, address = $3, housing = $4, home_lat = $5, home_lon = $6, dong = $7, district = $8,
            phones = $9, language = $10, recipient_id = $11, notes = $12, updated_at = $13
        WHERE id = $1
        """,
        household_id,
        row["name"],
        row["address"],
        row["housing"],
        row["home_lat"],
        row["home_lon"],
        row["dong"],
        row["district"],
        row["phones"],
        row["language"],
        row["recipient_id"],
        row["notes"],
        row["now"],
    )


async def replace_partners(conn: asyncpg.Connection, household_id: int, partners: Sequence[PartnerRow]) -> None:
    """The household's partners become these; a partner kept (the same phone) keeps its id and its asks."""
    await conn.execute(
        "DELETE FROM flood_partners WHERE household_id = $1 AND NOT (phone = ANY($2::text[]))",
        household_id,
        [p.phone for p in partners],
    )
    await conn.execute(
        """
        INSERT INTO flood_partners (household_id, position, name, role, phone, language)
        SELECT $1, p.position, p.name, p.role, p.phone, p.language
        FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[])
             AS p (position, name, role, phone, language)
        ON CONFLICT (household_id, phone) DO UPDATE
            SET position = excluded.position, name = excluded.name, role = excluded.role, language = excluded.language
        """,
        household_id,
        [p.position for p in partners],
        [p.name for p in partners],
        [p.role for p in partners],
        [p.phone for p in partners],
        [p.language for p in partners],
    )


async def get_household(conn: asyncpg.Connection, household_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(_HOUSEHOLD + " WHERE h.id = $1", household_id)


async def list_households(conn: asyncpg.Connection, *, dong: str | None, districts: Sequence[str] | None) -> list:
    """Households of a dong (or all), in the given districts (None: every district), by id."""
    return await conn.fetch(
        _HOUSEHOLD + " WHERE ($1::text IS NULL OR h.dong = $1) AND ($2::text[] IS NULL OR h.district = ANY($2))"
        " ORDER BY h.id LIMIT 1000",
        dong,
        None if districts is None else list(districts),
    )


async def lock_household(conn: asyncpg.Connection, household_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, district, withdrawn_at FROM flood_households WHERE id = $1 FOR UPDATE", household_id
    )


async def recipient(conn: asyncpg.Connection, recipient_id: int) -> asyncpg.Record | None:
    """The person in care a household is linked to: their phone, language and district (care's own table)."""
    return await conn.fetchrow("SELECT id, phone, language, district FROM care_recipients WHERE id = $1", recipient_id)


async def linked_elsewhere(conn: asyncpg.Connection, recipient_id: int, household_id: int | None) -> int | None:
    """The other household already linked to this person in care, if any."""
    return await conn.fetchval(
        "SELECT id FROM flood_households WHERE recipient_id = $1 AND id IS DISTINCT FROM $2", recipient_id, household_id
    )


async def withdraw(conn: asyncpg.Connection, household_id: int, *, why: str, now: datetime) -> list[asyncpg.Record]:
    """Consent withdrawn: the household is kept but never asked again; its open check closes and a need for help
    not yet told is dropped. The check ids and partner ids whose messages are still to be cancelled."""
    await conn.execute(
        "UPDATE flood_households SET withdrawn_at = $2, withdrawn_why = $3, updated_at = $2 WHERE id = $1",
        household_id,
        now,
        why,
    )
    return await conn.fetch(
        """
        WITH closed AS (
            UPDATE flood_checks
            SET closed_at = $2, closed_why = 'consent_withdrawn',
                help_due_at = CASE WHEN help_told_at IS NULL THEN NULL ELSE help_due_at END
            WHERE household_id = $1 AND closed_at IS NULL
            RETURNING id
        )
        SELECT c.id AS check_id, coalesce(array_agg(a.partner_id) FILTER (WHERE a.partner_id IS NOT NULL), '{}')
               AS partner_ids
        FROM closed c LEFT JOIN flood_partner_asks a ON a.check_id = c.id
        GROUP BY c.id
        """,
        household_id,
        now,
    )
