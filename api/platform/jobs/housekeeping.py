"""The hourly purge: each owner says how to delete what it keeps no longer, and one job runs them all.

The platform purges its own tables (stored idempotent responses, job runs, revocations of expired tokens); a
domain hands in its own purge (the app does, in ``api.worker``), so no module here reaches into a domain's tables.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from api.platform.auth import revocations
from api.platform.idempotency import repository as idempotency_repository
from api.platform.jobs import slots
from api.platform.jobs.registry import Job, JobContext, job

Purge = Callable[[asyncpg.Connection, datetime], Awaitable[int]]

# Stored responses are replayed for a day: long past any client's retry window.
IDEMPOTENCY_KEEP = timedelta(hours=24)
JOB_RUNS_KEEP = timedelta(days=30)


async def purge_idempotency_keys(conn: asyncpg.Connection, now: datetime) -> int:
    return await idempotency_repository.purge(conn, before=now - IDEMPOTENCY_KEEP)


async def purge_job_runs(conn: asyncpg.Connection, now: datetime) -> int:
    return await slots.purge(conn, before=now - JOB_RUNS_KEEP)


async def purge_revoked_tokens(conn: asyncpg.Connection, now: datetime) -> int:
    return await revocations.purge(conn, now=now)


def purge_job(owners: Mapping[str, Purge]) -> Job:
    """``platform.purge-expired``: the domains' purges (by the table each empties) and the platform's own."""
    purges = {
        **owners,
        "idempotency_keys": purge_idempotency_keys,
        "job_runs": purge_job_runs,
        "revoked_tokens": purge_revoked_tokens,
    }

    @job("platform.purge-expired", every=timedelta(hours=1))
    async def purge_expired(ctx: JobContext) -> dict[str, Any]:
        """Delete old sign-in codes, stored idempotent responses, job-run rows and lapsed revocations."""
        return {name: await purge(ctx.conn, ctx.now) for name, purge in purges.items()}

    return purge_expired
