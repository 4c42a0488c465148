"""SQL for citizens, devices and staff."""

from __future__ import annotations

import asyncpg


async def upsert_citizen(conn: asyncpg.Connection, *, phone: str, language: str) -> int:
    """The citizen with this phone, created on first sign-in."""
    return await conn.fetchval(
        """
        INSERT INTO citizens (phone, language) VALUES ($1, $2)
        ON CONFLICT (phone) DO UPDATE SET phone = EXCLUDED.phone
        RETURNING id
        """,
        phone,
        language,
    )


async def get_citizen(conn: asyncpg.Connection, citizen_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, phone, language, district, display_name, created_at FROM citizens WHERE id = $1",
        citizen_id,
    )


async def get_citizen_by_phone(conn: asyncpg.Connection, phone: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, phone, language, district, display_name, created_at FROM citizens WHERE phone = $1",
        phone,
    )


async def get_citizens(conn: asyncpg.Connection, citizen_ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT id, phone, language, district, display_name, created_at FROM citizens
        WHERE id = ANY($1::bigint[]) ORDER BY id
        """,
        citizen_ids,
    )


async def lock_citizen(conn: asyncpg.Connection, citizen_id: int) -> asyncpg.Record | None:
    """The citizen's row, locked until the transaction ends, so concurrent edits apply one after the other."""
    return await conn.fetchrow(
        "SELECT id, phone, language, district, display_name, created_at FROM citizens WHERE id = $1 FOR UPDATE",
        citizen_id,
    )


async def update_citizen(
    conn: asyncpg.Connection,
    citizen_id: int,
    *,
    language: str,
    district: str | None,
    display_name: str | None,
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        UPDATE citizens SET language = $2, district = $3, display_name = $4, updated_at = now()
        WHERE id = $1
        RETURNING id, phone, language, district, display_name, created_at
        """,
        citizen_id,
        language,
        district,
        display_name,
    )


async def upsert_device(conn: asyncpg.Connection, *, citizen_id: int, platform: str, fcm_token: str) -> asyncpg.Record:
    """Register a device token; a token seen before moves to this citizen (phones change hands)."""
    return await conn.fetchrow(
        """
        INSERT INTO devices (citizen_id, platform, fcm_token) VALUES ($1, $2, $3)
        ON CONFLICT (fcm_token) DO UPDATE
            SET citizen_id = EXCLUDED.citizen_id, platform = EXCLUDED.platform, last_seen_at = now(),
                topic_pending = true
        RETURNING id, platform, created_at
        """,
        citizen_id,
        platform,
        fcm_token,
    )


async def resubscribe_devices(conn: asyncpg.Connection, *, citizen_id: int) -> None:
    """Mark the citizen's devices for their topics (district, places' dongs) to be brought in step (the dispatcher
    does it)."""
    await conn.execute("UPDATE devices SET topic_pending = true WHERE citizen_id = $1", citizen_id)


async def list_devices(conn: asyncpg.Connection, *, citizen_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, platform, created_at FROM devices WHERE citizen_id = $1 ORDER BY id", citizen_id
    )


async def delete_device(conn: asyncpg.Connection, *, citizen_id: int, device_id: int) -> bool:
    status = await conn.execute("DELETE FROM devices WHERE id = $1 AND citizen_id = $2", device_id, citizen_id)
    return status == "DELETE 1"


async def insert_staff(
    conn: asyncpg.Connection,
    *,
    email: str,
    name: str,
    role: str,
    districts: list[str],
    password_hash: str | None,
    phone: str | None = None,
) -> int | None:
    """The new staff id, or None when the email is taken."""
    staff_id = await conn.fetchval(
        """
        INSERT INTO staff (email, name, role, password_hash, phone) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (email) DO NOTHING
        RETURNING id
        """,
        email,
        name,
        role,
        password_hash,
        phone,
    )
    if staff_id is not None and districts:
        await conn.execute(
            "INSERT INTO staff_districts (staff_id, district) SELECT $1, unnest($2::text[])",
            staff_id,
            districts,
        )
    return staff_id


async def get_staff(conn: asyncpg.Connection, staff_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT id, email, name, role, active, created_at, has_password, districts, phone
        FROM staff_accounts WHERE id = $1
        """,
        staff_id,
    )


async def get_staff_by_email(conn: asyncpg.Connection, email: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT id, email, name, role, active, created_at, has_password, districts, phone
        FROM staff_accounts WHERE email = $1
        """,
        email,
    )


async def set_staff_active(conn: asyncpg.Connection, email: str, active: bool) -> int | None:
    return await conn.fetchval("UPDATE staff SET active = $2 WHERE email = $1 RETURNING id", email, active)


async def list_staff(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT id, email, name, role, active, created_at, has_password, districts, phone
        FROM staff_accounts ORDER BY id
        """
    )


async def list_districts(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT code, name_ko, name_en FROM districts ORDER BY code")


async def district_summary(conn: asyncpg.Connection, code: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT d.code, d.name_ko, d.name_en,
               (SELECT count(*) FROM citizens c WHERE c.district = d.code) AS citizens,
               (SELECT count(DISTINCT c.id) FROM citizens c JOIN devices v ON v.citizen_id = c.id
                 WHERE c.district = d.code) AS citizens_with_app,
               (SELECT count(*) FROM staff_districts sd JOIN staff s ON s.id = sd.staff_id
                 WHERE sd.district = d.code AND s.active) AS social_workers
        FROM districts d
        WHERE d.code = $1
        """,
        code,
    )
