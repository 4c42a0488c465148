"""Real worker processes: two dispatchers side by side, and one killed with SIGKILL in the middle of a batch."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import JWT_SECRET
from tests.notifications.conftest import NOW, PUBLIC_URL, TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN


@pytest.fixture
def start_worker(settings, fake_fcm, fake_twilio, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Start ``safecity worker --no-schedule`` against the test database and the fakes."""
    procs: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ,
        "DATABASE_URL": settings.db.url,
        "JWT_SECRET": JWT_SECRET,
        "SAFECITY_VAR_DIR": str(tmp_path / "var"),
        "FCM_ENDPOINT": fake_fcm.url,
        "FCM_PROJECT_ID": "safecity-test",
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": TWILIO_FROM,
        "TWILIO_API_BASE_URL": fake_twilio.url,
        "PUBLIC_BASE_URL": PUBLIC_URL,
        "LOG_LEVEL": "WARNING",
    }

    def start(**extra: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"worker-{len(procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "worker", "--no-schedule"],
            env={**env, **extra},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def enqueue_fan_out(pool, notifier, *, devices: int, phones: int) -> None:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """
            WITH c AS (
                INSERT INTO citizens (phone, district)
                SELECT '+8210' || (70000000 + g)::text, '11110' FROM generate_series(1, $1::int + $2::int) g
                RETURNING id
            )
            INSERT INTO devices (citizen_id, platform, fcm_token)
            SELECT id, 'android', 'proc-tok-' || id FROM (SELECT id FROM c ORDER BY id LIMIT $1::int) d
            """,
            devices,
            phones,
        )
        await conn.execute("UPDATE devices SET topic_pending = false")
        await notifier.to_district_citizens(
            conn, districts=["11110"], template="notice.test", params={"text": "프로세스"}, now=NOW
        )


async def states(pool) -> Counter[str]:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        return Counter(
            {r["state"]: r["n"] for r in await conn.fetch("SELECT state, count(*) AS n FROM outbox GROUP BY state")}
        )


async def wait_for(predicate) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(90):
        while not await predicate():  # noqa: ASYNC110  (the workers are other processes; the database is what to watch)
            await asyncio.sleep(0.1)


async def test_two_worker_processes_never_send_a_message_twice(pool, notifier, start_worker, fake_fcm, fake_twilio):
    await enqueue_fan_out(pool, notifier, devices=3000, phones=600)
    first, second = start_worker(NOTIFY_BATCH_SIZE="100"), start_worker(NOTIFY_BATCH_SIZE="100")

    async def all_sent() -> bool:
        return (await states(pool))["sent"] == 3600

    await wait_for(all_sent)
    assert first.poll() is None and second.poll() is None  # both were dispatching throughout
    pushed = Counter(m["token"] for m in fake_fcm.sent)
    texted = Counter(m["To"] for m in fake_twilio.sent)
    assert (len(pushed), max(pushed.values())) == (3000, 1)
    assert (len(texted), max(texted.values())) == (600, 1)


async def test_a_worker_killed_mid_batch_loses_nothing(pool, notifier, start_worker, fake_fcm):
    await enqueue_fan_out(pool, notifier, devices=2000, phones=0)
    fake_fcm.delay(0.3)  # a slow provider: each batch is in flight long enough to be killed in
    worker = start_worker(NOTIFY_BATCH_SIZE="500", NOTIFY_LEASE="3")

    async def mid_batch() -> bool:
        now = await states(pool)
        return now["sent"] > 0 and now["sending"] > 0

    await wait_for(mid_batch)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    at_kill = await states(pool)
    assert at_kill.total() == 2000
    assert set(at_kill) <= {"sent", "sending", "pending"}  # every message either sent or still to send
    in_flight = at_kill["sending"]

    fake_fcm.delay(0)
    start_worker(NOTIFY_BATCH_SIZE="500", NOTIFY_LEASE="3")

    async def all_sent() -> bool:
        return (await states(pool))["sent"] == 2000

    await wait_for(all_sent)
    pushed = Counter(m["token"] for m in fake_fcm.sent)
    assert len(pushed) == 2000  # every device got it
    # A push goes again only when the answer to its attempt was lost: it was in the killed worker's hands, or
    # FCM took longer than FCM_TIMEOUT to answer (500 at once to a slow fake, on a loaded machine). Such a row
    # records when its outcome became unknown; it is tried once more at most, so no device has three copies
    # (and the phone shows one: the second copy carries the first's collapse id).
    async with pool.acquire() as conn:
        unknown = {
            r["recipient"] for r in await conn.fetch("SELECT recipient FROM outbox WHERE unknown_since IS NOT NULL")
        }
    twice = {token for token, n in pushed.items() if n > 1}
    assert max(pushed.values()) <= 2
    assert twice <= unknown, f"{len(twice - unknown)} devices got a second copy of a push whose answer was not lost"
    assert len(unknown) >= in_flight  # every row in flight at the kill is one whose outcome is unknown
