"""SQL for the CAP feeds' memory: per feed URL, the validators to send back and the entries already dealt with."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

import asyncpg


class FeedMemory(NamedTuple):
    """What the poll knows of one feed when it starts reading it."""

    etag: str | None
    last_modified: str | None
    done: frozenset[str]  # the keys of the entries dealt with


def _hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


async def memory(conn: asyncpg.Connection, *, feed_url: str) -> FeedMemory:
    """The feed's validators (None when never read whole) and the entries dealt with."""
    row = await conn.fetchrow(
        "SELECT f.etag, f.last_modified,"
        " ARRAY(SELECT e.entry_key FROM cap_feed_entries e WHERE e.feed_url = $1) AS done"
        " FROM (SELECT $1::text AS feed_url) q LEFT JOIN cap_feeds f USING (feed_url)",
        feed_url,
    )
    return FeedMemory(etag=row["etag"], last_modified=row["last_modified"], done=frozenset(row["done"]))


async def mark_done(conn: asyncpg.Connection, *, feed_url: str, key: str, now: datetime) -> None:
    """Remember an entry as dealt with; call it in the transaction that wrote what came of it."""
    await conn.execute(
        "INSERT INTO cap_feed_entries (feed_url, key_sha256, entry_key, handled_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING",
        feed_url,
        _hash(key),
        key,
        now,
    )


async def keep_only(conn: asyncpg.Connection, *, feed_url: str, keys: Iterable[str]) -> int:
    """Forget the entries the feed no longer lists, so the memory is as large as the feeds, not their history."""
    status = await conn.execute(
        "DELETE FROM cap_feed_entries WHERE feed_url = $1 AND key_sha256 <> ALL($2::bytea[])",
        feed_url,
        [_hash(k) for k in keys],
    )
    return int(status.split()[-1])


async def remember_validators(
    conn: asyncpg.Connection, *, feed_url: str, etag: str | None, last_modified: str | None, now: datetime
) -> None:
    """Send these validators next time: call it only once every entry of that read was dealt with."""
    await conn.execute(
        "INSERT INTO cap_feeds (feed_url, etag, last_modified, read_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (feed_url) DO UPDATE"
        " SET etag = excluded.etag, last_modified = excluded.last_modified, read_at = excluded.read_at",
        feed_url,
        etag,
        last_modified,
        now,
    )
