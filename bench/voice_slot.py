"""Benchmark, in simulation, of a slot to an answered check-in call: the time from ``--plans`` check-in slots coming due
at once to each person's "1" recorded.

Loads ``--plans`` people in care whose plan calls them (``contact_by`` voice), every slot due at T0. Then, timed from
T0: the care sweep (the job, one statement) writes the calls to the outbox; one dispatcher places them through the
real Twilio SDK at the fake Twilio (batches of 100, 20 in flight); the fake, playing each person, picks up each call
as it is placed and presses 1, which it posts, signed, to the app's gather webhook (the real app under uvicorn), where
the check-in is committed. Per plan: T0 to the gather's 200 (a 2xx means committed). Beside it, the simplest thing
doing the same work in the same run: per plan, a raw httpx POST of the same call to the fake's Calls endpoint, then a
raw INSERT of the check-in row, at the dispatcher's concurrency; and the ratios.

    .venv/bin/python -m bench.voice_slot [--plans 500]

A simulation: the app runs as deployed (``safecity api``, one process); the fake Twilio's server, the sweep, the
dispatcher and the people's answers share the bench's one event loop (and everything, the machine's cores). Uses
its own embedded PostgreSQL (var/bench-pgdata) or BENCH_DATABASE_URL. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode

import asyncpg
import httpx
import msgspec
import uvicorn

from api.platform.db.embedded import EmbeddedPostgres
from api.platform.db.pool import create_pool
from api.platform.jobs.runner import run_job
from api.platform.logging import configure_logging
from api.platform.settings import (
    PROJECT_ROOT,
    AuthSettings,
    DatabaseSettings,
    LogSettings,
    NotifySettings,
    PathSettings,
    RasaSettings,
    Settings,
    TwilioSettings,
)
from api.worker import JOBS
from bench.api import free_port
from bench.care import insert_people
from bench.common import SECRET, fresh_database
from fakes.twilio import FakeTwilio
from notifications.channels import build_channels
from notifications.channels.base import OutboundMessage
from notifications.channels.voice import RING_SECONDS, STATUS_EVENTS, TwilioVoiceChannel
from notifications.dispatcher import Dispatcher

DATABASE = "safecity_bench_voice_slot"
SID, TOKEN, FROM = "AC" + "5" * 32, "bench-twilio-token", "+15005550006"
CONCURRENCY = 20  # NOTIFY_SMS_CONCURRENCY's default, which the voice channel shares
LOGS = PROJECT_ROOT / "var" / "bench-voice-slot"
# Longer than TWILIO_TIMEOUT's 15 s: on a starved machine a call's create answered late would end ``unknown``, never
# rung, and the bench would time a timeout instead of the pipeline.
TWILIO_TIMEOUT_S = 60.0


def settings_for(url: str, *, twilio_url: str, public_url: str) -> Settings:
    return Settings(
        paths=PathSettings(var_dir=str(LOGS), migrations_dir="migrations"),
        db=DatabaseSettings(url=url, pool_max=10),
        auth=AuthSettings(jwt_secret=SECRET),
        rasa=RasaSettings(enabled="false"),
        twilio=TwilioSettings(
            account_sid=SID, auth_token=TOKEN, from_number=FROM, api_base_url=twilio_url, timeout_s=TWILIO_TIMEOUT_S
        ),
        notify=NotifySettings(public_url=public_url),
    )


async def load(url: str, plans: int, due: datetime) -> None:
    """``plans`` people called for their check-ins, each with a guardian, every slot due at ``due``."""
    conn = await asyncpg.connect(url)
    try:
        await insert_people(conn, count=plans, enrolled_at=due - timedelta(days=1))
        await conn.execute("UPDATE care_recipients SET contact_by = 'voice', language = 'ko'")
        await conn.execute(
            """
            INSERT INTO checkin_plans (recipient_id, times, window_min, slot_at, due_at, updated_at)
            SELECT id, ARRAY[($1::timestamptz AT TIME ZONE 'Asia/Seoul')::time], 120, $1, $1, $1 FROM care_recipients
            """,
            due,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    ordered = sorted(seconds)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3)

    return {"p50_s": at(0.50), "p99_s": at(0.99), "max_s": round(ordered[-1], 3)}


async def pipeline(settings: Settings, url: str, fake: FakeTwilio, plans: int) -> dict[str, object]:
    """Sweep, outbox, dispatcher, the fake placing and answering each call, the signed gather, the check-in."""
    due = datetime.now(UTC).replace(microsecond=0)
    await load(url, plans, due)
    pool = await create_pool(msgspec.structs.replace(settings.db, pool_max=4))
    channels = build_channels(settings)
    dispatcher = Dispatcher(pool, {"voice": channels["voice"]}, settings.notify)
    answered: dict[str, float] = {}  # CallSid → when its gather's 200 came back
    everyone = asyncio.Event()
    started = 0.0

    async def on_response(response: httpx.Response) -> None:
        if "/voice/gather" in response.request.url.path and response.status_code == 200:
            sid = parse_qs(response.request.content.decode())["CallSid"][0]
            answered[sid] = time.perf_counter() - started
            if len(answered) >= plans:
                everyone.set()

    people = httpx.AsyncClient(timeout=60, event_hooks={"response": [on_response]})
    picked: set[str] = set()
    answering: list[asyncio.Task[object]] = []

    async def pick_up(stop: asyncio.Event) -> None:
        """Each person answers their phone as soon as it rings (within 20 ms), and presses 1."""
        seen = 0
        while not stop.is_set():
            if fake.calls.requests != seen:  # the calls' records are copied only when new ones came
                seen = fake.calls.requests
                for call in fake.calls.calls:
                    if call["sid"] not in picked:
                        picked.add(call["sid"])
                        answering.append(asyncio.create_task(fake.calls.answer(call["sid"], "1", client=people)))
            await asyncio.sleep(0.02)

    stop = asyncio.Event()
    person = asyncio.create_task(pick_up(stop))
    try:
        started = time.perf_counter()
        sweep = await run_job(pool, JOBS["care.sweep"], now=datetime.now(UTC), settings=settings)
        swept = time.perf_counter() - started
        await dispatcher.drain(max_batches=plans)
        placed = time.perf_counter() - started
        with contextlib.suppress(TimeoutError):  # reported as fewer answered
            await asyncio.wait_for(everyone.wait(), timeout=300)
        stop.set()
        await person
        await asyncio.gather(*answering)
        async with pool.acquire() as conn:
            checkins = await conn.fetchval("SELECT count(*) FROM checkins WHERE channel = 'voice' AND kind = 'checkin'")
            closed = await conn.fetchval("SELECT count(*) FROM checkin_plans WHERE step = 0 AND slot_at > $1", due)
    finally:
        await people.aclose()
        for channel in channels.values():
            await channel.aclose()
        await pool.close()
    return {
        "plans": plans,
        "steps_taken": (sweep.result or {}).get("step_1"),
        "calls_placed": fake.calls.requests,
        "answered": len(answered),
        "checkins_recorded": checkins,
        "slots_closed": closed,
        "sweep_s": round(swept, 3),
        "all_placed_s": round(placed, 3),
        **percentiles(list(answered.values())),
    }


async def raw(settings: Settings, url: str, fake_url: str, public_url: str, plans: int) -> dict[str, object]:
    """Per plan, the same call POSTed with httpx to the fake, then the check-in row INSERTed, CONCURRENCY at a time."""
    twilio = settings.twilio
    endpoint = f"{fake_url}/2010-04-01/Accounts/{twilio.account_sid}/Calls.json"
    channel = TwilioVoiceChannel(twilio, public_url=public_url)
    message = OutboundMessage(channel="voice", to="+821010000001", body="안부 전화", data={"call": "checkin"}, ref="1")
    twiml = channel.twiml(message)
    await channel.aclose()
    conn = await asyncpg.connect(url)
    phones = {r["id"]: r["phone"] for r in await conn.fetch("SELECT id, phone FROM care_recipients ORDER BY id")}
    await conn.close()
    pool = await create_pool(msgspec.structs.replace(settings.db, pool_max=CONCURRENCY))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for recipient_id in phones:
        queue.put_nowait(recipient_id)
    done: list[float] = []
    started = 0.0

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            recipient_id = queue.get_nowait()
            form = [
                ("To", phones[recipient_id]),
                ("From", str(twilio.from_number)),
                ("Twiml", twiml),
                ("StatusCallback", f"{public_url}/webhooks/twilio/voice/status?outbox={recipient_id}"),
                ("MachineDetection", "Enable"),
                ("Timeout", str(RING_SECONDS)),
            ] + [("StatusCallbackEvent", e) for e in STATUS_EVENTS]
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            response = await client.post(endpoint, content=urlencode(form), headers=headers)
            if response.status_code != 201:
                continue
            await pool.execute(
                "INSERT INTO checkins (recipient_id, channel, kind, body, at) VALUES ($1, 'voice', 'checkin', '1', $2)",
                recipient_id,
                datetime.now(UTC),
            )
            done.append(time.perf_counter() - started)

    auth = (str(twilio.account_sid), str(twilio.auth_token))
    try:
        async with httpx.AsyncClient(auth=auth, timeout=30) as client:
            started = time.perf_counter()
            await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    finally:
        await pool.close()
    return {"plans": plans, "checkins_recorded": len(done), **percentiles(done)}


async def both(
    settings: Settings, url: str, fake: FakeTwilio, fake_port: int, plans: int
) -> tuple[dict[str, object], dict[str, object]]:
    """The pipeline, then the simplest thing, with the fake Twilio served in this event loop.

    Not in a thread: a server thread waits for the GIL behind this loop's dispatcher and people at every turn
    (placing 50 calls took 10 s so), where in one loop each waits only for the others' turns.
    """
    fake.url = f"http://127.0.0.1:{fake_port}"
    config = uvicorn.Config(
        fake.app, host="127.0.0.1", port=fake_port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn has no event to wait on
        await asyncio.sleep(0.01)
    try:
        simulated = await pipeline(settings, url, fake, plans)
        fake.reset()
        simplest = await raw(settings, url, fake.url, settings.notify.public_url or "", plans)
    finally:
        server.should_exit = True
        await serving
    return simulated, simplest


def start_api(url: str, *, port: int, twilio_url: str) -> subprocess.Popen[bytes]:
    """``safecity api`` on ``port``, taking the fake's webhooks; its output to ``var/bench-voice-slot/api.log``."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DB_POOL_MAX": "10",
        "JWT_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
        "PORT": str(port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "RASA_ENABLED": "false",
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": FROM,
        "TWILIO_API_BASE_URL": twilio_url,
    }
    LOGS.mkdir(parents=True, exist_ok=True)
    with (LOGS / "api.log").open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "api.cli", "api"], env=env, stdout=log, stderr=log)


