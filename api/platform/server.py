"""How uvicorn serves the API: its options from the settings, and a protocol that bounds what a client may hold.

uvicorn's keep-alive timeout starts only after a response, and its httptools parser keeps headers of any size:
a connection that never finishes its headers (or never sends any) is held forever, and its headers grow
without bound. ``GuardedHttpToolsProtocol`` gives every request's headers a deadline, counted from the
connection or the previous response, and a size limit. The body's own deadline is the app's
(``api.platform.http``), which can answer it as problem+json.
"""

from __future__ import annotations

import asyncio
import functools
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.platform.settings import HttpSettings

PROTOCOL = "api.platform.server:GuardedHttpToolsProtocol"


def uvicorn_options(http: HttpSettings) -> dict[str, Any]:
    """The uvicorn settings that bound connections, for ``uvicorn.run``."""
    return {
        # By name, so that each worker process (spawned when there are several) imports it afresh.
        "http": PROTOCOL,
        "timeout_keep_alive": http.keep_alive_s,
        "h11_max_incomplete_event_size": http.max_header_bytes,  # the same limit, should h11 ever be used
        "limit_concurrency": http.limit_concurrency or None,
    }


@functools.cache
def _limits() -> HttpSettings:
    # uvicorn builds the protocol from its own Config alone, and the worker processes it spawns get the
    # environment but not our objects: so the protocol reads its two settings from the environment, once.
    return HttpSettings.from_env(os.environ)


class _HeadersTooLarge(Exception):
    pass


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size limit for each request's headers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = _limits()
        self.header_timeout_s = limits.header_timeout_s
        self.max_header_bytes = limits.max_header_bytes
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._started = False  # bytes of a request arrived whose headers are not complete yet
        self._too_large = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._started = True

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._cancel_header_deadline()
        self._started = False
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Unless a pipelined request is already under way, the next request's headers have their deadline.
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm_header_deadline()

    def send_400_response(self, msg: str) -> None:
        # The parser stops on our exception and uvicorn answers every parser error 400; this one is 431.
        if self._too_large:
            self._refuse(b"431 Request Header Fields Too Large", f"Headers over {self.max_header_bytes} bytes.")
        else:
            super().send_400_response(msg)

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes:
            self._too_large = True
            raise _HeadersTooLarge

    def _arm_header_deadline(self) -> None:
        self._cancel_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        if self._started:  # a client that began a request is told why; one that said nothing is just let go
            self._refuse(b"408 Request Timeout", f"The request headers took longer than {self.header_timeout_s:g} s.")
        else:
            self.transport.close()

    def _refuse(self, status: bytes, message: str) -> None:
        body = message.encode()
        self.transport.write(
            b"HTTP/1.1 %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, len(body), body)
        )
        self.transport.close()
