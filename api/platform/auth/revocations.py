"""SQL for the revocation list: tokens refused before they expire, by their ``jti``."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def is_revoked(conn: asyncpg.Connection, *, jti: str) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1)", jti))


async def revoke(conn: asyncpg.Connection, *, jti: str, expires_at: datetime, reason: str, now: datetime) -> bool:
    """Add ``jti`` to the list; False when it was already there (the first reason stands)."""
    inserted = await conn.fetchval(
        """
        INSERT INTO revoked_tokens (jti, expires_at, revoked_at, reason) VALUES ($1, $2, $3, $4)
        ON CONFLICT (jti) DO NOTHING
        RETURNING true
        """,
        jti,
        expires_at,
        now,
        reason,
    )
    return bool(inserted)


async def purge(conn: asyncpg.Connection, *, now: datetime) -> int:
    """Forget revocations of tokens that have expired anyway: verification refuses those on its own."""
    status = await conn.execute("DELETE FROM revoked_tokens WHERE expires_at < $1", now)
    return int(status.split()[-1])
