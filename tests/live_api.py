"""``safecity api`` as a process of its own, on a database of its own, for tests that need the real server."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import httpx

from tests.conftest import JWT_SECRET
from tests.database import TestServer


class LiveApi(NamedTuple):
    host: str
    port: int
    env: dict[str, str]  # the server's environment, for CLI commands against the same database

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def cli(self, *args: str) -> str:
        """Run ``safecity …`` against the server's database and settings; its stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "api.cli", *args], env=self.env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()


@contextmanager
def live_api(pg_server: TestServer, var_dir: Path, **settings: str) -> Iterator[LiveApi]:
    """The API running with these settings (environment variables) until the block ends; then its database goes."""
    url = asyncio.run(pg_server.create())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORT": str(port),
        "JWT_SECRET": JWT_SECRET,
        "SAFECITY_VAR_DIR": str(var_dir),
        "RASA_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        **settings,
    }
    api = LiveApi("127.0.0.1", port, env)
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "api"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{api.base_url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
            time.sleep(0.2)
        yield api
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        asyncio.run(pg_server.drop(urlsplit(url).path.lstrip("/")))
