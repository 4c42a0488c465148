"""SQL for stored idempotent responses."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def lock_key(conn: asyncpg.Connection, *, principal: str, key: str) -> None:
    """Serialise requests with the same key until the transaction ends; the second waits, then replays."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(31) || $2, 0))", principal, key)


async def get_response(conn: asyncpg.Connection, *, principal: str, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT request_hash, status_code, headers, body
        FROM idempotency_keys WHERE principal = $1 AND key = $2
        """,
        principal,
        key,
    )


async def save_response(
    conn: asyncpg.Connection,
    *,
    principal: str,
    key: str,
    method: str,
    path: str,
    request_hash: bytes,
    status_code: int,
    headers: list[list[str]],
    body: bytes,
) -> None:
    await conn.execute(
        """
        INSERT INTO idempotency_keys (principal, key, method, path, request_hash, status_code, headers, body)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """,
        principal,
        key,
        method,
        path,
        request_hash,
        status_code,
        headers,
        body,
    )


async def purge(conn: asyncpg.Connection, *, before: datetime) -> int:
    status = await conn.execute("DELETE FROM idempotency_keys WHERE created_at < $1", before)
    return int(status.split()[-1])
