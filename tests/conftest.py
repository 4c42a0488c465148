"""Shared fixtures: a real PostgreSQL, a fresh database per test, and an HTTP client on the real app."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient, TestClient

from api.app import create_app
from api.platform.auth.tokens import Principal, Role, Scope, TokenIssuer
from api.platform.db.pool import create_pool
from api.platform.settings import PROJECT_ROOT, AuthSettings, DatabaseSettings, PathSettings, RasaSettings, Settings
from tests.database import TestServer

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
MIGRATIONS = PROJECT_ROOT / "migrations"
JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: real public data. Skipped on a newcomer's machine without it; a failure in CI."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {SHARED_DATA} is missing: the shared data must sit beside the checkout")
        pytest.skip(f"{SHARED_DATA} is not here (it sits beside the checkout on the project's machines)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TestServer]:
    server = TestServer()
    asyncio.run(server.create_template(MIGRATIONS))
    yield server
    server.stop()


@pytest.fixture
async def database_url(pg_server: TestServer) -> AsyncIterator[str]:
    """A database of its own for each test, copied from the migrated template and dropped afterwards."""
    url = await pg_server.create()
    yield url
    await pg_server.drop(urlsplit(url).path.lstrip("/"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        paths=PathSettings(var_dir=str(tmp_path / "var"), migrations_dir=str(MIGRATIONS)),
        db=DatabaseSettings(url=database_url, pool_max=5),
        auth=AuthSettings(jwt_secret=JWT_SECRET),
        # Never the developer's running bot: the chat tests point RASA_URL at their own servers.
        rasa=RasaSettings(enabled="false"),
    )


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the test's database, on the test's own event loop (the app's pool lives on the client's)."""
    pool = await create_pool(settings.db)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=app, base_url="http://safecity.test") as client:
        yield client


@pytest.fixture
def token_for(settings: Settings) -> Callable[..., str]:
    """Mint a staff or service token as ``safecity token`` does."""
    issuer = TokenIssuer(settings)

    def mint(
        role: Role,
        *,
        districts: tuple[str, ...] = (),
        subject: str | None = None,
        ttl_s: int = 3600,
        scopes: tuple[Scope, ...] = (),
        senders: tuple[str, ...] = (),
    ) -> str:
        principal = Principal(
            subject=subject or f"{role.value}:test",
            role=role,
            districts=districts,
            scopes=scopes,
            cap_senders=senders,
        )
        return issuer.issue(principal, ttl_s=ttl_s)

    return mint


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_in(client: AsyncTestClient, phone: str) -> str:
    """A citizen's real sign-in: ask for a code, read it from the SMS waiting in the outbox, exchange it."""
    response = await client.post("/v1/auth/otp", json={"phone": phone})
    assert response.status_code == 202, response.text
    code = await last_code(client.app)
    response = await client.post("/v1/auth/token", json={"phone": phone, "code": code})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def outbox_sms(app: Litestar) -> list[asyncpg.Record]:
    """The SMS enqueued so far, oldest first: what the dispatcher will send."""
    # Its own connection: the app's pool lives on the test client's event loop.
    conn = await asyncpg.connect(app.state.settings.db.url)
    try:
        return await conn.fetch("SELECT recipient, body, template, state FROM outbox WHERE channel = 'sms' ORDER BY id")
    finally:
        await conn.close()


async def last_code(app: Litestar) -> str:
    body = (await outbox_sms(app))[-1]["body"]
    return next(word for word in body.split() if word.isdigit() and len(word) == 6)


def problem(response) -> dict:  # type: ignore[no-untyped-def]
    """The problem+json body of an error response, checking its media type."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = msgspec.json.decode(response.content)
    assert body["status"] == response.status_code
    assert body["detail"]
    return body


@pytest.fixture
def client_sync(app: Litestar) -> Iterator[TestClient]:
    """A blocking client, for tests that also run blocking subprocesses."""
    with TestClient(app=app, base_url="http://safecity.test") as client:
        yield client
