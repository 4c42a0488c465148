"""SQL for job runs: a ``(job, slot)`` row claimed once across all workers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg


async def claim(conn: asyncpg.Connection, *, job: str, slot: datetime) -> bool:
    """True when this claim owns the slot; a concurrent claimer waits for an uncommitted claim, then gets False."""
    claimed = await conn.fetchval(
        "INSERT INTO job_runs (job, slot) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true", job, slot
    )
    return bool(claimed)


async def finish(conn: asyncpg.Connection, *, job: str, slot: datetime, result: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE job_runs SET finished_at = clock_timestamp(), result = $3 WHERE job = $1 AND slot = $2",
        job,
        slot,
        result,
    )


async def fail(conn: asyncpg.Connection, *, job: str, slot: datetime, error: str) -> None:
    """Record that the slot's run failed: it stays claimed, so it is not run again."""
    await conn.execute(
        "UPDATE job_runs SET finished_at = clock_timestamp(), error = $3 WHERE job = $1 AND slot = $2",
        job,
        slot,
        error,
    )


async def purge(conn: asyncpg.Connection, *, before: datetime) -> int:
    status = await conn.execute("DELETE FROM job_runs WHERE slot < $1", before)
    return int(status.split()[-1])
