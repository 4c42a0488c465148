"""Scheduled polls of the warning sources (KMA's warnings API and the configured CAP feeds), and the retry of
fan-out parts that failed.

Both run outside the slot's transaction (``transaction=False``): they wait on the network, and no connection or
transaction may be held while they do; each alert is written in a short transaction of its own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import msgspec
import structlog

from api.alerts import fanout, service
from api.alerts.feeds import FeedReader
from api.alerts.kma import KmaClient
from api.alerts.sources import Tally, poll_feed, poll_kma
from api.platform.db.pool import create_pool
from api.platform.jobs.registry import PoolContext, job
from notifications.service import Notifier

log = structlog.get_logger(__name__)

# Said once per process, as a log line: a source with no settings is off on every poll.
_said_disabled: set[str] = set()


@job(
    "alerts.poll-kma",
    every=timedelta(seconds=60),
    every_from=lambda settings: timedelta(seconds=settings.alerts.kma_poll_s),
    transaction=False,
)
async def poll_kma_warnings(ctx: PoolContext) -> dict[str, Any]:
    """Read KMA's warnings for Seoul's areas of the last hours and ingest each line as a CAP alert."""
    alerts = ctx.settings.alerts
    if not alerts.kma_service_key:
        return _disabled("alerts.poll-kma", "KMA_SERVICE_KEY is not set")
    client = KmaClient(alerts.kma_base_url, alerts.kma_service_key, timeout_s=alerts.http_timeout_s)
    tally = await poll_kma(
        ctx.pool,
        client,
        window=timedelta(hours=alerts.kma_window_hours),
        notifier=Notifier(ctx.settings.notify),
        now=ctx.now,
    )
    return tally.result()


@job(
    "alerts.poll-cap-feeds",
    every=timedelta(seconds=60),
    every_from=lambda settings: timedelta(seconds=settings.alerts.cap_poll_s),
    transaction=False,
)
async def poll_cap_feeds(ctx: PoolContext) -> dict[str, Any]:
    """Read each configured CAP feed and ingest the CAP messages not read before."""
    alerts = ctx.settings.alerts
    urls = alerts.feed_urls
    if not urls:
        return _disabled("alerts.poll-cap-feeds", "CAP_FEED_URLS is empty")
    tally = Tally()
    notifier = Notifier(ctx.settings.notify)
    async with httpx.AsyncClient(timeout=alerts.http_timeout_s, follow_redirects=True) as http:
        reader = FeedReader(http, timeout_s=alerts.http_timeout_s, max_bytes=alerts.max_bytes)
        for url in urls:
            await poll_feed(ctx.pool, reader, url, notifier=notifier, now=ctx.now, tally=tally)
    return tally.result()


# A part left over may have been one that passed the command timeout: the retry's own connection has ten times it.
RETRY_TIMEOUT_FACTOR = 10


@job("alerts.finish-fanouts", every=timedelta(seconds=30), transaction=False)
async def finish_fanouts(ctx: PoolContext) -> dict[str, Any]:
    """Write the fan-out parts left by an ingest that failed or died: each part in its own transaction."""
    async with ctx.pool.acquire() as conn:
        if not await service.has_pending(conn):
            return {"alerts": 0, **fanout.Told()._asdict(), "left": 0}
    # Two connections: the parts of the people in care and of the citizens are retried side by side.
    db = msgspec.structs.replace(
        ctx.settings.db, pool_min=0, pool_max=2, command_timeout=ctx.settings.db.command_timeout * RETRY_TIMEOUT_FACTOR
    )
    pool = await create_pool(db)
    try:
        async with pool.acquire() as conn:
            return await service.finish_pending(conn, notifier=Notifier(ctx.settings.notify), pool=pool)
    finally:
        await pool.close()


def _disabled(name: str, why: str) -> dict[str, Any]:
    if name not in _said_disabled:
        _said_disabled.add(name)
        log.info("warning source disabled", job=name, reason=why)
    return {"disabled": why}
