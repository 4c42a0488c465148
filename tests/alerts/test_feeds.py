"""CAP feeds: reading Atom and RSS indexes safely, conditional GETs, limits; and what gets ingested from them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest

from api.alerts import feeds_repository
from api.alerts.cap import parse_cap
from api.alerts.feeds import FeedEntry, FeedError, FeedReader, parse_index
from api.platform.jobs.runner import run_job
from api.platform.settings import AlertSettings, Settings
from api.worker import JOBS
from fakes.cap_feed import ATOM_PATH, RSS_PATH, FakeCapFeed
from tests.alerts.feed_messages import BILLION_LAUGHS, EXTERNAL_ENTITY, seoul_message, unknown_severity

NOW = datetime.now(UTC).replace(microsecond=0)
BASE = "https://feeds.example.test/cap/index.atom"


@pytest.fixture(scope="module")
def fake_feed() -> Iterator[FakeCapFeed]:
    fake = FakeCapFeed()
    with fake.serve():
        yield fake


@pytest.fixture
def feed(fake_feed: FakeCapFeed) -> FakeCapFeed:
    fake_feed.reset()
    return fake_feed


@pytest.fixture
async def reader() -> AsyncIterator[FeedReader]:
    async with httpx.AsyncClient() as http:
        yield FeedReader(http, timeout_s=2, max_bytes=50_000)


# -- parsing indexes ------------------------------------------------------------------------------------------------


def test_atom_entries_link_to_cap_messages_relative_links_resolved() -> None:
    atom = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
      <entry><id>1</id><link rel="self" href="/self/1"/><link type="application/cap+xml" href="a/1.cap"/></entry>
      <entry><id>2</id><link href="https://other.test/2.xml"/></entry>
      <entry><id>3</id><link href="ftp://other.test/3.xml"/></entry>
      <entry><id>4</id><title>no link</title></entry>
    </feed>"""
    entries = parse_index(atom, base_url=BASE)
    assert [e.url for e in entries] == [
        "https://feeds.example.test/cap/a/1.cap",
        "https://other.test/2.xml",
        None,
        None,
    ]
    assert "not an http(s) URL" in (entries[2].problem or "")
    assert "no link" in (entries[3].problem or "")


def test_an_alert_embedded_in_an_atom_entry_is_carried_whole() -> None:
    message = seoul_message("embedded-1", now=NOW).split(b"?>", 1)[1]
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><content type="application/cap+xml">'
        + message
        + b"</content></entry></feed>"
    )
    (entry,) = parse_index(atom, base_url=BASE)
    assert entry.url is None and entry.key.startswith("sha256:")
    assert parse_cap(entry.embedded or b"").identifier == "embedded-1"


def test_rss_items_link_enclose_or_embed() -> None:
    message = seoul_message("rss-embedded", now=NOW).split(b"?>", 1)[1]
    rss = (
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><link>https://feeds.example.test/1.cap</link></item>"
        b'<item><link>https://feeds.example.test/page</link><enclosure type="application/cap+xml" url="2.cap"/></item>'
        b"<item>" + message + b"</item>"
        b"</channel></rss>"
    )
    entries = parse_index(rss, base_url=BASE)
    assert [e.url for e in entries[:2]] == ["https://feeds.example.test/1.cap", "https://feeds.example.test/cap/2.cap"]
    assert parse_cap(entries[2].embedded or b"").identifier == "rss-embedded"


def test_a_cap_message_url_is_its_own_single_entry() -> None:
    message = seoul_message("single", now=NOW)
    (entry,) = parse_index(message, base_url=BASE)
    assert entry.embedded == message


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (BILLION_LAUGHS, "forbidden XML construct"),
        (EXTERNAL_ENTITY, "forbidden XML construct"),
        (b"<feed", "not well-formed"),
        (b"<html><body>Moved</body></html>", "is not an Atom"),
    ],
    ids=["xml-bomb", "external-entity", "malformed", "not-a-feed"],
)
def test_unsafe_or_foreign_indexes_are_refused(body: bytes, reason: str) -> None:
    with pytest.raises(FeedError, match=reason) as refused:
        parse_index(body, base_url=BASE)
    assert not refused.value.transient


