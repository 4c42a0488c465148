"""The polls and the database: no transaction while they wait on the network, each alert written on its own, and
the feed memory in a table, so a rolled-back write loses nothing and a second worker picks up where one left off.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
import pytest

from api.alerts import feeds_repository
from api.alerts.kma import Command, WarningKind, WarningLevel
from api.alerts.kma_areas import NORTH_WEST, SOUTH_EAST
from api.platform.db.pool import create_pool
from api.platform.jobs.runner import run_job
from api.platform.settings import AlertSettings, Settings
from api.worker import JOBS
from fakes.cap_feed import ATOM_PATH, FakeCapFeed
from fakes.kma import FakeKma
from tests.alerts.feed_messages import seoul_message

NOW = datetime.now(UTC).replace(microsecond=0)

# Sessions of the app's database, other than the one asking, that are inside a transaction (idle in one, or not).
IN_TRANSACTION = (
    "SELECT coalesce(array_agg(state ORDER BY pid), '{}') FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
)


@pytest.fixture(scope="module")
def fake_feed() -> Iterator[FakeCapFeed]:
    fake = FakeCapFeed()
    with fake.serve():
        yield fake


@pytest.fixture
def feed(fake_feed: FakeCapFeed) -> FakeCapFeed:
    fake_feed.reset()
    return fake_feed


@pytest.fixture(scope="module")
def fake_kma() -> Iterator[FakeKma]:
    fake = FakeKma()
    with fake.serve():
        yield fake


@pytest.fixture
def kma(fake_kma: FakeKma) -> FakeKma:
    fake_kma.reset()
    return fake_kma


@pytest.fixture
def feed_settings(settings: Settings, feed: FakeCapFeed) -> Settings:
    alerts = AlertSettings(cap_feed_urls=f"{feed.url}{ATOM_PATH}", http_timeout_s=2, max_bytes=50_000)
    return msgspec.structs.replace(settings, alerts=alerts)


async def poll(pool: asyncpg.Pool, settings: Settings, job: str, at: datetime) -> dict[str, Any]:
    run = await run_job(pool, JOBS[job], now=at, settings=settings)
    assert run.ran and run.result is not None
    return run.result


async def stored(pool: asyncpg.Pool) -> list[str]:
    async with pool.acquire() as conn:
        return [r["identifier"] for r in await conn.fetch("SELECT identifier FROM alerts ORDER BY identifier")]


def index_validators(feed: FakeCapFeed) -> list[str]:
    return [r["if-none-match"] for r in feed.requests if r["path"] == ATOM_PATH]


class Watcher:
    """Looks at the app's database from a connection of its own each time a fake is asked for something."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.seen: list[tuple[str, list[str], list[str]]] = []  # path, sessions in a transaction, alerts stored

    async def __call__(self, path: str) -> None:
        conn = await asyncpg.connect(self.database_url)
        try:
            in_transaction = list(await conn.fetchval(IN_TRANSACTION))
            alerts = [r["identifier"] for r in await conn.fetch("SELECT identifier FROM alerts")]
        finally:
            await conn.close()
        self.seen.append((path, in_transaction, alerts))


async def test_the_feed_poll_holds_no_transaction_while_it_reads_and_each_alert_is_seen_once_written(
    pool, feed, feed_settings, database_url
) -> None:
    feed.put("/first.cap", seoul_message("first", now=NOW))
    feed.put("/second.cap", seoul_message("second", now=NOW))
    watcher = Watcher(database_url)
    feed.observe(watcher)
    result = await poll(pool, feed_settings, "alerts.poll-cap-feeds", NOW)
    assert result["created"] == 2
    assert [(path, sessions) for path, sessions, _ in watcher.seen] == [
        (ATOM_PATH, []),
        ("/second.cap", []),  # the index lists the newest entry first
        ("/first.cap", []),
    ]
    # While the last message was being fetched, the alert from the one before was already committed.
    assert watcher.seen[-1][2] == ["second"]


