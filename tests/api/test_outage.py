"""While the database is away the API answers 503 problem+json with Retry-After, never 500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.platform.auth.tokens import Principal, Role, TokenIssuer
from api.platform.db.pool import Db, create_pool, provide_connection
from api.platform.errors import EXCEPTION_HANDLERS
from api.platform.settings import AuthSettings, DatabaseSettings, PathSettings, RasaSettings, Settings
from tests.conftest import JWT_SECRET, bearer, problem


def unavailable(response) -> dict:  # type: ignore[no-untyped-def]
    body = problem(response)
    assert response.status_code == 503, response.text
    assert body["code"] == "database_unavailable"
    assert int(response.headers["retry-after"]) > 0
    return body


@pytest.fixture
async def down(tmp_path: Path) -> AsyncIterator[AsyncTestClient]:
    """The app with its database nowhere to be found: nothing listens on port 1."""
    settings = Settings(
        paths=PathSettings(var_dir=str(tmp_path / "var")),
        db=DatabaseSettings(url="postgresql://safecity@127.0.0.1:1/safecity", connect_timeout=5),
        auth=AuthSettings(jwt_secret=JWT_SECRET),
        rasa=RasaSettings(enabled="false"),
    )
    async with AsyncTestClient(app=create_app(settings), base_url="http://safecity.test") as client:
        yield client


def citizen_token(client: AsyncTestClient) -> dict[str, str]:
    issuer: TokenIssuer = client.app.state.tokens
    return bearer(issuer.issue(Principal(subject="citizen:1", role=Role.citizen, phone="+821012345678"), ttl_s=600))


async def test_public_and_signed_in_routes_say_503_while_the_pool_cannot_connect(down):
    unavailable(await down.get("/v1/shelters/nearest", params={"lat": 37.5663, "lon": 126.9779, "hazard": "heat_wave"}))
    unavailable(await down.post("/v1/auth/otp", json={"phone": "010-1234-5678"}))
    unavailable(await down.get("/v1/me", headers=citizen_token(down)))


async def test_an_idempotent_route_says_503_too(down):
    headers = {**citizen_token(down), "Idempotency-Key": "checkin-1"}
    unavailable(await down.post("/v1/care/checkins", headers=headers))


@pytest.fixture
async def dropping(database_url: str) -> AsyncIterator[AsyncTestClient]:
    """A small app on the platform's pool whose routes lose their connection, or fail in other ways."""

    @get("/drop")
    async def drop(db: Db) -> int:
        # The server ends this very connection under the request, as a restart or a failover does.
        await db.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return await db.fetchval("SELECT 1")

    @get("/file")
    async def file() -> bytes:
        # An OSError that is ours, not the database's.
        return await asyncio.to_thread(Path("/nonexistent/photo.jpg").read_bytes)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        app.state.pool = await create_pool(DatabaseSettings(url=database_url))
        try:
            yield
        finally:
            await app.state.pool.close()

    app = Litestar(
        route_handlers=[drop, file],
        dependencies={"db": Provide(provide_connection)},
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        state=State({"settings": Settings()}),
    )
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_a_connection_dropped_mid_request_says_503(dropping):
    unavailable(await dropping.get("/drop"))


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError("connection is closed"),
    ],
)
async def test_each_way_the_server_can_be_away_says_503(error):
    @get("/")
    async def fails() -> None:
        raise error

    async with AsyncTestClient(app=Litestar([fails], exception_handlers=EXCEPTION_HANDLERS)) as client:
        unavailable(await client.get("/"))


async def test_an_os_error_that_is_not_the_database_stays_a_500(dropping):
    response = await dropping.get("/file")
    assert response.status_code == 500
    assert "retry-after" not in response.headers
