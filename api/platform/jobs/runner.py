"""Run one job for one slot, so that a slot runs once across all workers.

A job runs in one of two ways. Inside the slot's transaction (the default, for sweeps): claim, work and record
commit together, and a failure rolls the claim back, leaving the slot free for a retry. Outside any transaction
(``transaction=False``, for jobs that wait on the network): the claim commits first in a short transaction of
its own, the job takes connections from the pool as it needs them, and the finish, or the error, is recorded
in another; a failed slot is not run again, the next slot is.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, cast

import asyncpg
import msgspec
import structlog

from api.platform import metrics
from api.platform.jobs import slots as runs
from api.platform.jobs.registry import Job, JobContext, PoolContext, PoolJobFunc
from api.platform.settings import Settings

log = structlog.get_logger(__name__)

MAX_ERROR = 2000  # characters of an error kept on the job_runs row


class RunResult(msgspec.Struct, frozen=True, kw_only=True):
    job: str
    slot: datetime
    ran: bool
    result: dict[str, Any] | None = None


async def run_job(pool: asyncpg.Pool, job: Job, *, now: datetime, settings: Settings) -> RunResult:
    """Run ``job`` for the slot of ``now`` unless some worker already has; a failure is raised once dealt with."""
    job = job.for_settings(settings)
    slot = job.slot(now)
    started = time.perf_counter()
    try:
        if job.transaction:
            result = await _run_in_transaction(pool, job, now=now, slot=slot, settings=settings)
        else:
            result = await _run_outside_transaction(pool, job, now=now, slot=slot, settings=settings)
    except Exception:
        metrics.JOB_RUNS.labels(job=job.name, outcome="failed").inc()
        raise
    if result is None:
        metrics.JOB_RUNS.labels(job=job.name, outcome="taken").inc()
        log.debug("job slot already taken", job=job.name, slot=slot.isoformat())
        return RunResult(job=job.name, slot=slot, ran=False)
    metrics.JOB_RUNS.labels(job=job.name, outcome="ran").inc()
    metrics.JOB_SECONDS.labels(job=job.name).observe(time.perf_counter() - started)
    metrics.JOB_LAG.labels(job=job.name).set((now - slot).total_seconds())
    log.info("job ran", job=job.name, slot=slot.isoformat(), result=result)
    return RunResult(job=job.name, slot=slot, ran=True, result=result)


async def _run_in_transaction(
    pool: asyncpg.Pool, job: Job, *, now: datetime, slot: datetime, settings: Settings
) -> dict[str, Any] | None:
    """Claim, run and finish in one transaction; None when the slot was taken."""
    async with pool.acquire() as conn, conn.transaction():
        if not await runs.claim(conn, job=job.name, slot=slot):
            return None
        result = await job.run(JobContext(conn=conn, pool=pool, now=now, slot=slot, settings=settings))
        await runs.finish(conn, job=job.name, slot=slot, result=result)
    return result


async def _run_outside_transaction(
    pool: asyncpg.Pool, job: Job, *, now: datetime, slot: datetime, settings: Settings
) -> dict[str, Any] | None:
    """Claim and commit, run with the pool alone, then record the finish or the error; None when the slot was taken."""
    async with pool.acquire() as conn:
        # One statement outside a transaction block commits by itself: the claim is seen by every other worker
        # before the job starts, and no connection is held while it runs.
        if not await runs.claim(conn, job=job.name, slot=slot):
            return None
    # Only jobs declared with transaction=False come here, and the decorator typed those to take a PoolContext.
    run = cast(PoolJobFunc, job.run)
    try:
        result = await run(PoolContext(pool=pool, now=now, slot=slot, settings=settings))
    except Exception as e:
        await _record_failure(pool, job, slot=slot, error=f"{type(e).__name__}: {e}")
        raise
    async with pool.acquire() as conn:
        await runs.finish(conn, job=job.name, slot=slot, result=result)
    return result


async def _record_failure(pool: asyncpg.Pool, job: Job, *, slot: datetime, error: str) -> None:
    # The caller logs the failure with its traceback (the scheduler does), as for a job run in a transaction.
    try:
        async with pool.acquire() as conn:
            await runs.fail(conn, job=job.name, slot=slot, error=error[:MAX_ERROR])
    except Exception:
        # The job's own error is the one raised; this one is only logged.
        log.exception("could not record the job's failure", job=job.name, slot=slot.isoformat())
