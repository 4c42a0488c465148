"""SQL for the operators' read model of the outbox: deliveries, filtered and paged, and counts by state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg


async def list_deliveries(conn: asyncpg.Connection, *, filters: dict[str, Any], limit: int) -> list[asyncpg.Record]:
    """Deliveries newest first, narrowed by any of recipient, channel, state, since, until, notice_id, before_id."""
    return await conn.fetch(
        """
        SELECT id, notice_id, channel, recipient, topic, citizen_id, template, language, title, body, priority,
               critical, fallback, state, attempts, max_attempts, next_attempt_at, last_error, provider_id,
               created_at, sent_at, delivered_at, acknowledged_at
        FROM outbox
        WHERE ($1::text IS NULL OR recipient = $1)
          AND ($2::text IS NULL OR channel = $2)
          AND ($3::text IS NULL OR state = $3)
          AND ($4::timestamptz IS NULL OR created_at >= $4)
          AND ($5::timestamptz IS NULL OR created_at < $5)
          AND ($6::int8 IS NULL OR notice_id = $6)
          AND ($7::int8 IS NULL OR id < $7)
        ORDER BY id DESC
        LIMIT $8
        """,
        filters.get("recipient"),
        filters.get("channel"),
        filters.get("state"),
        filters.get("since"),
        filters.get("until"),
        filters.get("notice_id"),
        filters.get("before_id"),
        limit,
    )


async def summary(conn: asyncpg.Connection, *, since: datetime | None, until: datetime | None) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT channel, state, count(*) AS count
        FROM outbox
        WHERE ($1::timestamptz IS NULL OR created_at >= $1) AND ($2::timestamptz IS NULL OR created_at < $2)
        GROUP BY channel, state ORDER BY channel, state
        """,
        since,
        until,
    )


async def gauges(conn: asyncpg.Connection, *, now: datetime, dead_since: datetime) -> list[asyncpg.Record]:
    """For the metrics: rows waiting or in flight by channel and state; dead letters since ``dead_since``; and
    how long the longest-waiting due urgent message has waited (``oldest_due_urgent_s``, 0 when none waits).

    Each count reads a partial index (due rows, leased rows, dead letters by creation time), never the whole table.
    """
    return await conn.fetch(
        """
        SELECT channel, state, count(*) AS n, 0::float8 AS oldest_due_urgent_s
        FROM outbox WHERE state IN ('pending', 'sending') GROUP BY channel, state
        UNION ALL
        SELECT channel, 'dead', count(*), 0 FROM outbox
        WHERE created_at >= $2 AND state IN ('failed', 'unknown') GROUP BY channel
        UNION ALL
        SELECT channel, 'oldest', 0, coalesce(extract(epoch FROM $1 - min(next_attempt_at)), 0)::float8 FROM outbox
        WHERE state = 'pending' AND priority = 0 AND next_attempt_at <= $1 GROUP BY channel
        """,
        now,
        dead_since,
    )