async def test_the_memory_keeps_only_what_each_feed_still_lists(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        for feed_url, key in (
            ("a", "https://a.test/1.cap"),
            ("a", "https://a.test/2.cap"),
            ("b", "https://a.test/1.cap"),
        ):
            await feeds_repository.mark_done(conn, feed_url=feed_url, key=key, now=NOW)
        await feeds_repository.keep_only(conn, feed_url="a", keys={"https://a.test/2.cap", "https://a.test/3.cap"})
        a = await feeds_repository.memory(conn, feed_url="a")
        b = await feeds_repository.memory(conn, feed_url="b")
    assert "https://a.test/1.cap" not in a.done
    assert "https://a.test/2.cap" in a.done
    assert "https://a.test/1.cap" in b.done


# -- fetching -------------------------------------------------------------------------------------------------------


async def test_the_index_etag_is_sent_back_and_a_304_reads_nothing(feed: FakeCapFeed, reader: FeedReader) -> None:
    feed.put("/a/1.cap", seoul_message("one", now=NOW))
    first = await reader.index(f"{feed.url}{ATOM_PATH}")
    assert [e.url for e in first.entries] == [f"{feed.url}/a/1.cap"]
    assert first.etag
    again = await reader.index(f"{feed.url}{ATOM_PATH}", etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.entries == []
    assert [r["if-none-match"] for r in feed.requests] == ["", first.etag]
    feed.put("/a/2.cap", seoul_message("two", now=NOW))
    changed = await reader.index(f"{feed.url}{ATOM_PATH}", etag=first.etag)
    assert [e.url for e in changed.entries] == [f"{feed.url}/a/2.cap", f"{feed.url}/a/1.cap"]


async def test_validators_are_not_sent_until_remembered(feed: FakeCapFeed, reader: FeedReader) -> None:
    await reader.index(f"{feed.url}{RSS_PATH}")
    await reader.index(f"{feed.url}{RSS_PATH}")
    assert [r["if-none-match"] for r in feed.requests] == ["", ""]


async def test_a_message_is_fetched_as_served(feed: FakeCapFeed, reader: FeedReader) -> None:
    body = seoul_message("fetched", now=NOW)
    url = feed.put("/m.cap", body)
    index = await reader.index(f"{feed.url}{ATOM_PATH}")
    assert await reader.message(index.entries[0]) == body
    assert index.entries[0].key == url


async def test_a_body_over_the_limit_is_refused(feed: FakeCapFeed, reader: FeedReader) -> None:
    url = feed.put("/big.cap", b"<alert>" + b" " * 60_000 + b"</alert>")
    with pytest.raises(FeedError, match="over the limit"):
        await reader.message(FeedEntry(key=url, url=url))


async def test_down_garbage_slow_and_missing_are_feed_errors(feed: FakeCapFeed, reader: FeedReader) -> None:
    index_url = f"{feed.url}{ATOM_PATH}"
    feed.down()
    with pytest.raises(FeedError, match="HTTP 503") as down:
        await reader.index(index_url)
    assert down.value.transient
    feed.down(False)
    feed.garbage()
    with pytest.raises(FeedError, match="not well-formed"):
        await reader.index(index_url)
    feed.garbage(False)
    with pytest.raises(FeedError, match="HTTP 404") as missing:
        await reader.message(FeedEntry(key="missing", url=f"{feed.url}/nothing-here.cap"))
    assert not missing.value.transient
    feed.delay(3)
    with pytest.raises(FeedError, match="no complete answer within 2 s") as slow:
        await reader.index(index_url)
    assert slow.value.transient


# -- the poll job: feeds into stored alerts -------------------------------------------------------------------------


@pytest.fixture
def feed_settings(settings: Settings, feed: FakeCapFeed) -> Settings:
    alerts = AlertSettings(cap_feed_urls=f"{feed.url}{ATOM_PATH}", http_timeout_s=2, max_bytes=50_000)
    return msgspec.structs.replace(settings, alerts=alerts)


async def poll_feeds(pool: asyncpg.Pool, settings: Settings, at: datetime) -> dict[str, Any]:
    run = await run_job(pool, JOBS["alerts.poll-cap-feeds"], now=at, settings=settings)
    assert run.ran and run.result is not None
    return run.result


async def stored(pool: asyncpg.Pool) -> list[tuple[str, str, str]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT identifier, source, msg_type FROM alerts ORDER BY identifier")
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_good_entries_are_ingested_and_bad_ones_skipped_with_reasons(pool, feed, feed_settings) -> None:
    feed.put("/good.cap", seoul_message("good-linked", now=NOW))
    feed.embed(seoul_message("good-embedded", now=NOW))
    feed.put("/malformed.cap", b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>")
    feed.put("/bomb.cap", BILLION_LAUGHS)
    feed.put("/awful.cap", unknown_severity("awful", now=NOW))
    feed.put("/expired.cap", seoul_message("expired", now=NOW - timedelta(hours=8)))
    feed.put("/busan.cap", seoul_message("busan", now=NOW).replace(b"11680", b"26110"))
    feed.link("/gone.cap")

    result = await poll_feeds(pool, feed_settings, NOW)

    assert (result["created"], result["duplicate"], result["ignored"]) == (2, 0, 1)
    assert result["deliveries"] > 0
    reasons = {s["item"].rsplit("/", 1)[-1]: s["reason"] for s in result["skips"]}
    assert "not well-formed" in reasons["malformed.cap"]
    assert "forbidden XML construct" in reasons["bomb.cap"]
    assert "'Awful' is not one of" in reasons["awful.cap"]
    assert "expired" in reasons["expired.cap"]
    assert "HTTP 404" in reasons["gone.cap"]
    assert result["skipped"] == 5 and result["errors"] == []
    assert await stored(pool) == [("good-embedded", "feed", "Alert"), ("good-linked", "feed", "Alert")]


async def test_the_index_etag_is_honoured_and_entries_are_fetched_once(pool, feed, feed_settings) -> None:
    feed.put("/one.cap", seoul_message("one", now=NOW))
    feed.put("/bad.cap", b"not xml")
    first = await poll_feeds(pool, feed_settings, NOW)
    assert (first["created"], first["skipped"]) == (1, 1)

    second = await poll_feeds(pool, feed_settings, NOW + timedelta(minutes=1))
    assert (second["created"], second["duplicate"], second["skipped"]) == (0, 0, 0)
    index_requests = [r for r in feed.requests if r["path"] == ATOM_PATH]
    assert index_requests[1]["if-none-match"].startswith('"')
    assert (feed.fetched("/one.cap"), feed.fetched("/bad.cap")) == (1, 1)

    feed.put("/two.cap", seoul_message("two", now=NOW))
    third = await poll_feeds(pool, feed_settings, NOW + timedelta(minutes=2))
    assert (third["created"], third["skipped"]) == (1, 0)
    assert (feed.fetched("/one.cap"), feed.fetched("/two.cap")) == (1, 1)


async def test_a_lost_feed_memory_reads_again_and_stores_nothing_twice(pool, feed, feed_settings) -> None:
    feed.put("/one.cap", seoul_message("one", now=NOW))
    await poll_feeds(pool, feed_settings, NOW)
    async with pool.acquire() as conn:
        await conn.execute("TRUNCATE cap_feeds, cap_feed_entries")
    again = await poll_feeds(pool, feed_settings, NOW + timedelta(minutes=1))
    assert (again["created"], again["duplicate"]) == (0, 1)
    assert again["deliveries"] == 0


async def test_one_alert_failing_leaves_the_others_stored_and_is_tried_again(pool, feed, feed_settings) -> None:
    feed.put("/fine.cap", seoul_message("fine", now=NOW))
    # Longer than the alerts table allows: the insert fails inside ingest, whose savepoint rolls back alone.
    feed.put("/too-long.cap", seoul_message("x" * 301, now=NOW))
    first = await poll_feeds(pool, feed_settings, NOW)
    assert first["created"] == 1
    (skip,) = first["skips"]
    assert skip["item"].endswith("/too-long.cap") and skip["reason"].startswith("failed: CheckViolationError")
    assert await stored(pool) == [("fine", "feed", "Alert")]
    # Not remembered as done, and the index's ETag not kept: the next poll tries it again.
    await poll_feeds(pool, feed_settings, NOW + timedelta(minutes=1))
    assert (feed.fetched("/fine.cap"), feed.fetched("/too-long.cap")) == (1, 2)
    assert all(r["if-none-match"] == "" for r in feed.requests if r["path"] == ATOM_PATH)


async def test_an_unreadable_feed_is_an_error_and_the_next_poll_goes_on(pool, feed, feed_settings) -> None:
    feed.put("/one.cap", seoul_message("one", now=NOW))
    feed.garbage()
    broken = await poll_feeds(pool, feed_settings, NOW)
    (error,) = broken["errors"]
    assert error["source"] == "feed" and "not well-formed" in error["reason"] and error["url"].endswith(ATOM_PATH)
    feed.garbage(False)
    feed.down()
    down = await poll_feeds(pool, feed_settings, NOW + timedelta(minutes=1))
    assert "HTTP 503" in down["errors"][0]["reason"]
    feed.down(False)
    fine = await poll_feeds(pool, feed_settings, NOW + timedelta(minutes=2))
    assert (fine["created"], fine["errors"]) == (1, [])


async def test_a_single_cap_message_url_is_polled_as_a_feed(pool, feed, feed_settings) -> None:
    url = feed.put("/latest.cap", seoul_message("latest", now=NOW), listed=False)
    single = msgspec.structs.replace(
        feed_settings, alerts=msgspec.structs.replace(feed_settings.alerts, cap_feed_urls=url)
    )
    result = await poll_feeds(pool, single, NOW)
    assert result["created"] == 1
    assert await stored(pool) == [("latest", "feed", "Alert")]


async def test_without_feed_urls_the_feed_poll_is_off(pool, settings) -> None:
    assert await poll_feeds(pool, settings, NOW) == {"disabled": "CAP_FEED_URLS is empty"}