def wait_ready(url: str, api: subprocess.Popen[bytes], *, seconds: float = 300) -> None:
    """Until the API answers ``/ready``: on a loaded machine its start-up alone can take a minute."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and api.poll() is None:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=5).status_code == 200:
                return
        time.sleep(0.5)
    raise SystemExit(f"{url} never became ready (see {LOGS / 'api.log'})")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=500)
    args = parser.parse_args()
    configure_logging(LogSettings(level="WARNING", format="console"), process="bench")  # stdout is the JSON

    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    fake = FakeTwilio(account_sid=SID, auth_token=TOKEN)
    port, fake_port = free_port(), free_port()
    public_url, twilio_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{fake_port}"
    try:
        url = asyncio.run(fresh_database(server_url, DATABASE))
        settings = settings_for(url, twilio_url=twilio_url, public_url=public_url)
        api = start_api(url, port=port, twilio_url=twilio_url)
        try:
            wait_ready(f"{public_url}/ready", api)
            simulated, simplest = asyncio.run(both(settings, url, fake, fake_port, args.plans))
        finally:
            stop(api)
    finally:
        if embedded is not None:
            embedded.stop()
    ratios = {
        key: round(simulated[key] / simplest[key], 2) if simplest[key] else None  # type: ignore[operator]
        for key in ("p50_s", "p99_s")
    }
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg": os.getloadavg()},
        "twilio_timeout_s": TWILIO_TIMEOUT_S,
        "slot_to_answered_call": simulated,
        "raw_call_then_insert": simplest,
        "ratio": ratios,
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
