"""Two real Rasa servers (and their action servers) sharing one tracker store and one lock store.

Started as ``safecity run --rasa 2`` starts them (api/cli/chatbot.py), on free ports, with the tracker store on the
test PostgreSQL. The lock store is on a database of its own here (``RASA_LOCK_STORE_URL``), so that one test can
take the lock store down while the tracker store stays up. Skipped without bot/.venv; failing in CI.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import msgspec
import pytest

from api.app import create_app
from api.chat.jobs import tracker_retention
from api.cli import chatbot
from api.platform.db.embedded import drop_database, ensure_database, with_database
from api.platform.jobs.runner import run_job
from api.platform.settings import PROJECT_ROOT, AuthSettings, HttpSettings, RasaSettings, Settings
from fakes.server import BackgroundServer
from tests.api.test_supervisor import free_port
from tests.conftest import JWT_SECRET, bearer, sign_in
from tests.database import TestServer as PgServer

TRACKER_DB = "safecity_rasa_two_test"
LOCK_DB = "safecity_rasa_locks_test"
_phones = itertools.count(1000)


@dataclass
class TwoRasas:
    urls: list[str]
    api_port: int
    tracker_url: str
    lock_url: str


def consecutive_free_ports(n: int) -> int:
    """The first of ``n`` consecutive ports nothing listens on now."""
    while True:
        first = free_port()
        try:
            with contextlib.ExitStack() as stack:
                for port in range(first, first + n):
                    stack.enter_context(socket.socket()).bind(("127.0.0.1", port))
            return first
        except OSError:
            continue


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def two_rasas(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoRasas]:
    if not chatbot.RASA.exists():
        _unavailable("bot/.venv is not built (`make bot`): these tests need the real Rasa")
    for target in ("bot", "bot-model"):
        done = subprocess.run(["make", "-s", target], cwd=PROJECT_ROOT, capture_output=True, text=True)
        assert done.returncode == 0, f"make {target} failed:\n{done.stdout}\n{done.stderr}"
    first, second, api_port = free_port(), free_port(), free_port()
    actions_port = consecutive_free_ports(2)  # the second action server takes the next port
    for database in (TRACKER_DB, LOCK_DB):
        asyncio.run(drop_database(pg_server.url, database))
    lock_url = asyncio.run(ensure_database(pg_server.url, LOCK_DB))
    settings = Settings(
        auth=AuthSettings(jwt_secret=JWT_SECRET),
        http=HttpSettings(port=api_port),
        rasa=RasaSettings(
            url=f"http://127.0.0.1:{first},http://127.0.0.1:{second}",
            actions_port=actions_port,
            enabled="true",
            tracker_db=TRACKER_DB,
            lock_store_url=lock_url,
            lock_wait_s=30,
        ),
    )
    specs = asyncio.run(chatbot.processes(settings, database_url=pg_server.url, servers=2))
    assert [name for name, _, _ in specs] == ["rasa-1", "actions-1", "rasa-2", "actions-2"]
    log = tmp_path_factory.mktemp("two-rasas") / "chatbot.log"
    procs = []
    with log.open("ab") as out:
        for _, argv, env in specs:
            procs.append(
                subprocess.Popen(
                    argv, cwd=PROJECT_ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
                )
            )
    try:
        for port in (actions_port, actions_port + 1):
            chatbot.wait_up(f"http://127.0.0.1:{port}/health", procs, log, timeout_s=600)
        for port in (first, second):
            # Two Rasa servers loading at once on a shared two-core machine can take many minutes.
            chatbot.wait_up(f"http://127.0.0.1:{port}/webhooks/rest/", procs, log, timeout_s=900)
        yield TwoRasas(
            urls=settings.rasa.urls(),
            api_port=api_port,
            tracker_url=with_database(pg_server.url, TRACKER_DB),
            lock_url=lock_url,
        )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def settings(settings: Settings, two_rasas: TwoRasas) -> Settings:
    rasa = RasaSettings(url=",".join(two_rasas.urls), enabled="true", timeout_s=60.0, tracker_db=TRACKER_DB)
    return msgspec.structs.replace(settings, rasa=rasa)


@pytest.fixture
async def live(settings: Settings, two_rasas: TwoRasas, pool) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        # Sender ids are citizen ids: each test's fresh database would continue the last one's conversation.
        start = 1_000_000 * next(_phones) + int(time.time()) % 1000 * 1000
        await conn.execute(f"ALTER TABLE citizens ALTER COLUMN id RESTART WITH {start}")
    with BackgroundServer(create_app(settings), port=two_rasas.api_port, lifespan="on") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
            yield http


async def tracker_turns(url: str, sender: str) -> list[tuple[str, str | None]]:
    """The user and bot events of a conversation as the tracker store keeps them, in order: (kind, text)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT type_name, data FROM events WHERE sender_id = $1 AND type_name IN ('user', 'bot') ORDER BY id",
            sender,
        )
    finally:
        await conn.close()
    return [(r["type_name"], msgspec.json.decode(r["data"]).get("text")) for r in rows]