async def test_the_kma_poll_holds_no_transaction_while_it_reads(pool, settings, kma, database_url) -> None:
    kma.issue(SOUTH_EAST, WarningKind.heavy_rain, WarningLevel.warning, Command.issue, NOW - timedelta(hours=2))
    kma.issue(NORTH_WEST, WarningKind.heat_wave, WarningLevel.advisory, Command.issue, NOW - timedelta(hours=1))
    alerts = AlertSettings(kma_base_url=kma.url, kma_service_key=kma.service_key, http_timeout_s=2)
    watcher = Watcher(database_url)
    kma.observe(watcher)
    result = await poll(pool, msgspec.structs.replace(settings, alerts=alerts), "alerts.poll-kma", NOW)
    assert result["created"] == 2
    assert len(watcher.seen) == 4  # one query per Seoul warning area
    assert [sessions for _, sessions, _ in watcher.seen] == [[]] * 4


async def test_a_failed_write_of_one_entry_loses_neither_it_nor_the_others(pool, feed, feed_settings) -> None:
    for name in ("a", "b", "c"):
        feed.put(f"/{name}.cap", seoul_message(f"entry-{name}", now=NOW))
    async with pool.acquire() as conn:
        # The memory of b cannot be written (as if the disk filled up just then): its alert must go with it.
        await conn.execute(
            "CREATE FUNCTION refuse_b() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.entry_key LIKE '%/b.cap' THEN RAISE EXCEPTION 'no space left (a test)'; END IF;"
            " RETURN NEW; END $$;"
            " CREATE TRIGGER refuse_b BEFORE INSERT ON cap_feed_entries FOR EACH ROW EXECUTE FUNCTION refuse_b()"
        )
    first = await poll(pool, feed_settings, "alerts.poll-cap-feeds", NOW)
    assert (first["created"], first["skipped"]) == (2, 1)
    (skip,) = first["skips"]
    assert skip["item"].endswith("/b.cap") and skip["reason"].startswith("failed: RaiseError")
    assert await stored(pool) == ["entry-a", "entry-c"]
    async with pool.acquire() as conn:
        memory = await feeds_repository.memory(conn, feed_url=f"{feed.url}{ATOM_PATH}")
        await conn.execute("DROP TRIGGER refuse_b ON cap_feed_entries")
    assert memory.done == {f"{feed.url}/a.cap", f"{feed.url}/c.cap"}
    assert memory.etag is None  # not every entry was dealt with: the next poll must not get a 304

    second = await poll(pool, feed_settings, "alerts.poll-cap-feeds", NOW + timedelta(minutes=1))
    assert (second["created"], second["duplicate"], second["skipped"]) == (1, 0, 0)
    assert await stored(pool) == ["entry-a", "entry-b", "entry-c"]
    assert [feed.fetched(f"/{name}.cap") for name in ("a", "b", "c")] == [1, 2, 1]
    third = await poll(pool, feed_settings, "alerts.poll-cap-feeds", NOW + timedelta(minutes=2))
    assert (third["created"], third["duplicate"]) == (0, 0)
    validators = index_validators(feed)
    assert validators[:2] == ["", ""] and validators[2].startswith('"')


async def test_a_second_worker_reads_nothing_the_first_dealt_with(pool, settings, feed, feed_settings) -> None:
    feed.put("/one.cap", seoul_message("one", now=NOW))
    feed.put("/bad.cap", b"not xml")
    first = await poll(pool, feed_settings, "alerts.poll-cap-feeds", NOW)
    assert (first["created"], first["skipped"]) == (1, 1)

    # Another worker: its own pool and nothing of the first one's process; only the database is shared.
    other = await create_pool(settings.db)
    try:
        unchanged = await poll(other, feed_settings, "alerts.poll-cap-feeds", NOW + timedelta(minutes=1))
        assert (unchanged["created"], unchanged["duplicate"], unchanged["skipped"]) == (0, 0, 0)
        # It sent the validators the first one stored, and the feed's 304 cost it nothing more.
        async with other.acquire() as conn:
            etag = await conn.fetchval("SELECT etag FROM cap_feeds")
        assert etag and index_validators(feed) == ["", etag]
        assert len(feed.requests) == 4

        feed.put("/two.cap", seoul_message("two", now=NOW))
        changed = await poll(other, feed_settings, "alerts.poll-cap-feeds", NOW + timedelta(minutes=2))
    finally:
        await other.close()
    assert (changed["created"], changed["duplicate"], changed["skipped"]) == (1, 0, 0)
    assert [feed.fetched(p) for p in ("/one.cap", "/bad.cap", "/two.cap")] == [1, 1, 1]
    assert await stored(pool) == ["one", "two"]
