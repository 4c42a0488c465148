"""CAP feeds: reading Atom and RSS indexes safely, conditional GETs, limits; and what gets ingested from them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from api.alerts.cap import parse_cap
from api.alerts.feeds import FeedEntry, FeedError, FeedMemory, FeedReader, parse_index
from notifications.testing.fake_cap_feed import ATOM_PATH, RSS_PATH, FakeCapFeed
from tests.alerts.feed_messages import BILLION_LAUGHS, EXTERNAL_ENTITY, seoul_message

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
        yield FeedReader(http, FeedMemory(), timeout_s=2, max_bytes=50_000)


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


# -- fetching -------------------------------------------------------------------------------------------------------


async def test_the_index_etag_is_sent_back_and_a_304_reads_nothing(feed: FakeCapFeed, reader: FeedReader) -> None:
    feed.put("/a/1.cap", seoul_message("one", now=NOW))
    first = await reader.index(f"{feed.url}{ATOM_PATH}")
    assert [e.url for e in first.entries] == [f"{feed.url}/a/1.cap"]
    assert first.etag
    reader.memory.remember_index(first)
    again = await reader.index(f"{feed.url}{ATOM_PATH}")
    assert again.not_modified and again.entries == []
    assert [r["if-none-match"] for r in feed.requests] == ["", first.etag]
    feed.put("/a/2.cap", seoul_message("two", now=NOW))
    changed = await reader.index(f"{feed.url}{ATOM_PATH}")
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