MESSAGES = ["안녕하세요", "고마워요", "hello", "thank you", "안녕", "감사합니다", "hi there", "thanks a lot"]


async def test_concurrent_messages_of_one_conversation_on_two_servers_are_handled_one_at_a_time(
    live, client, two_rasas
):
    """Invariant: whichever server takes each message, the tracker holds every turn whole and in sequence —
    a user message, then the bot's answers to it, then the next user message — never two messages at once."""
    headers = bearer(await sign_in(client, f"010-7000-{next(_phones):04d}"))
    first = await live.post("/v1/chat", json={"message": "안녕하세요"}, headers=headers)  # the session starts
    assert first.status_code == 200 and first.json()["bot_available"], first.text
    me = (await client.get("/v1/me", headers=headers)).json()
    sender = f"citizen-{me['id']}"

    async def post(i: int, text: str) -> list[dict]:
        # Straight to the servers, alternating, all at once: the worst the API's hashing could ever send.
        async with httpx.AsyncClient(timeout=120) as http:
            response = await http.post(
                f"{two_rasas.urls[i % 2]}/webhooks/rest/webhook",
                json={"sender": sender, "message": text, "metadata": {"language": "ko", "channel": "app"}},
            )
        assert response.status_code == 200
        return response.json()

    answers = await asyncio.gather(*(post(i, text) for i, text in enumerate(MESSAGES)))
    assert all(answers), answers  # every message was answered: none failed waiting for its turn

    turns = await tracker_turns(two_rasas.tracker_url, sender)
    users = [text for kind, text in turns if kind == "user"]
    assert sorted(users) == sorted(["안녕하세요", *MESSAGES])  # every message, once
    # Each user message is followed by the bot's answers before the next user message, and the bot says exactly
    # what the server answered to that message.
    blocks: list[tuple[str, list[str]]] = []
    for kind, text in turns:
        if kind == "user":
            blocks.append((text or "", []))
        else:
            assert blocks, "the bot spoke before anyone did"
            blocks[-1][1].append(text or "")
    assert all(said for _, said in blocks), blocks
    answered = {text: [a.get("text") for a in answer] for text, answer in zip(MESSAGES, answers, strict=True)}
    for text, said in blocks[1:]:
        assert said == answered[text], (text, said, answered[text])


