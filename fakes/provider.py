"""What the fake providers share: a lock, the down and delay controls, the common control commands, serving."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fakes.server import BackgroundServer

Observer = Callable[[str], Awaitable[None]]


class FakeProvider:
    """Base of a fake provider; a subclass implements ``_handle`` (ASGI), ``reset`` and ``_control``."""

    def __init__(self) -> None:
        self.url: str | None = None
        self._lock = threading.Lock()
        self._down = False
        self._delay = 0.0
        self._observer: Observer | None = None

        # A plain coroutine function, not a bound method: uvicorn would take a bound method for an ASGI2 app.
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            await self._handle(scope, receive, send)

        self.app = app

    async def _handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise NotImplementedError

    def down(self, down: bool = True) -> None:
        """While down, every provider request gets a 503."""
        with self._lock:
            self._down = down

    def delay(self, seconds: float) -> None:
        """Wait this long before answering each provider request."""
        with self._lock:
            self._delay = seconds

    def observe(self, observer: Observer | None) -> None:
        """Await ``observer(path)`` on each provider request before answering it (None stops).

        It runs in the server's thread and event loop while the caller waits for its answer, so a test can look
        at what the caller holds meanwhile (its database sessions, what it has written so far).
        """
        with self._lock:
            self._observer = observer

    async def _observed(self, path: str) -> None:
        with self._lock:
            observer = self._observer
        if observer is not None:
            await observer(path)

    def reset(self) -> None:
        """Forget what was recorded and every failure set up (subclasses extend this, under the lock)."""
        with self._lock:
            self._clear_controls()

    def _clear_controls(self) -> None:
        self._down = False
        self._delay = 0.0
        self._observer = None

    def control(self, command: Mapping[str, Any]) -> None:
        """Apply a ``POST /_fake/control`` body: ``reset`` first, then the fake's own commands, ``down``, ``delay``."""
        if command.get("reset"):
            self.reset()
        self._control(command)
        if "down" in command:
            self.down(bool(command["down"]))
        if "delay" in command:
            self.delay(float(command["delay"]))

    def _control(self, command: Mapping[str, Any]) -> None:
        """The fake's own commands (failures to set up)."""

    def serve(self) -> BackgroundServer:
        """A server for the fake on a free port; start it (or use it as a context manager). Sets ``url``."""
        server = BackgroundServer(self.app)
        self.url = server.url
        return server


async def read_body(receive: Any) -> bytes:
    """The whole body of an ASGI request."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)
