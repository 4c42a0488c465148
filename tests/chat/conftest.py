"""Chat fixtures: signed Twilio webhooks, an enrolled person, and Rasa down (by default), slow or faked."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import msgspec
import pytest
from twilio.request_validator import RequestValidator

from api.cli import chatbot
from api.platform.auth.tokens import Role, Scope
from api.platform.db.embedded import drop_database
from api.platform.settings import (
    PROJECT_ROOT,
    AuthSettings,
    HttpSettings,
    NotifySettings,
    RasaSettings,
    Settings,
    TwilioSettings,
)
from fakes.rasa import FakeRasa, closed_port_url
from fakes.server import BackgroundServer
from tests.api.test_supervisor import free_port
from tests.conftest import JWT_SECRET, bearer
from tests.database import TestServer as PgServer

TWILIO_TOKEN = "chat-test-twilio-token"
PUBLIC_URL = "http://safecity.test"
PERSON = "+821024681357"  # enrolled in care in district 11110
TRACKER_DB = "safecity_rasa_test"
_sids = itertools.count(1)


@pytest.fixture
def rasa_url(request: pytest.FixtureRequest) -> str:
    """Where the API finds Rasa: nowhere (down), or ``@pytest.mark.rasa("fake")`` / ``("slow")``."""
    marker = request.node.get_closest_marker("rasa")
    kind = marker.args[0] if marker else "down"
    if kind == "down":
        return closed_port_url()
    return request.getfixturevalue(f"{kind}_rasa").url


@pytest.fixture
def settings(settings: Settings, rasa_url: str) -> Settings:
    return msgspec.structs.replace(
        settings,
        twilio=TwilioSettings(auth_token=TWILIO_TOKEN),
        notify=NotifySettings(public_url=PUBLIC_URL),
        rasa=RasaSettings(url=rasa_url, enabled="true", timeout_s=1.0),
    )


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    """A Rasa that answers at once, echoing."""
    fake = FakeRasa()
    with BackgroundServer(fake) as server:
        fake.url = server.url
        yield fake


@pytest.fixture
def slow_rasa() -> Iterator[FakeRasa]:
    """A Rasa that answers only after the API's timeout (1 s) has passed."""
    fake = FakeRasa(delay_s=3.0)
    with BackgroundServer(fake) as server:
        fake.url = server.url
        yield fake


@pytest.fixture
def service(token_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return bearer(token_for(Role.service, subject="service:actions", scopes=(Scope.chatbot,)))


@pytest.fixture
def worker(token_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return bearer(token_for(Role.social_worker, districts=("11110",)))


async def enrol(client, worker, *, phone: str = PERSON, language: str = "ko", home: bool = False) -> dict:  # type: ignore[no-untyped-def]
    body = {
        "name": "박영희",
        "phone": phone,
        "language": language,
        "district": "11110",
        "address": "서울 종로구 삼일대로 1",
        "guardians": [{"name": "박철수", "phone": "010-1357-2468", "relation": "아들"}],
        "plan": {"times": ["09:00", "19:00"], "window_minutes": 120},
    }
    if home:
        body["home"] = {"lat": 37.5740, "lon": 126.9850}
    response = await client.post("/v1/care/recipients", json=body, headers=worker)
    assert response.status_code == 201, response.text
    return response.json()


def signed(path: str, params: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + path, params)}


async def text_us(client, body: str, *, phone: str = PERSON, sid: str | None = None):  # type: ignore[no-untyped-def]
    params = {"MessageSid": sid or f"SM{next(_sids):032x}", "From": phone, "To": "+15005550006", "Body": body}
    return await client.post("/webhooks/twilio/sms", data=params, headers=signed("/webhooks/twilio/sms", params))


async def fetch(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    """Rows from the test's database on a connection of our own (the app's pool lives on the client's loop)."""
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


@pytest.fixture
def talking(settings: Settings):  # type: ignore[no-untyped-def]
    """``await talking(sender, …)``: these senders said something to the bot just now.

    For tests of the bot's endpoints alone; the app's chat and the SMS hand-off record it themselves
    (test_bot_scope.py shows they do).
    """

    async def record(*senders: str, ago: timedelta = timedelta(0)) -> None:
        conn = await asyncpg.connect(settings.db.url)
        try:
            await conn.executemany(
                "INSERT INTO chat_conversations (sender, last_seen_at) VALUES ($1, now() - $2::interval) "
                "ON CONFLICT (sender) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at",
                [(sender, ago) for sender in senders],
            )
        finally:
            await conn.close()

    return record


@dataclass
class Chatbot:
    rasa_url: str
    api_port: int
    log: Path


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chatbot_servers(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chatbot]:
    """Rasa and the action server for the whole session, started as `safecity run` starts them."""
    if not chatbot.RASA.exists():
        _unavailable("bot/.venv is not built (`make bot`): the conversation tests need the real Rasa")
    for target in ("bot", "bot-model"):
        done = subprocess.run(["make", "-s", target], cwd=PROJECT_ROOT, capture_output=True, text=True)
        assert done.returncode == 0, f"make {target} failed:\n{done.stdout}\n{done.stderr}"
    rasa_port, actions_port, api_port = free_port(), free_port(), free_port()
    settings = Settings(
        auth=AuthSettings(jwt_secret=JWT_SECRET),
        http=HttpSettings(port=api_port),
        rasa=RasaSettings(
            url=f"http://127.0.0.1:{rasa_port}", actions_port=actions_port, enabled="true", tracker_db=TRACKER_DB
        ),
    )
    reason = chatbot.off_because(settings)
    if reason:
        _unavailable(f"the chatbot cannot start: {reason}")
    asyncio.run(drop_database(pg_server.url, TRACKER_DB))  # every session's conversations start afresh
    specs = asyncio.run(chatbot.processes(settings, database_url=pg_server.url))
    log = tmp_path_factory.mktemp("chatbot") / "chatbot.log"
    procs = []
    with log.open("ab") as out:
        for _, argv, env in specs:
            procs.append(
                subprocess.Popen(
                    argv, cwd=PROJECT_ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
                )
            )
    try:
        # Rasa's imports alone take minutes on a busy machine; a start that fails says so at once anyway.
        chatbot.wait_up(f"http://127.0.0.1:{actions_port}/health", procs, log, timeout_s=600)
        chatbot.wait_up(f"http://127.0.0.1:{rasa_port}/webhooks/rest/", procs, log, timeout_s=600)
        yield Chatbot(rasa_url=f"http://127.0.0.1:{rasa_port}", api_port=api_port, log=log)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", 'rasa(kind): where the API finds Rasa: "down" (the default), "fake" or "slow"')
