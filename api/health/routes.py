"""``/health``: the process answers. ``/ready``: the database answers and every migration is applied."""

from __future__ import annotations

import asyncio

import asyncpg
from litestar import Request, get

from api.platform.auth.guards import PUBLIC
from api.platform.db.migrations import schema_status
from api.platform.errors import Unavailable
from api.platform.types import Output


class Health(Output, frozen=True):
    status: str


class Readiness(Output, frozen=True):
    status: str
    database: str
    migrations_applied: int


@get("/health", opt=PUBLIC, tags=["health"])
async def health() -> Health:
    """The process is alive."""
    return Health(status="ok")


@get("/ready", opt=PUBLIC, tags=["health"])
async def ready(request: Request) -> Readiness:
    """Ready to serve: the database is reachable and its schema is current (503 otherwise)."""
    migrations = request.app.state.migrations
    try:
        async with asyncio.timeout(3):
            async with request.app.state.pool.acquire() as conn:
                schema = await schema_status(conn, migrations)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise Unavailable(f"The database is not reachable: {type(exc).__name__}.", code="database_unreachable") from exc
    if schema.pending:
        raise Unavailable(
            "The database schema is behind: run `safecity migrate`.",
            code="migrations_pending",
            pending=[m.filename for m in schema.pending],
        )
    if schema.changed:
        raise Unavailable(
            "Applied migrations no longer match their files; migrations are forward-only.",
            code="migrations_changed",
            changed=[m.filename for m in schema.changed],
        )
    return Readiness(status="ready", database="ok", migrations_applied=len(migrations))
