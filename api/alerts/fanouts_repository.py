"""SQL for the parts of an alert's fan-out still to write (alert_fanouts): kept with the alert, taken one at a time.

A part is taken under a lock of its own (a transaction-scoped advisory lock on the alert and the part, tried,
never waited for), so the ingest that wrote the alert and a worker retrying leftovers never write the same part
at once, while two parts of one alert may be written side by side; a part written drops out of ``parts`` in the
same transaction as its messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg


async def keep(
    conn: asyncpg.Connection,
    *,
    alert_id: int,
    plan: dict[str, Any],
    replaced: Sequence[int],
    parts: Sequence[str],
    now: datetime,
) -> None:
    """Remember the parts of an alert's fan-out still to write, in the alert's transaction."""
    await conn.execute(
        """
        INSERT INTO alert_fanouts (alert_id, plan, replaced, ingested_at, parts)
        VALUES ($1, $2, $3::bigint[], $4, $5::text[])
        """,
        alert_id,
        plan,
        list(replaced),
        now,
        list(parts),
    )


async def take(conn: asyncpg.Connection, alert_id: int, part: str) -> asyncpg.Record | None:
    """The alert's fan-out still to write, with ``part`` locked for this transaction; None when the part is being
    written by another transaction, or the fan-out is done. Whether the part is still to write is in ``parts``,
    read after the lock is held, so a part another transaction committed meanwhile is seen as written."""
    if not await conn.fetchval(
        "SELECT pg_try_advisory_xact_lock(hashtextextended('alert_fanouts:' || $1::bigint || ':' || $2, 0))",
        alert_id,
        part,
    ):
        return None
    return await conn.fetchrow(
        "SELECT alert_id, plan, replaced, ingested_at, parts FROM alert_fanouts WHERE alert_id = $1", alert_id
    )


async def written(conn: asyncpg.Connection, *, alert_id: int, part: str) -> None:
    """A part is written: it drops out, and the row goes with the last part. Two parts written side by side
    update the row one after the other (the second waits for the first's commit, and removes from what it left)."""
    left = await conn.fetchval(
        "UPDATE alert_fanouts SET parts = array_remove(parts, $2) WHERE alert_id = $1 RETURNING parts",
        alert_id,
        part,
    )
    if left == []:
        await conn.execute("DELETE FROM alert_fanouts WHERE alert_id = $1", alert_id)


async def failed(conn: asyncpg.Connection, *, alert_id: int, part: str, error: str, at: datetime) -> None:
    """A part's transaction failed (it rolled back): counted, with why, for the retry and for the operator."""
    await conn.execute(
        """
        UPDATE alert_fanouts SET attempts = attempts + 1, last_error = $2, failed_at = $3
        WHERE alert_id = $1
        """,
        alert_id,
        f"{part}: {error}"[:500],
        at,
    )


async def pending(conn: asyncpg.Connection, *, limit: int) -> list[int]:
    """Alerts with parts still to write, oldest first."""
    rows = await conn.fetch("SELECT alert_id FROM alert_fanouts ORDER BY alert_id LIMIT $1", limit)
    return [r["alert_id"] for r in rows]
