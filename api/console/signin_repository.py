"""SQL of console sign-in: credentials, failures by source and account, known sources, and security notices.

A source is passed as the client's address and hashed inside the database (``console_source``, keyed), so
no address is ever stored; a source read back is that 32-byte hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg


async def lock_email(conn: asyncpg.Connection, email: str) -> None:
    """Serialise sign-in attempts for one email until the transaction ends, so the counts are exact."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('console-sign-in:' || $1, 0))", email)


async def staff_credentials(conn: asyncpg.Connection, email: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT id, password_hash, active FROM staff WHERE email = $1", email)


async def source_of(conn: asyncpg.Connection, address: str) -> bytes:
    """The keyed hash that stands for a client address."""
    return await conn.fetchval("SELECT console_source($1)", address)


async def failure_counts(conn: asyncpg.Connection, *, email: str, source: bytes, since: datetime) -> asyncpg.Record:
    """Failures since ``since`` from this source for this email, and from it for any email, with the last of each."""
    return await conn.fetchrow(
        """
        SELECT count(*) FILTER (WHERE email = $1) AS pair_failures,
               max(at) FILTER (WHERE email = $1) AS pair_last,
               count(*) AS source_failures,
               max(at) AS source_last
        FROM console_sign_in_failures
        WHERE source = $2 AND at > $3
        """,
        email,
        source,
        since,
    )


async def record_failure(conn: asyncpg.Connection, *, email: str, source: bytes, now: datetime, since: datetime) -> int:
    """Count a failure; how many this source now has for this email since ``since``."""
    await conn.execute(
        "INSERT INTO console_sign_in_failures (email, source, at) VALUES ($1, $2, $3)", email, source, now
    )
    return await conn.fetchval(
        "SELECT count(*) FROM console_sign_in_failures WHERE email = $1 AND source = $2 AND at > $3",
        email,
        source,
        since,
    )


async def clear_failures(conn: asyncpg.Connection, *, email: str, source: bytes, before: datetime) -> None:
    """Forget this source's failures for this email (a right password), and everyone's too old to count.

    Other sources' failures for the email stay: the owner signing in does not let an attacker off.
    """
    await conn.execute(
        "DELETE FROM console_sign_in_failures WHERE (email = $1 AND source = $2) OR at < $3", email, source, before
    )


async def is_known_source(conn: asyncpg.Connection, *, staff_id: int, source: bytes, since: datetime) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT FROM console_known_sources WHERE staff_id = $1 AND source = $2 AND last_seen_at > $3)",
        staff_id,
        source,
        since,
    )


async def remember_source(
    conn: asyncpg.Connection, *, staff_id: int, source: bytes, now: datetime, forget_before: datetime
) -> None:
    """Note a source the account signed in from; sources unused since ``forget_before`` are forgotten."""
    await conn.execute(
        """
        INSERT INTO console_known_sources (staff_id, source, first_seen_at, last_seen_at)
        VALUES ($1, $2, $3, $3)
        ON CONFLICT (staff_id, source) DO UPDATE SET last_seen_at = excluded.last_seen_at
        """,
        staff_id,
        source,
        now,
    )
    await conn.execute(
        "DELETE FROM console_known_sources WHERE staff_id = $1 AND last_seen_at < $2", staff_id, forget_before
    )


async def slowed(
    conn: asyncpg.Connection, *, since: datetime, pair_limit: int, source_limit: int, limit: int = 100
) -> list[asyncpg.Record]:
    """Source and email pairs at or past a limit, with the counts the wait is worked out from, latest first."""
    return await conn.fetch(
        """
        WITH recent AS (SELECT source, email, at FROM console_sign_in_failures WHERE at > $1),
             pairs AS (SELECT source, email, count(*) AS pair_failures, max(at) AS pair_last
                       FROM recent GROUP BY source, email),
             sources AS (SELECT source, count(*) AS source_failures, max(at) AS source_last
                         FROM recent GROUP BY source)
        SELECT p.source, p.email, p.pair_failures, p.pair_last, s.source_failures, s.source_last,
               (SELECT id FROM staff WHERE email = p.email) AS staff_id
        FROM pairs p JOIN sources s USING (source)
        WHERE p.pair_failures >= $2 OR s.source_failures >= $3
        ORDER BY p.pair_last DESC, p.email
        LIMIT $4
        """,
        since,
        pair_limit,
        source_limit,
        limit,
    )


async def delete_failures(
    conn: asyncpg.Connection, *, email: str | None = None, source: bytes | None = None
) -> list[str]:
    """Forget failures of an email, a source, or a pair; the emails they were for, once each."""
    rows = await conn.fetch(
        """
        DELETE FROM console_sign_in_failures
        WHERE ($1::text IS NULL OR email = $1) AND ($2::bytea IS NULL OR source = $2)
        RETURNING email
        """,
        email,
        source,
    )
    return sorted({r["email"] for r in rows})


async def staff_ids(conn: asyncpg.Connection, emails: Sequence[str]) -> list[int]:
    rows = await conn.fetch("SELECT id FROM staff WHERE email = ANY($1::text[]) ORDER BY id", list(emails))
    return [r["id"] for r in rows]


async def insert_notice(
    conn: asyncpg.Connection,
    *,
    staff_id: int,
    kind: str,
    now: datetime,
    source: bytes | None = None,
    known_source: bool | None = None,
    failures: int | None = None,
    actor: str | None = None,
) -> None:
    await conn.execute(
        """
        INSERT INTO console_security_notices (staff_id, kind, source, known_source, failures, actor, at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """,
        staff_id,
        kind,
        source,
        known_source,
        failures,
        actor,
        now,
    )


async def unseen_notices(conn: asyncpg.Connection, staff_id: int, *, limit: int = 10) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT id, kind, source, known_source, failures, actor, at FROM console_security_notices
        WHERE staff_id = $1 AND seen_at IS NULL
        ORDER BY id DESC
        LIMIT $2
        """,
        staff_id,
        limit,
    )


async def mark_seen(conn: asyncpg.Connection, *, staff_id: int, now: datetime) -> None:
    await conn.execute(
        "UPDATE console_security_notices SET seen_at = $2 WHERE staff_id = $1 AND seen_at IS NULL", staff_id, now
    )
