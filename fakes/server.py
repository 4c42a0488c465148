"""Run an ASGI app (a fake provider) on a free local port in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn
from litestar.types import ASGIApp


class BackgroundServer:
    """A uvicorn server on 127.0.0.1 in its own thread and event loop; ``url`` once started."""

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, lifespan: str = "off") -> None:
        # IPPROTO_TCP, so asyncio sets TCP_NODELAY: uvicorn writes headers and body apart, and Nagle would
        # hold every reused-connection response back ~40 ms.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        # "on" for an app that opens its database pool at start-up (the API itself, for browser tests).
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan=lifespan, loop="asyncio")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"fake-server-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def start(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"fake server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
