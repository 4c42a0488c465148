"""CAP feeds: an Atom or RSS 2.0 index whose entries link to (or embed) CAP messages, or one CAP message's URL.

Fetching only, with no database: conditional GETs on the index, a size limit and a deadline on every body,
defusedxml on every document. What was already read of a feed (its validators, the entries dealt with) is kept
in the database by the poll (``api.alerts.feeds_repository``) and handed in here.
"""

from __future__ import annotations

import asyncio
import hashlib
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element, ParseError, tostring

import httpx
import msgspec
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from api.alerts.cap import CAP11_NS, CAP12_NS

ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPES = frozenset({"application/cap+xml", "application/common-alerting-protocol+xml"})
_CAP_ROOTS = frozenset({f"{{{CAP12_NS}}}alert", f"{{{CAP11_NS}}}alert"})
_ACCEPT = "application/atom+xml, application/rss+xml, application/cap+xml, application/xml;q=0.9, */*;q=0.1"


class FeedError(Exception):
    """A feed or message we could not read; ``reason`` says why, ``transient`` whether a later try may succeed."""

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


class FeedEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One CAP message of a feed: linked (``url``) or carried in the entry itself (``embedded``)."""

    key: str  # the linked URL, or a hash of the embedded message: what the memory remembers
    url: str | None = None
    embedded: bytes | None = None
    problem: str | None = None  # why the entry leads to no message we may fetch


class FeedIndex(msgspec.Struct, frozen=True, kw_only=True):
    """What one read of a feed URL found: nothing new (304), or its entries and the validators to send next."""

    url: str
    not_modified: bool = False
    entries: list[FeedEntry] = []
    etag: str | None = None
    last_modified: str | None = None


class FeedReader:
    """Reads feeds and their messages over one ``httpx.AsyncClient``."""

    def __init__(self, http: httpx.AsyncClient, *, timeout_s: float = 10, max_bytes: int = 1_000_000) -> None:
        self._http = http
        self._timeout = timeout_s
        self._max_bytes = max_bytes

    async def index(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FeedIndex:
        """Read a feed URL: an Atom or RSS index, or a single CAP message (then its one entry is embedded).

        ``etag`` and ``last_modified`` are the validators of the last read whose every entry was dealt with.
        """
        headers = {"Accept": _ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        response, body = await self._get(url, headers)
        if response.status_code == httpx.codes.NOT_MODIFIED:
            return FeedIndex(url=url, not_modified=True, etag=etag, last_modified=last_modified)
        return FeedIndex(
            url=url,
            entries=parse_index(body, base_url=url),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )

    async def message(self, entry: FeedEntry) -> bytes:
        """The CAP document of an entry: fetched when linked, as carried when embedded."""
        if entry.embedded is not None:
            return entry.embedded
        if entry.url is None:
            raise FeedError(entry.problem or "the entry names no CAP message")
        _, body = await self._get(entry.url, {"Accept": "application/cap+xml, application/xml;q=0.9, */*;q=0.1"})
        return body

    async def _get(self, url: str, headers: dict[str, str]) -> tuple[httpx.Response, bytes]:
        try:
            # One deadline for the whole body: a server trickling bytes never trips a per-read timeout.
            async with asyncio.timeout(self._timeout):
                return await self._read(url, headers)
        except TimeoutError:
            raise FeedError(f"no complete answer within {self._timeout:g} s", transient=True) from None
        except httpx.HTTPError as e:
            raise FeedError(f"unreachable: {type(e).__name__}: {e}", transient=True) from e

    async def _read(self, url: str, headers: dict[str, str]) -> tuple[httpx.Response, bytes]:
        async with self._http.stream("GET", url, headers=headers, timeout=self._timeout) as response:
            if response.status_code == httpx.codes.NOT_MODIFIED:
                return response, b""
            if response.status_code != httpx.codes.OK:
                transient = response.status_code >= 500 or response.status_code == httpx.codes.TOO_MANY_REQUESTS
                raise FeedError(f"answered HTTP {response.status_code}", transient=transient)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_bytes:
                raise FeedError(f"body of {declared} bytes is over the limit of {self._max_bytes}")
            body = bytearray()
            # Counted after decompression, so a small gzip bomb is cut off too.
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self._max_bytes:
                    raise FeedError(f"body is over the limit of {self._max_bytes} bytes")
            return response, bytes(body)


def parse_index(body: bytes, *, base_url: str) -> list[FeedEntry]:
    """The entries of an Atom or RSS 2.0 feed, or the one message of a CAP document; unsafe XML is refused."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as e:
        raise FeedError(f"forbidden XML construct ({type(e).__name__}): DTDs and entities are refused") from e
    except ParseError as e:
        raise FeedError(f"not well-formed XML: {e}") from e
    if root.tag in _CAP_ROOTS:
        return [_embedded(body)]
    if root.tag == f"{{{ATOM_NS}}}feed":
        return [_atom_entry(el, base_url) for el in root.iter(f"{{{ATOM_NS}}}entry")]
    if root.tag == "rss":
        return [_rss_item(el, base_url) for el in root.iter("item")]
    raise FeedError(f"root element {root.tag!r} is not an Atom <feed>, an RSS 2.0 <rss> or a CAP <alert>")


def _embedded(document: bytes) -> FeedEntry:
    return FeedEntry(key="sha256:" + hashlib.sha256(document).hexdigest(), embedded=document)


def _embedded_alert(entry: Element) -> FeedEntry | None:
    for el in entry.iter():
        if el.tag in _CAP_ROOTS:
            return _embedded(tostring(el, encoding="utf-8"))
    return None


def _atom_entry(entry: Element, base_url: str) -> FeedEntry:
    embedded = _embedded_alert(entry)
    if embedded is not None:
        return embedded
    content = entry.find(f"{{{ATOM_NS}}}content")
    # Some feeds put the CAP message in <content> as escaped text rather than as XML.
    text = content.text if content is not None else None
    if text and text.lstrip().startswith("<") and "alert" in text:
        return _embedded(text.strip().encode())
    links = entry.findall(f"{{{ATOM_NS}}}link")
    # Elements without children are falsy, so no `or` between the choices: the first that matches wins.
    ranked = sorted(links, key=lambda link: (_media_type(link.get("type")) not in CAP_MEDIA_TYPES, _rel(link)))
    href = ranked[0].get("href") if ranked else None
    if not href and content is not None:
        href = content.get("src")
    return _linked(href, base_url)


def _rss_item(item: Element, base_url: str) -> FeedEntry:
    embedded = _embedded_alert(item)
    if embedded is not None:
        return embedded
    enclosure = next((e for e in item.findall("enclosure") if _media_type(e.get("type")) in CAP_MEDIA_TYPES), None)
    href = enclosure.get("url") if enclosure is not None else (item.findtext("link") or "").strip()
    if not href:
        guid = item.find("guid")
        if guid is not None and guid.get("isPermaLink", "true") == "true":
            href = (guid.text or "").strip()
    return _linked(href, base_url)


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def _rel(link: Element) -> int:
    # The alternate link is the entry's content; self, edit and the rest are about the feed.
    return 0 if link.get("rel", "alternate") == "alternate" else 1


def _linked(href: str | None, base_url: str) -> FeedEntry:
    if not href:
        return FeedEntry(key=f"{base_url}#no-link", problem="the entry has no link to a CAP message")
    url = urljoin(base_url, href.strip())
    if urlsplit(url).scheme not in ("http", "https"):
        return FeedEntry(key=url, problem=f"the entry links to {url!r}, which is not an http(s) URL")
    return FeedEntry(key=url, url=url)
