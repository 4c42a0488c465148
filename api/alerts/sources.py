"""Warning sources, polled: KMA's warning lines and CAP feeds, each message ingested on its own.

No connection is held while a source is read. Each alert is then written in a short transaction of its own, on
a connection taken from the pool for it, so one alert that fails leaves the others stored, and each is seen
once written. A feed entry is remembered as dealt with in its alert's transaction, so the two commit or roll
back together. What could not be ingested is counted with its reason, never raised: the next poll must run
whatever this one met.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import asyncpg
import httpx
import structlog

from api.alerts import feeds_repository, repository, service, sources_repository
from api.alerts.cap import CapAlert, CapError, CapReference, MsgType, parse_cap
from api.alerts.feeds import FeedEntry, FeedError, FeedIndex, FeedReader
from api.alerts.kma import Command, KmaClient, KmaError, KmaUnavailable, KmaWarning
from api.alerts.kma_cap import (
    KMA_SENDER,
    identifier,
    incident_key,
    kma_to_cap,
    msg_type_for,
    needs_warning_in_force,
)
from api.alerts.schemas import Ingested
from notifications.service import Notifier

log = structlog.get_logger(__name__)

MAX_LISTED = 50  # skips and errors listed in a job's result; the counts cover them all
MAX_REASON = 300  # characters of a reason kept in the result (a database error can quote a whole row)
# Reasons already logged at info level in this process: a line refused once is refused on every re-poll of
# the window, and one log line says as much as a thousand.
_noted: set[str] = set()


@dataclass
class Tally:
    """What one poll did, as the job's result: counts by outcome, and each skip and error with its reason."""

    created: int = 0
    duplicate: int = 0
    ignored: int = 0
    deliveries: int = 0
    skips: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    skipped: int = 0
    # The alerts created, whose fan-out's later parts are written once their transaction commits.
    alert_ids: list[int] = field(default_factory=list)

    def count(self, ingested: Ingested) -> None:
        self.deliveries += ingested.deliveries
        if ingested.outcome == "created":
            self.created += 1
            if ingested.alert_id is not None:
                self.alert_ids.append(ingested.alert_id)
        elif ingested.outcome == "duplicate":
            self.duplicate += 1
        else:
            self.ignored += 1

    def skip(self, item: str, reason: str) -> None:
        """Count an item we did not ingest, and log why (at info once per process, then at debug)."""
        self.skipped += 1
        if len(self.skips) < MAX_LISTED:
            self.skips.append({"item": item, "reason": reason[:MAX_REASON]})
        _note("warning source item skipped", item=item, reason=reason)

    def error(self, source: str, reason: str, **details: str) -> None:
        """A whole source that could not be read this time."""
        if len(self.errors) < MAX_LISTED:
            self.errors.append({"source": source, "reason": reason[:MAX_REASON], **details})
        log.warning("warning source unreadable", source=source, reason=reason, **details)

    def merge(self, other: Tally) -> None:
        """Add what ``other`` counted: one alert's tally, once its transaction committed."""
        self.created += other.created
        self.duplicate += other.duplicate
        self.ignored += other.ignored
        self.deliveries += other.deliveries
        self.alert_ids.extend(other.alert_ids)
        self.skipped += other.skipped
        self.skips.extend(other.skips[: max(0, MAX_LISTED - len(self.skips))])
        self.errors.extend(other.errors[: max(0, MAX_LISTED - len(self.errors))])

    def result(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "duplicate": self.duplicate,
            "ignored": self.ignored,
            "deliveries": self.deliveries,
            "skipped": self.skipped,
            "skips": self.skips,
            "errors": self.errors,
        }


def _note(event: str, **fields: str) -> None:
    key = repr(sorted(fields.items()))
    if key in _noted:
        log.debug(event, **fields)
        return
    if len(_noted) > 10_000:
        _noted.clear()
    _noted.add(key)
    log.info(event, **fields)


T = TypeVar("T")


async def in_own_transaction(
    pool: asyncpg.Pool, tally: Tally, item: str, write: Callable[..., Awaitable[T]], *, notifier: Notifier
) -> T | None:
    """``write(conn, tally=…)`` in a short transaction of its own; None when the transaction failed.

    What it counted reaches ``tally`` only once it committed: a rolled-back alert is a skip, never "created".
    Once it committed, the rest of each alert's fan-out is written, a part per transaction (``ingest_one``
    leaves the parts for then), so that a part that fails takes neither the alert nor the other parts with it.
    """
    scratch = Tally()
    async with pool.acquire() as conn:
        try:
            async with conn.transaction():
                written = await write(conn, tally=scratch)
        except asyncpg.PostgresError as e:
            log.exception("alert's transaction failed", item=item)
            tally.skip(item, f"failed: {type(e).__name__}: {e}")
            return None
        for alert_id in scratch.alert_ids:
            told = await service.finish_fanout(conn, alert_id=alert_id, notifier=notifier, pool=pool)
            scratch.deliveries += told.deliveries
    tally.merge(scratch)
    return written


