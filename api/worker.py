"""The worker process: APScheduler firing each job at the start of its slot, and the outbox dispatcher.

Every scheduled job is declared beside its domain and listed here, in ``JOBS``: the worker is the one place
that knows them all.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import start_http_server

from api.accounts.jobs import purge_budget_alerts, purge_sign_in_codes
from api.alerts.jobs import finish_fanouts, poll_cap_feeds, poll_kma_warnings
from api.chat.jobs import sms_replies, tracker_retention
from api.hazards.jobs import route_incidents, watch_alerts, watch_digest
from api.platform.db.pool import create_pool
from api.platform.jobs.housekeeping import purge_job
from api.platform.jobs.registry import EPOCH, Job
from api.platform.jobs.runner import run_job
from api.platform.settings import MetricsSettings, Settings
from api.sensors.jobs import make_partitions
from care.flood.jobs import flood_escalation
from care.jobs import audit_log_partitions, care_sweep, on_duty_escalation
from care.passive.jobs import device_health, inactivity_sweep
from care.safety.jobs import safety_sweep
from notifications.channels import build_channels
from notifications.dispatcher import Dispatcher
from notifications.jobs import purge_old

log = structlog.get_logger(__name__)

JOBS: dict[str, Job] = {
    j.name: j
    for j in (
        purge_job({"otp_challenges": purge_sign_in_codes, "signin_budget_alerts": purge_budget_alerts}),
        purge_old,
        care_sweep,
        on_duty_escalation,
        audit_log_partitions,
        safety_sweep,
        flood_escalation,
        inactivity_sweep,
        device_health,
        poll_kma_warnings,
        poll_cap_feeds,
        finish_fanouts,
        sms_replies,
        make_partitions,
        route_incidents,
        watch_alerts,
        watch_digest,
        tracker_retention,
    )
}


async def serve(settings: Settings, *, dispatch: bool = True, schedule: bool = True) -> None:
    """Run the scheduler and the dispatcher until SIGINT or SIGTERM."""
    pool = await create_pool(settings.db)
    scheduler = AsyncIOScheduler(timezone=UTC)

    async def fire(job: Job) -> None:
        try:
            await run_job(pool, job, now=datetime.now(UTC), settings=settings)
        except Exception:
            # One failed run must not stop the schedule. A job run in the slot's transaction had its slot rolled
            # back; one run outside any has the error on its job_runs row. Either way the next slot runs.
            log.exception("job failed", job=job.name)

    for job in (j.for_settings(settings) for j in JOBS.values()):
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
    channels = build_channels(settings) if dispatch else {}
    tasks = []
    if dispatch:
        dispatcher = Dispatcher(pool, channels, settings.notify)
        assert settings.db.url is not None  # create_pool refused to start without one
        tasks.append(asyncio.create_task(dispatcher.run(stop, dsn=settings.db.url), name="dispatcher"))
    _serve_metrics(settings.metrics)
    if schedule:
        scheduler.start()
    log.info("worker started", jobs=sorted(JOBS) if schedule else [], dispatcher=dispatch)
    try:
        await stop.wait()
    finally:
        if schedule:
            scheduler.shutdown(wait=False)
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in channels.values():
            await channel.aclose()
        await pool.close()
        log.info("worker stopped")


def _serve_metrics(settings: MetricsSettings) -> None:
    """The worker's metrics on their own port, from a thread of prometheus-client's; a port in use only warns."""
    if not settings.worker_port:
        return
    try:
        start_http_server(settings.worker_port, addr=settings.worker_host)
    except OSError as exc:
        # A second worker on one host, say: it works on without metrics rather than not at all.
        log.warning("worker metrics not served", port=settings.worker_port, error=str(exc))
    else:
        log.info("worker metrics served", url=f"http://{settings.worker_host}:{settings.worker_port}/metrics")