async def test_the_api_sends_a_conversation_to_one_server_and_moves_it_when_that_one_is_down(live, client, settings):
    from api.chat.rasa import RasaClient

    rasa = RasaClient(settings.rasa)
    orders = {sender: rasa.servers_for(sender) for sender in (f"citizen-{i}" for i in range(200))}
    await rasa.aclose()
    assert all(sorted(order) == sorted(settings.rasa.urls()) for order in orders.values())
    assert all(rasa.servers_for(sender) == order for sender, order in orders.items())  # the same every time
    firsts = [order[0] for order in orders.values()]
    assert 60 < firsts.count(settings.rasa.urls()[0]) < 140  # spread over both

    headers = bearer(await sign_in(client, f"010-7050-{next(_phones):04d}"))
    assert (await live.post("/v1/chat", json={"message": "안녕하세요"}, headers=headers)).json()["bot_available"]
    sender = f"citizen-{(await client.get('/v1/me', headers=headers)).json()['id']}"
    up = settings.rasa.urls()[1]
    while True:  # a server that is down, and first in this sender's order
        down = f"http://127.0.0.1:{free_port()}"
        failover = RasaClient(msgspec.structs.replace(settings.rasa, url=f"{down},{up}"))
        if failover.servers_for(sender)[0] == down:
            break
    try:
        texts = await failover.ask(sender=sender, text="고마워요", language="ko", channel="app")
    finally:
        await failover.aclose()
    assert texts  # answered by the next server in the sender's order


async def test_a_lock_store_outage_gets_the_apology_not_a_hang(live, client, two_rasas):
    headers = bearer(await sign_in(client, f"010-7100-{next(_phones):04d}"))
    conn = await asyncpg.connect(with_database(two_rasas.lock_url, "postgres"))
    try:
        await conn.execute(f'ALTER DATABASE "{LOCK_DB}" ALLOW_CONNECTIONS false')
        # The lock store's idle connections end too, as they would with the server that held them.
        await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", LOCK_DB)
        response = await live.post("/v1/chat", json={"message": "안녕하세요"}, headers=headers)
        texts = [await live.post("/v1/chat", json={"message": "hello"}, headers=headers) for _ in range(2)]
    finally:
        await conn.execute(f'ALTER DATABASE "{LOCK_DB}" ALLOW_CONNECTIONS true')
        await conn.close()
    for answer in (response, *texts):
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["bot_available"] is False
        assert "죄송" in body["replies"][0]["text"] or "sorry" in body["replies"][0]["text"].lower(), body
    back = await live.post("/v1/chat", json={"message": "안녕하세요"}, headers=headers)
    assert back.json()["bot_available"] is True  # and when the lock store is back, so is the bot


async def test_conversations_silent_past_the_retention_are_deleted_from_the_tracker_store(
    live, client, pool, settings, two_rasas
):
    """Invariant: a conversation is deleted whole or not at all, and only when its last event is older than the
    retention; one with any recent event keeps all of its events, old ones included."""
    old = bearer(await sign_in(client, f"010-7200-{next(_phones):04d}"))
    recent = bearer(await sign_in(client, f"010-7200-{next(_phones):04d}"))
    senders = []
    for headers in (old, recent):
        assert (await live.post("/v1/chat", json={"message": "안녕하세요"}, headers=headers)).status_code == 200
        senders.append(f"citizen-{(await client.get('/v1/me', headers=headers)).json()['id']}")
    conn = await asyncpg.connect(two_rasas.tracker_url)
    try:
        forty_days = timedelta(days=40).total_seconds()
        await conn.execute("UPDATE events SET timestamp = timestamp - $2 WHERE sender_id = $1", senders[0], forty_days)
        # The recent conversation began long ago too: only its last event counts.
        first_id = await conn.fetchval("SELECT min(id) FROM events WHERE sender_id = $1", senders[1])
        await conn.execute("UPDATE events SET timestamp = timestamp - $2 WHERE id = $1", first_id, forty_days)
        before = dict(await conn.fetch("SELECT sender_id, count(*) FROM events GROUP BY sender_id"))
    finally:
        await conn.close()

    run = await run_job(pool, tracker_retention, now=datetime.now(UTC), settings=settings)
    assert run.ran and run.result is not None
    result = run.result
    assert result["retention_days"] == 30
    assert result["conversations_deleted"] >= 1 and result["events_deleted"] >= before[senders[0]]

    conn = await asyncpg.connect(two_rasas.tracker_url)
    try:
        after = dict(await conn.fetch("SELECT sender_id, count(*) FROM events GROUP BY sender_id"))
    finally:
        await conn.close()
    assert senders[0] not in after
    assert after[senders[1]] == before[senders[1]]