async def ingest_one(
    conn: asyncpg.Connection, cap: CapAlert, *, source: str, item: str, notifier: Notifier, now: datetime, tally: Tally
) -> bool:
    """Ingest one alert, counting what became of it; False when it failed unexpectedly, so it is worth another try."""
    try:
        ingested = await service.ingest(conn, cap, source=source, notifier=notifier, now=now, defer_parts=True)
        tally.count(ingested)
    except service.AlertRefused as e:
        tally.skip(item, e.detail)
    except Exception as e:
        # ingest's savepoint has rolled back, and the alert's transaction commits nothing of it.
        log.exception("alert failed to ingest", item=item, identifier=cap.identifier)
        tally.skip(item, f"failed: {type(e).__name__}: {e}")
        return False
    return True


async def poll_kma(
    pool: asyncpg.Pool, client: KmaClient, *, window: timedelta, notifier: Notifier, now: datetime
) -> Tally:
    """Read KMA's warning lines of the last ``window``, then ingest each in its own transaction.

    A KMA failure is an error in the tally.
    """
    tally = Tally()
    try:
        warnings = await client.warnings(since=now - window, now=now)
    except KmaError as e:
        tally.error("kma", str(e), code=e.code, transient=str(e.transient).lower())
        return tally
    except (KmaUnavailable, httpx.HTTPError) as e:
        tally.error("kma", f"{type(e).__name__}: {e}")
        return tally
    for warning in warnings:
        write = partial(ingest_kma_warning, warning=warning, notifier=notifier, now=now)
        await in_own_transaction(pool, tally, identifier(warning), write, notifier=notifier)
    return tally


async def ingest_kma_warning(
    conn: asyncpg.Connection, warning: KmaWarning, *, notifier: Notifier, now: datetime, tally: Tally
) -> None:
    """Turn one KMA line into CAP, finding the alert it changes, and ingest it."""
    item = identifier(warning)
    references: list[CapReference] = []
    if warning.cancelled and warning.command in (Command.lift, Command.change_lift):
        # Undoing a lift would need the cancelled warning back in force; KMA follows a withdrawal with a new
        # announcement, which we will read.
        tally.skip(item, "KMA withdrew a lift; the warning stays lifted here until KMA announces it again")
        return
    if needs_warning_in_force(warning):
        # A line re-read in the next poll is its own alert in force (or was replaced since): it is known.
        if await sources_repository.alert_exists(conn, sender=KMA_SENDER, identifier=item):
            tally.duplicate += 1
            return
        row = await repository.latest_in_force(conn, sender=KMA_SENDER, incident=incident_key(warning))
        if row is not None:
            references = [CapReference(sender=row["sender"], identifier=row["identifier"], sent=row["sent"])]
        elif msg_type_for(warning, in_force=False) is not MsgType.alert:
            tally.skip(item, f"{warning.command} of {incident_key(warning)}, but no alert of that warning is in force")
            return
    cap = kma_to_cap(warning, references=references)
    await ingest_one(conn, cap, source="kma", item=item, notifier=notifier, now=now, tally=tally)


async def poll_feed(
    pool: asyncpg.Pool, reader: FeedReader, url: str, *, notifier: Notifier, now: datetime, tally: Tally
) -> None:
    """Read one feed URL and ingest each CAP message not dealt with before; a bad entry is a skip."""
    async with pool.acquire() as conn:
        memory = await feeds_repository.memory(conn, feed_url=url)
    try:
        index = await reader.index(url, etag=memory.etag, last_modified=memory.last_modified)
    except FeedError as e:
        tally.error("feed", e.reason, url=url)
        return
    if index.not_modified:
        return
    complete = True
    for entry in index.entries:
        if entry.key not in memory.done:
            dealt_with = await _poll_entry(pool, reader, url, entry, notifier=notifier, now=now, tally=tally)
            complete = complete and dealt_with
    await _remember_index(pool, index, complete=complete, now=now)


async def _poll_entry(
    pool: asyncpg.Pool,
    reader: FeedReader,
    url: str,
    entry: FeedEntry,
    *,
    notifier: Notifier,
    now: datetime,
    tally: Tally,
) -> bool:
    """Fetch an entry's message with no connection held, then ingest it; False when it is worth another try."""
    item = entry.url or f"{url} ({entry.key[:19]}…)"
    cap: CapAlert | None = None
    try:
        cap = parse_cap(await reader.message(entry))
    except FeedError as e:
        tally.skip(item, e.reason)
        if e.transient:
            return False
    except CapError as e:
        tally.skip(item, f"not an acceptable CAP message: {e.reason}")

    async def write(conn: asyncpg.Connection, *, tally: Tally) -> bool:
        # The alert and the memory of its entry commit together: neither is kept without the other.
        if cap is not None and not await ingest_one(
            conn, cap, source="feed", item=item, notifier=notifier, now=now, tally=tally
        ):
            return False  # nothing of it was written or remembered: the next poll tries it again
        await feeds_repository.mark_done(conn, feed_url=url, key=entry.key, now=now)
        return True

    return await in_own_transaction(pool, tally, item, write, notifier=notifier) is True


async def _remember_index(pool: asyncpg.Pool, index: FeedIndex, *, complete: bool, now: datetime) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await feeds_repository.keep_only(conn, feed_url=index.url, keys=[e.key for e in index.entries])
        # The index's validators are kept only when every entry was dealt with: a 304 next time must not hide an
        # entry that failed for a reason that may pass.
        if complete:
            await feeds_repository.remember_validators(
                conn, feed_url=index.url, etag=index.etag, last_modified=index.last_modified, now=now
            )
