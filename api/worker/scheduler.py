"""The worker process: APScheduler firing each job at the start of its slot."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from api.db.pool import create_pool
from api.settings import Settings
from api.worker.jobs import JOBS
from api.worker.registry import EPOCH, Job
from api.worker.runner import run_job

log = structlog.get_logger(__name__)


async def serve(settings: Settings) -> None:
    """Run the scheduler until SIGINT or SIGTERM."""
    pool = await create_pool(settings.db)
    scheduler = AsyncIOScheduler(timezone=UTC)

    async def fire(job: Job) -> None:
        try:
            await run_job(pool, job, now=datetime.now(UTC), settings=settings)
        except Exception:
            # One failed run must not stop the schedule; the slot was rolled back and the next one will try.
            log.exception("job failed", job=job.name)

    for job in JOBS.values():
        scheduler.add_job(
            fire,
            IntervalTrigger(seconds=job.every.total_seconds(), start_date=EPOCH, timezone=UTC),
            args=[job],
            id=job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(job.every.total_seconds()),
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scheduler.start()
    log.info("worker started", jobs=sorted(JOBS))
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        await pool.close()
        log.info("worker stopped")
