"""A fake CAP feed: an Atom (and RSS 2.0) index of the CAP messages put in it, served with an ETag.

Raw ASGI like the other fakes. ``/feed.atom`` and ``/feed.rss`` list the entries newest first and answer 304 to
a matching ``If-None-Match``; each linked message is served at its own path, byte for byte as put. It can be
down (503), slow, or answer its index with garbage.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from fakes.provider import FakeProvider, read_body

ATOM_PATH = "/feed.atom"
RSS_PATH = "/feed.rss"


class FakeCapFeed(FakeProvider):
    """Holds feed entries (linked or embedded CAP messages) and serves them; ``.serve()`` gives its server."""

    def __init__(self) -> None:
        super().__init__()
        self._entries: list[dict[str, Any]] = []
        self._documents: dict[str, tuple[bytes, str]] = {}
        self._garbage = False
        self.requests: list[dict[str, str]] = []

    # -- controls (thread-safe; the server runs in another thread) -------------------------------------------------

    def put(self, path: str, body: bytes, *, content_type: str = "application/cap+xml", listed: bool = True) -> str:
        """Serve ``body`` at ``path`` and, when ``listed``, link it from the index; returns its URL."""
        with self._lock:
            self._documents[path] = (body, content_type)
            if listed:
                self._entries.append({"path": path})
        return f"{self.url}{path}"

    def link(self, path: str) -> None:
        """List ``path`` in the index without serving anything there (a 404, as a feed's stale entry gives)."""
        with self._lock:
            self._entries.append({"path": path})

    def embed(self, body: bytes) -> None:
        """Add an index entry that carries a CAP message in its content instead of linking to it."""
        with self._lock:
            self._entries.append({"embedded": body})

    def garbage(self, on: bool = True) -> None:
        """Answer the index with a 200 that is not XML."""
        with self._lock:
            self._garbage = on

    def fetched(self, path: str) -> int:
        """How many times ``path`` was asked for."""
        with self._lock:
            return sum(1 for r in self.requests if r["path"] == path)

    def reset(self) -> None:
        """Forget the entries, documents, requests and every failure set up."""
        with self._lock:
            self._entries.clear()
            self._documents.clear()
            self._garbage = False
            self.requests.clear()
            self._clear_controls()

    def _control(self, command: Mapping[str, Any]) -> None:
        """The feed's own commands: ``put`` ({path, body}), ``garbage`` (bool)."""
        put = command.get("put")
        if isinstance(put, Mapping):
            self.put(str(put["path"]), str(put["body"]).encode())
        if "garbage" in command:
            self.garbage(bool(command["garbage"]))

    # -- the ASGI app -----------------------------------------------------------------------------------------------

    async def _handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        path, method = scope["path"], scope["method"]
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        if path == "/_fake/control" and method == "POST":
            try:
                self.control(json.loads(body or b"{}"))
            except (ValueError, KeyError, TypeError) as exc:
                await _respond(send, 400, json.dumps({"error": str(exc)}).encode(), "application/json")
                return
            await _respond(send, 200, b'{"ok": true}', "application/json")
            return
        with self._lock:
            self.requests.append({"path": path, "if-none-match": headers.get("if-none-match", "")})
            delay, down, garbage = self._delay, self._down, self._garbage
            entries = list(self._entries)
            document = self._documents.get(path)
        await self._observed(path)
        if delay:
            await asyncio.sleep(delay)
        if down:
            await _respond(send, 503, b"Service Unavailable", "text/plain")
        elif method != "GET":
            await _respond(send, 405, b"Method Not Allowed", "text/plain")
        elif path in (ATOM_PATH, RSS_PATH):
            if garbage:
                await _respond(send, 200, b"\x00\xffnot a feed at all {", "application/atom+xml")
                return
            index, media = (
                (self._atom(entries), "application/atom+xml")
                if path == ATOM_PATH
                else (
                    self._rss(entries),
                    "application/rss+xml",
                )
            )
            etag = '"' + hashlib.sha256(index).hexdigest()[:16] + '"'
            if etag in [t.strip() for t in headers.get("if-none-match", "").split(",")]:
                await _respond(send, 304, b"", media, etag=etag)
            else:
                await _respond(send, 200, index, media, etag=etag)
        elif document is not None:
            await _respond(send, 200, document[0], document[1])
        else:
            await _respond(send, 404, b"Not Found", "text/plain")

    def _atom(self, entries: list[dict[str, Any]]) -> bytes:
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>Fake CAP feed</title>',
            f"<id>{escape(str(self.url))}{ATOM_PATH}</id><updated>2026-11-24T00:00:00Z</updated>",
        ]
        for n, entry in reversed(list(enumerate(entries))):
            parts.append(f"<entry><id>urn:fake:{n}</id><title>entry {n}</title><updated>2026-11-24T00:00:00Z</updated>")
            if "embedded" in entry:
                parts.append(f'<content type="application/cap+xml">{_strip_declaration(entry["embedded"])}</content>')
            else:
                href = quoteattr(f"{self.url}{entry['path']}")
                parts.append(f'<link rel="alternate" type="application/cap+xml" href={href}/>')
            parts.append("</entry>")
        parts.append("</feed>")
        return "".join(parts).encode()

    def _rss(self, entries: list[dict[str, Any]]) -> bytes:
        parts = ['<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Fake CAP feed</title>']
        for n, entry in reversed(list(enumerate(entries))):
            parts.append(f"<item><title>entry {n}</title>")
            if "embedded" in entry:
                parts.append(_strip_declaration(entry["embedded"]))
            else:
                link = f"{self.url}{entry['path']}"
                parts.append(f"<link>{escape(link)}</link>")
            parts.append("</item>")
        parts.append("</channel></rss>")
        return "".join(parts).encode()


def _strip_declaration(document: bytes) -> str:
    text = document.decode()
    return text.split("?>", 1)[1] if text.lstrip().startswith("<?xml") else text


async def _respond(send: Any, status: int, body: bytes, content_type: str, *, etag: str | None = None) -> None:
    headers = [(b"content-type", content_type.encode())]
    if etag is not None:
        headers.append((b"etag", etag.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
