"""SQL for sign-in codes."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def count_recent_challenges(conn: asyncpg.Connection, *, phone: str, since: datetime) -> int:
    return await conn.fetchval("SELECT count(*) FROM otp_challenges WHERE phone = $1 AND created_at > $2", phone, since)


async def oldest_recent_challenge(conn: asyncpg.Connection, *, phone: str, since: datetime) -> datetime | None:
    return await conn.fetchval(
        "SELECT min(created_at) FROM otp_challenges WHERE phone = $1 AND created_at > $2", phone, since
    )


async def insert_challenge(
    conn: asyncpg.Connection, *, phone: str, code_hash: bytes, language: str, expires_at: datetime, now: datetime
) -> int:
    # A new code replaces any earlier one still open for this phone.
    await conn.execute(
        "UPDATE otp_challenges SET consumed_at = $2 WHERE phone = $1 AND consumed_at IS NULL", phone, now
    )
    return await conn.fetchval(
        """
        INSERT INTO otp_challenges (phone, code_hash, language, expires_at, created_at)
        VALUES ($1, $2, $3, $4, $5)
        RETURNING id
        """,
        phone,
        code_hash,
        language,
        expires_at,
        now,
    )


async def lock_open_challenge(conn: asyncpg.Connection, *, phone: str) -> asyncpg.Record | None:
    """The newest unconsumed challenge for ``phone``, locked against a concurrent verification."""
    return await conn.fetchrow(
        """
        SELECT id, code_hash, language, attempts, expires_at
        FROM otp_challenges
        WHERE phone = $1 AND consumed_at IS NULL
        ORDER BY created_at DESC
        LIMIT 1
        FOR UPDATE
        """,
        phone,
    )


async def record_failed_attempt(conn: asyncpg.Connection, *, challenge_id: int) -> int:
    return await conn.fetchval(
        "UPDATE otp_challenges SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts", challenge_id
    )


async def consume_challenge(conn: asyncpg.Connection, *, challenge_id: int, now: datetime) -> None:
    await conn.execute("UPDATE otp_challenges SET consumed_at = $2 WHERE id = $1", challenge_id, now)


async def purge_challenges(conn: asyncpg.Connection, *, before: datetime) -> int:
    status = await conn.execute("DELETE FROM otp_challenges WHERE created_at < $1", before)
    return int(status.split()[-1])


async def lock_phone(conn: asyncpg.Connection, *, phone: str) -> None:
    """Serialise code requests for one phone until the transaction ends, so the hourly limit holds."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('otp:' || $1, 0))", phone)


async def count_codes_sent(conn: asyncpg.Connection, *, prefix: str, since: datetime) -> asyncpg.Record:
    """Codes sent since ``since``: city-wide (``total``) and to numbers starting with ``prefix`` (``in_prefix``)."""
    # One scan of the last hour by created_at: the global budget bounds how many rows that is.
    return await conn.fetchrow(
        """
        SELECT count(*) AS total, count(*) FILTER (WHERE starts_with(phone, $1)) AS in_prefix
        FROM otp_challenges
        WHERE created_at > $2
        """,
        prefix,
        since,
    )


async def lock_prefix(conn: asyncpg.Connection, *, prefix: str) -> None:
    """Serialise code requests within one prefix, so concurrent requests cannot all fit under its budget."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('otp-prefix:' || $1, 0))", prefix)


async def record_budget_refusal(
    conn: asyncpg.Connection, *, budget: str, prefix: str, hour: datetime, now: datetime
) -> bool:
    """Count a refused code in its budget's hour; True for the first of that hour, which is the one to alert."""
    return await conn.fetchval(
        """
        INSERT INTO signin_budget_alerts AS a (budget, prefix, hour, first_at, last_at)
        VALUES ($1, $2, $3, $4, $4)
        ON CONFLICT (budget, prefix, hour) DO UPDATE SET refused = a.refused + 1, last_at = EXCLUDED.last_at
        RETURNING xmax = 0
        """,
        budget,
        prefix,
        hour,
        now,
    )


async def budget_alerts_since(conn: asyncpg.Connection, *, since: datetime) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT budget, prefix, hour, first_at, last_at, refused FROM signin_budget_alerts
        WHERE hour >= $1 ORDER BY hour DESC, budget, prefix
        """,
        since,
    )


async def purge_budget_alerts(conn: asyncpg.Connection, *, before: datetime) -> int:
    status = await conn.execute("DELETE FROM signin_budget_alerts WHERE hour < $1", before)
    return int(status.split()[-1])
