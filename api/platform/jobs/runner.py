"""Run one job for one slot: claim, work and record in one transaction, so a slot runs exactly once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import msgspec
import structlog

from api.platform.jobs import slots as runs
from api.platform.jobs.registry import Job, JobContext
from api.platform.settings import Settings

log = structlog.get_logger(__name__)


class RunResult(msgspec.Struct, frozen=True, kw_only=True):
    job: str
    slot: datetime
    ran: bool
    result: dict[str, Any] | None = None


async def run_job(pool: asyncpg.Pool, job: Job, *, now: datetime, settings: Settings) -> RunResult:
    """Run ``job`` for the slot of ``now`` unless some worker already has; a failure rolls the slot back."""
    job = job.for_settings(settings)
    slot = job.slot(now)
    async with pool.acquire() as conn, conn.transaction():
        if not await runs.claim(conn, job=job.name, slot=slot):
            log.debug("job slot already taken", job=job.name, slot=slot.isoformat())
            return RunResult(job=job.name, slot=slot, ran=False)
        result = await job.run(JobContext(conn=conn, now=now, slot=slot, settings=settings, pool=pool))
        await runs.finish(conn, job=job.name, slot=slot, result=result)
    log.info("job ran", job=job.name, slot=slot.isoformat(), result=result)
    return RunResult(job=job.name, slot=slot, ran=True, result=result)
