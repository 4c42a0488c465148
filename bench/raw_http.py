"""A lean HTTP/1.1 client for the load generator: kept-alive connections, the request written as bytes, the answer
read by its status line and Content-Length.

httpx costs the generator about 5.6 ms of CPU a request at 500 a second on two cores (bench.ceilings, 2026-12-07),
more than the API and PostgreSQL together: the generator, not the server, then took the machine. This one does
only what a benchmark's requests need (no redirects, cookies, chunked bodies or TLS), so that what is measured is
the server.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class ServerClosed(Exception):
    pass


class RawClient:
    """At most ``connections`` kept-alive connections to one ``http://host:port``, one request on each at a time."""

    def __init__(self, base: str, *, connections: int, timeout_s: float = 10.0) -> None:
        parts = urlsplit(base)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout_s = timeout_s
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._gate = asyncio.Semaphore(connections)
        self._host_header = f"{self.host}:{self.port}".encode()

    async def request(self, method: str, target: str, headers: dict[str, str]) -> int:
        """The status of ``method target`` with these headers and no body; a connection that fails is dropped."""
        lines = [f"{method} {target} HTTP/1.1".encode(), b"Host: " + self._host_header, b"Content-Length: 0"]
        lines += [f"{k}: {v}".encode("latin-1") for k, v in headers.items()]
        data = b"\r\n".join(lines) + b"\r\n\r\n"
        async with self._gate:
            reused = bool(self._idle)
            conn = self._idle.pop() if reused else await asyncio.open_connection(self.host, self.port)
            try:
                status, keep = await asyncio.wait_for(self._exchange(conn, data), self.timeout_s)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                conn[1].close()
                if not reused or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                    raise
                # A kept-alive connection the server had closed while it sat idle (its keep-alive or header
                # deadline): the request never reached it, so it goes again on a new one, as HTTP clients do.
                conn = await asyncio.open_connection(self.host, self.port)
                try:
                    status, keep = await asyncio.wait_for(self._exchange(conn, data), self.timeout_s)
                except BaseException:
                    conn[1].close()
                    raise
            except BaseException:
                conn[1].close()
                raise
            if keep:
                self._idle.append(conn)
            else:
                conn[1].close()
            return status

    async def _exchange(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], data: bytes) -> tuple[int, bool]:
        reader, writer = conn
        writer.write(data)
        head = await reader.readuntil(b"\r\n\r\n")
        if not head:
            raise ServerClosed
        status_line, _, rest = head.partition(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length, keep = 0, True
        for line in rest.split(b"\r\n"):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                keep = False
        if length:
            await reader.readexactly(length)
        return status, keep

    async def aclose(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()
