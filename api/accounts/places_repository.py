"""The citizen_places table (migrations/0023_places.sql)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

_COLUMNS = "id, kind, label, lat, lon, dong, district, created_at"


async def lock_places(conn: asyncpg.Connection, citizen_id: int) -> list[asyncpg.Record]:
    """The citizen's places, oldest first, with the citizen's row locked so that two adds count one after the
    other."""
    await conn.execute("SELECT 1 FROM citizens WHERE id = $1 FOR UPDATE", citizen_id)
    return await list_places(conn, citizen_id)


async def list_places(conn: asyncpg.Connection, citizen_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {_COLUMNS} FROM citizen_places WHERE citizen_id = $1 ORDER BY kind, id",  # noqa: S608
        citizen_id,
    )


async def insert_place(
    conn: asyncpg.Connection,
    *,
    citizen_id: int,
    kind: str,
    label: str,
    lat: float | None,
    lon: float | None,
    dong: str,
    now: datetime,
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""
        INSERT INTO citizen_places (citizen_id, kind, label, lat, lon, dong, district, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, substr($6, 1, 5), $7)
        RETURNING {_COLUMNS}
        """,  # noqa: S608
        citizen_id,
        kind,
        label,
        lat,
        lon,
        dong,
        now,
    )


async def delete_place(conn: asyncpg.Connection, *, citizen_id: int, place_id: int) -> bool:
    status = await conn.execute("DELETE FROM citizen_places WHERE id = $1 AND citizen_id = $2", place_id, citizen_id)
    return status != "DELETE 0"
