"""Wrong passwords slow down their source, never the account: backoff, known sources, the owner told, unlocks.

Each client here comes from its own address, as uvicorn gives it to the app in ``request.client``; one test
goes through uvicorn's proxy-headers middleware, as a deployment behind a proxy does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from litestar.testing.transport import TestClientTransport as _Transport
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.console.lockout import retry_at
from api.platform.settings import ConsoleSettings
from tests.conftest import JWT_SECRET
from tests.console.conftest import PASSWORD, csrf_of, sign_in

KIM = "kim@seoul.go.kr"
OFFICE, ATTACKER, HOME = "10.20.30.40", "203.0.113.9", "198.51.100.7"


class _From(_Transport, httpx.AsyncBaseTransport):  # type: ignore[type-arg]
    """The test client's transport, on its event loop, with the peer address chosen and the app maybe wrapped."""

    def __init__(self, client: AsyncTestClient, address: str, app: Any) -> None:
        super().__init__(client=SimpleNamespace(app=app, portal=client.portal))  # type: ignore[arg-type]
        self.address = address

    def parse_request(self, request: httpx.Request) -> dict[str, Any]:
        scope = super().parse_request(request)
        scope["client"] = (self.address, 50000)
        return scope


@pytest.fixture
def source(client: AsyncTestClient) -> Callable[..., Any]:
    """A browser at an address (the ``client`` fixture keeps the app running); ``via`` wraps the app first."""

    @asynccontextmanager
    async def at(address: str, via: Callable[[Any], Any] | None = None) -> AsyncIterator[httpx.AsyncClient]:
        transport = _From(client, address, via(client.app) if via else client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://safecity.test") as browser:
            yield browser

    return at


async def fail(browser: httpx.AsyncClient, times: int, email: str = KIM) -> None:
    for _ in range(times):
        assert (await sign_in(browser, email, "guess guess guess")).status_code == 401  # type: ignore[arg-type]


def retry_after(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    return int(response.headers["retry-after"])


async def test_an_attacker_waits_while_the_owner_signs_in_from_a_known_source_or_a_new_one(source, make_staff, pool):
    await make_staff(KIM)
    async with source(OFFICE) as office, source(ATTACKER) as attacker, source(HOME) as home:
        assert (await sign_in(office, KIM)).status_code == 303  # the office is now a known source
        await fail(attacker, 5)
        # Even the right password is not checked while the attacker's source waits.
        assert retry_after(await sign_in(attacker, KIM, PASSWORD)) in (1, 2)
        assert (await sign_in(office, KIM)).status_code == 303
        # The account is not locked: a source that did nothing wrong signs in too.
        assert (await sign_in(home, KIM)).status_code == 303
        # And the owner's sign-ins let the attacker off nothing.
        assert retry_after(await sign_in(attacker, KIM, "guess guess guess")) in (1, 2)
    assert await pool.fetchval("SELECT count(*) FROM console_sign_in_failures") == 5
    # No address is stored, only a keyed hash of it.
    stored = await pool.fetch(
        "SELECT source FROM console_sign_in_failures UNION SELECT source FROM console_known_sources"
    )
    assert all(len(r["source"]) == 32 and ATTACKER.encode() not in r["source"] for r in stored)


async def test_a_known_source_signs_in_with_the_right_password_even_while_it_waits(source, make_staff):
    await make_staff(KIM)
    async with source(OFFICE) as office:
        assert (await sign_in(office, KIM)).status_code == 303
        await fail(office, 7)  # the owner's own typos, or someone at the same office
        assert (await sign_in(office, KIM)).status_code == 303


async def test_each_further_failure_doubles_the_wait(source, make_staff, pool):
    await make_staff(KIM)
    async with source(ATTACKER) as attacker:
        await fail(attacker, 5)
        for expected in (2, 4, 8, 16):
            # The wait is counted from the last failure; 1 s of slack for a slow machine.
            assert expected - 1 <= retry_after(await sign_in(attacker, KIM, PASSWORD)) <= expected
            await pool.execute("UPDATE console_sign_in_failures SET at = at - make_interval(secs => $1)", expected)
            await fail(attacker, 1)
    # Only the tries it was allowed to make were counted.
    assert await pool.fetchval("SELECT count(*) FROM console_sign_in_failures") == 9


def test_the_wait_is_capped_and_a_source_spraying_accounts_waits_for_all():
    settings = ConsoleSettings()
    last = datetime(2026, 12, 1, tzinfo=UTC)
    counts = {"pair_failures": 40, "pair_last": last, "source_failures": 40, "source_last": last}
    assert retry_at(counts, settings) == last + timedelta(seconds=settings.lockout_max_wait_s)
    spread = {"pair_failures": 1, "pair_last": last, "source_failures": 20, "source_last": last}
    assert retry_at(spread, settings) == last + timedelta(seconds=2)
    fresh = {"pair_failures": 4, "pair_last": last, "source_failures": 19, "source_last": last}
    assert retry_at(fresh, settings) is None


async def test_one_password_tried_on_many_accounts_makes_the_source_wait_for_every_account(source, make_staff):
    await make_staff(KIM)
    async with source(ATTACKER) as attacker:
        for n in range(5):
            await fail(attacker, 4, email=f"worker{n}@seoul.go.kr")  # 4 each: under the limit per account
        assert retry_after(await sign_in(attacker, KIM, PASSWORD)) in (1, 2)


async def test_behind_a_trusted_proxy_the_forwarded_address_is_the_source_and_others_cannot_claim_one(
    source, make_staff
):
    await make_staff(KIM)

    def proxied(app: Any) -> Any:
        return ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")

    async with source("127.0.0.1", via=proxied) as proxy, source(ATTACKER, via=proxied) as direct:
        proxy.headers["x-forwarded-for"] = ATTACKER
        await fail(proxy, 5)
        assert retry_after(await sign_in(proxy, KIM, PASSWORD)) in (1, 2)
        proxy.headers["x-forwarded-for"] = HOME
        assert (await sign_in(proxy, KIM)).status_code == 303
        # A client that is no trusted proxy cannot pose as the owner's address: its own address counts.
        direct.headers["x-forwarded-for"] = HOME
        assert (await sign_in(direct, KIM, PASSWORD)).status_code == 429


async def test_the_owner_is_told_at_their_next_sign_in_until_they_have_read_it(source, make_staff, pool):
    await make_staff(KIM)
    async with source(ATTACKER) as attacker, source(OFFICE) as office:
        await fail(attacker, 5)
        await fail(attacker, 5, email="nobody@seoul.go.kr")  # no account, no one to tell
        assert await pool.fetchval("SELECT count(*) FROM console_security_notices") == 1

        signed_in = await sign_in(office, KIM)
        assert signed_in.headers["location"] == "/console/security?next=/console/queue"
        notices = await office.get("/console/security?next=/console/queue")
        assert "로그인한 적 없는 주소" in notices.text and "5번 틀렸습니다" in notices.text
        banner = await office.get("/console/queue")
        assert "보안 알림 1건을 확인하세요" in banner.text

        read = await office.post(
            "/console/security/seen", data={"csrf": csrf_of(notices.text), "next": "/console/queue"}
        )
        assert read.status_code == 303 and read.headers["location"] == "/console/queue"
        assert "보안 알림" not in (await office.get("/console/queue")).text
        assert (await sign_in(office, KIM)).headers["location"] == "/console/queue"


async def test_an_operator_unlocks_a_source_in_the_console_and_the_owner_hears_of_it(source, make_staff, pool):
    await make_staff(KIM)
    await make_staff("park@seoul.go.kr", role="operator")
    async with source(ATTACKER) as attacker, source(OFFICE) as ops, source(HOME) as worker:
        await fail(attacker, 5)
        assert (await sign_in(ops, "park@seoul.go.kr")).status_code == 303
        page = await ops.get("/console/operators")
        assert page.status_code == 200 and KIM in page.text and 'id="sign-in-waits"' in page.text
        hashed = await pool.fetchval("SELECT DISTINCT source FROM console_sign_in_failures")
        assert hashed.hex()[:8] in page.text

        unlocked = await ops.post(
            "/console/operators/unlock", data={"csrf": csrf_of(page.text), "source": hashed.hex(), "email": KIM}
        )
        assert unlocked.status_code == 303
        assert "로그인 대기를 해제했습니다" in (await ops.get(unlocked.headers["location"])).text
        assert (await sign_in(attacker, KIM, "guess guess guess")).status_code == 401  # may try again
        assert await pool.fetchval("SELECT actor FROM console_security_notices WHERE kind = 'unlocked'") == "park"

        # Bad input is said on the page; a social worker may not unlock.
        bad = await ops.post("/console/operators/unlock", data={"csrf": csrf_of(page.text), "source": "zz"})
        assert bad.status_code == 400 and "not a sign-in source from the list" in bad.text
        unknown = await ops.post("/console/operators/unlock", data={"csrf": csrf_of(page.text), "email": "x@y.kr"})
        assert unknown.status_code == 404 and "There is no staff account x@y.kr" in unknown.text
        assert (await sign_in(worker, KIM)).status_code == 303
        queue = await worker.get("/console/queue")
        refused = await worker.post("/console/operators/unlock", data={"csrf": csrf_of(queue.text), "email": KIM})
        assert refused.status_code == 403


def test_safecity_staff_unlock_frees_an_account_from_every_source(database_url, tmp_path):
    import asyncio

    import asyncpg

    async def prepare() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("INSERT INTO staff (email, name, role) VALUES ($1, 'kim', 'social_worker')", KIM)
            await conn.execute(
                """
                INSERT INTO console_sign_in_failures (email, source, at)
                SELECT $1, console_source(a), now() FROM unnest($2::text[]) a, generate_series(1, 6)
                """,
                KIM,
                [ATTACKER, HOME],
            )
        finally:
            await conn.close()

    async def left() -> tuple[int, int]:
        conn = await asyncpg.connect(database_url)
        try:
            failures = await conn.fetchval("SELECT count(*) FROM console_sign_in_failures")
            told = await conn.fetchval("SELECT count(*) FROM console_security_notices WHERE kind = 'unlocked'")
            return failures, told
        finally:
            await conn.close()

    asyncio.run(prepare())
    env = {**os.environ, "DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET, "SAFECITY_VAR_DIR": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "api.cli", "staff", "unlock", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    done = run("Kim@Seoul.go.kr")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{KIM}: unlocked"
    assert asyncio.run(left()) == (0, 1)
    missing = run("nobody@seoul.go.kr")
    assert missing.returncode == 1 and "There is no staff account nobody@seoul.go.kr" in missing.stderr
