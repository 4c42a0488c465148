"""The dispatcher: claims due outbox rows, sends them through their channel and records what happened.

It runs in the worker process, one loop per channel. It wakes on ``NOTIFY outbox`` (sent when an insert
commits) and polls besides, so a new urgent message leaves within a second even if a notification is lost.
Any number of dispatchers may run: each row is claimed by one of them (``FOR UPDATE SKIP LOCKED``), and a
row whose dispatcher died is claimable again once its lease has expired.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog

from api.platform import metrics
from api.platform.settings import NotifySettings
from notifications import recipients_repository, repository
from notifications.channels.base import Channel, Failure, OutboundMessage, PushChannel, Reconcile, SendResult
from notifications.outcomes import Outcome, is_outage, outcome_of
from notifications.topics import sync_topics

log = structlog.get_logger(__name__)

_MAX_PAUSE_S = 60.0
_MAINTENANCE_EVERY_S = 5.0
# How far before an unknown attempt to count other messages' sids as taken: wider than a lookup's allowance for clock
# skew between us and the provider.
_ACCOUNTED_MARGIN = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class BatchReport:
    channel: str
    claimed: int
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    suppressed: int = 0
    unknown: int = 0
    outage: bool = False


def _count(channel: str, results: Sequence[SendResult], outcome: Outcome) -> None:
    """What came of a batch, in the metrics: each row's new state, and each failure by its kind."""
    for state, n in Counter(outcome.states).items():
        metrics.SENDS.labels(channel=channel, result=state).inc(n)
    for result in results:
        if result.failure is not None:
            metrics.PROVIDER_ERRORS.labels(channel=channel, failure=result.failure.value).inc()


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        channels: Mapping[str, Channel],
        settings: NotifySettings,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._pool = pool
        self._channels = dict(channels)
        self._settings = settings
        self._clock = clock

    def _limit(self, name: str) -> int:
        return max(1, min(self._settings.batch_size, self._channels[name].batch_size))

    async def dispatch_batch(self, name: str) -> BatchReport:
        """Claim one batch of due rows of channel ``name``, send them, and record each result."""
        channel = self._channels[name]
        began = self._clock()
        lease_until = began + timedelta(seconds=self._settings.lease_s)
        async with self._pool.acquire() as conn:
            rows = await repository.claim(
                conn, channel=name, limit=self._limit(name), now=began, lease_until=lease_until
            )
            if not rows:
                return BatchReport(channel=name, claimed=0)
            blocked = await self._opted_out(conn, rows) if name == "sms" else set()
            sendable = [r for r in rows if r["id"] not in blocked]
            accounted = await _accounted_for(conn, sendable) if name == "sms" else {}
            # The last look before the provider: a row cancelled since the claim (its ladder was answered) stays
            # unsent. What remains is the time of one batch's calls, during which a cancellation comes too late.
            live = await repository.still_claimed(
                conn, ids=[r["id"] for r in sendable], attempts=[r["attempts"] for r in sendable]
            )
            sendable = [r for r in sendable if r["id"] in live]
            async with self._leased(rows):
                with metrics.SEND_SECONDS.labels(channel=name).time():
                    results = await _send(channel, [_message(r, accounted) for r in sendable])
            outage = is_outage(results)
            now = self._clock()
            outcome = outcome_of(sendable, results, began=began, now=now, settings=self._settings, outage=outage)
            for row in rows:
                if row["id"] in blocked:
                    outcome.add(row, "suppressed", next_attempt=now, error="opted out by SMS")
            await _record(conn, outcome, now=now)
        _count(name, results, outcome)
        report = BatchReport(
            channel=name,
            claimed=len(rows),
            sent=outcome.count("sent"),
            retrying=outcome.count("pending"),
            failed=outcome.count("failed"),
            suppressed=outcome.count("suppressed"),
            unknown=outcome.count("unknown"),
            outage=outage,
        )
        if outage:
            log.warning("provider unavailable; the batch waits", channel=name, rows=len(rows))
        else:
            log.info(
                "outbox batch",
                channel=name,
                claimed=report.claimed,
                sent=report.sent,
                failed=report.failed,
                unknown=report.unknown,
            )
        return report

    @contextlib.asynccontextmanager
    async def _leased(self, rows: Sequence[asyncpg.Record]) -> AsyncIterator[None]:
        """Renew the rows' lease while they are being sent, so a slow provider does not make them claimable."""

        async def renew() -> None:
            ids, attempts = [r["id"] for r in rows], [r["attempts"] for r in rows]
            while True:
                await asyncio.sleep(self._settings.lease_s / 3)
                async with self._pool.acquire() as conn:
                    until = self._clock() + timedelta(seconds=self._settings.lease_s)
                    await repository.renew_lease(conn, ids=ids, attempts=attempts, lease_until=until)

        task = asyncio.create_task(renew(), name="outbox-lease")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _opted_out(self, conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]) -> set[int]:
        # The number may have opted out after the message was enqueued.
        phones = [r["recipient"] for r in rows if not r["overrides_opt_out"]]
        out = await recipients_repository.opted_out(conn, phones) if phones else set()
        return {r["id"] for r in rows if not r["overrides_opt_out"] and r["recipient"] in out}

    async def maintain(self) -> dict[str, int]:
        """Make rows of dead dispatchers claimable again and keep device topics in step."""
        async with self._pool.acquire() as conn:
            reclaimed = await repository.reclaim_expired(conn, now=self._clock())
            push = self._channels.get("push")
            topics = await sync_topics(conn, push) if isinstance(push, PushChannel) else 0
        if reclaimed:
            log.warning("outbox rows reclaimed after their lease expired", rows=reclaimed)
        return {"reclaimed": reclaimed, "topics": topics}

    async def drain(self, *, max_batches: int = 1000) -> list[BatchReport]:
        """Send everything due now, channel by channel (the CLI and tests use this)."""
        reports: list[BatchReport] = []
        await self.maintain()
        for name in self._channels:
            for _ in range(max_batches):
                report = await self.dispatch_batch(name)
                if report.claimed:
                    reports.append(report)
                if report.claimed < self._limit(name) or report.outage:
                    break
        return reports

    async def run(self, stop: asyncio.Event, *, dsn: str) -> None:
        """Dispatch until ``stop`` is set."""
        wakes = {name: asyncio.Event() for name in self._channels}
        tasks = [asyncio.create_task(self._listen(dsn, wakes, stop), name="outbox-listener")]
        tasks += [
            asyncio.create_task(self._loop(name, wakes[name], stop), name=f"dispatch-{name}") for name in self._channels
        ]
        tasks.append(asyncio.create_task(self._maintenance(stop), name="outbox-maintenance"))
        log.info("dispatcher started", channels=sorted(self._channels))
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self, name: str, wake: asyncio.Event, stop: asyncio.Event) -> None:
        pause = 0.0
        while not stop.is_set():
            wake.clear()
            try:
                report = await self.dispatch_batch(name)
            except Exception:
                # The database or a channel failed unexpectedly; claimed rows come back when their lease ends.
                log.exception("dispatch failed", channel=name)
                report = None
            if report is None or report.outage:
                pause = min(max(pause * 2, 1.0), _MAX_PAUSE_S)
                await _sleep(pause, stop)
                continue
            pause = 0.0
            if report.claimed >= self._limit(name):
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=self._settings.poll_s)

    async def _maintenance(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.maintain()
            except Exception:
                log.exception("outbox maintenance failed")
            await _sleep(_MAINTENANCE_EVERY_S, stop)

    async def _listen(self, dsn: str, wakes: Mapping[str, asyncio.Event], stop: asyncio.Event) -> None:
        def wake_all(*_: object) -> None:
            for event in wakes.values():
                event.set()

        while not stop.is_set():
            try:
                conn = await asyncpg.connect(dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("outbox listener cannot connect; polling only", error=str(exc))
                await _sleep(5.0, stop)
                continue
            try:
                await conn.add_listener("outbox", wake_all)
                while not stop.is_set() and not conn.is_closed():
                    await _sleep(1.0, stop)
            finally:
                with contextlib.suppress(Exception):
                    await conn.close()


async def _record(conn: asyncpg.Connection, outcome: Outcome, *, now: datetime) -> None:
    """Write a batch's outcome and its side effects in one transaction."""
    async with conn.transaction():
        await repository.record_results(
            conn,
            now=now,
            ids=outcome.ids,
            attempts=outcome.attempts,
            states=outcome.states,
            provider_ids=outcome.provider_ids,
            errors=outcome.errors,
            next_attempts=outcome.next_attempts,
            refund=outcome.refund,
            unknown_since=outcome.unknown_since,
        )
        if outcome.dead_tokens:
            await recipients_repository.forget_device_tokens(conn, outcome.dead_tokens)
        if outcome.opted_out_phones:
            await recipients_repository.opt_out_many(conn, phones=outcome.opted_out_phones, source="provider", now=now)
        if outcome.failed_push_notices:
            await repository.release_fallbacks(conn, notice_ids=sorted(outcome.failed_push_notices), now=now)


async def _accounted_for(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]) -> dict[str, frozenset[str]]:
    """For SMS about to be looked up at the provider: the sids already recorded for other messages to each number.

    A lookup matches by recipient and body, and two messages to one number may say the same thing (two reminders);
    these sids are another message's, and cannot be the lost answer of this one.
    """
    unknown = [r for r in rows if r["unknown_since"] is not None]
    if not unknown:
        return {}
    since = min(r["unknown_since"] for r in unknown) - _ACCOUNTED_MARGIN
    return await repository.provider_ids_to(conn, recipients=sorted({r["recipient"] for r in unknown}), since=since)


async def _send(channel: Channel, messages: Sequence[OutboundMessage]) -> list[SendResult]:
    results: list[SendResult] = []
    for start in range(0, len(messages), channel.batch_size):
        chunk = messages[start : start + channel.batch_size]
        try:
            answered = await channel.send_many(chunk)
        except Exception as exc:
            # A channel must answer every message; one that raised is treated as a transient failure.
            log.exception("channel raised", channel=channel.name)
            answered = [SendResult(ok=False, failure=Failure.transient, error=f"{type(exc).__name__}: {exc}")] * len(
                chunk
            )
        results.extend(answered)
    return results


def _message(row: asyncpg.Record, accounted: Mapping[str, frozenset[str]]) -> OutboundMessage:
    unknown_since = row["unknown_since"]
    reconcile = (
        Reconcile(since=unknown_since, skip_ids=accounted.get(row["recipient"], frozenset()))
        if unknown_since is not None and row["channel"] in ("sms", "voice")
        else None
    )
    return OutboundMessage(
        channel=row["channel"],
        to=row["recipient"],
        body=row["body"],
        title=row["title"],
        data={str(k): str(v) for k, v in (row["data"] or {}).items()},
        topic=row["topic"],
        urgent=row["priority"] == 0 or row["critical"],
        ref=str(row["id"]),
        template=row["template"],
        collapse_id=str(row["notice_id"]) if row["channel"] == "push" else None,
        reconcile=reconcile,
    )


async def _sleep(seconds: float, stop: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
