"""The asyncpg pool and the one-connection-per-request dependency."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import asyncpg
import msgspec
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.types import Scope

from api.platform.settings import DatabaseSettings

# How routes ask for the request's connection: ``db: Db``.
Db = NamedDependency[asyncpg.Connection]

# Where a request-wide connection is kept when a middleware (idempotency) already holds one.
REQUEST_CONNECTION = "safecity.db_connection"


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind,
            encoder=lambda v: msgspec.json.encode(v).decode(),
            decoder=msgspec.json.decode,
            schema="pg_catalog",
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL): a round trip on
    every release, for session state that nothing leaves on a pooled connection.

    asyncpg still rolls back a transaction left open and drops listeners' callbacks before this is called. What
    needs session state takes a connection of its own (the migrations' advisory lock, the dispatcher's LISTEN);
    settings are ``SET LOCAL``/``set_config(…, true)``, and cursors live inside transactions.
    ``tests/api/test_pool_session.py`` holds the code to that.
    """


async def create_pool(settings: DatabaseSettings) -> asyncpg.Pool:
    """A pool that opens connections lazily, so the API starts (and ``/ready`` says 503) while the database is down."""
    if not settings.url:
        raise RuntimeError(
            "DATABASE_URL is unset: start the API with `safecity api` or `safecity run`, "
            "which start the embedded PostgreSQL, or set DATABASE_URL"
        )
    return await asyncpg.create_pool(
        settings.url,
        min_size=settings.pool_min,
        max_size=settings.pool_max,
        command_timeout=settings.command_timeout,
        timeout=settings.connect_timeout,
        init=_init_connection,
        reset=_keep_session,
    )


async def provide_connection(state: State, scope: Scope) -> AsyncGenerator[asyncpg.Connection, None]:
    """One pooled connection for the whole request (reusing the one a middleware already opened)."""
    held = scope.get("state", {}).get(REQUEST_CONNECTION)
    if held is not None:
        yield held
        return
    async with state.pool.acquire(timeout=state.settings.db.connect_timeout) as conn:
        yield conn
