"""Benchmark of the voice channel: check-in calls placed per second by one dispatcher against the fake Twilio.

Enqueues ``--calls`` check-in calls (the outbox rows the care sweep writes), then times one dispatcher placing them
all through the real Twilio SDK to the fake Twilio (in its own process). Beside it, the simplest thing doing the
same HTTP work: a raw httpx POST loop to the same Calls endpoint with the same form and concurrency, and the ratio.

    .venv/bin/python -m bench.voice [--calls 2000]

Uses its own embedded PostgreSQL (var/bench-pgdata) or BENCH_DATABASE_URL. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx

from api.platform.db.embedded import EmbeddedPostgres
from api.platform.db.pool import create_pool
from api.platform.logging import configure_logging
from api.platform.settings import PROJECT_ROOT, DatabaseSettings, LogSettings, NotifySettings, TwilioSettings
from bench.common import fresh_database, start_fakes
from care import messages
from notifications.channels.base import OutboundMessage
from notifications.channels.voice import STATUS_EVENTS, TwilioVoiceChannel
from notifications.dispatcher import Dispatcher
from notifications.service import Notifier, Outgoing

DATABASE = "safecity_bench_voice"
PUBLIC_URL = "https://safecity.example"  # only written into the calls: the fake plays none of them
CONCURRENCY = 20  # NOTIFY_SMS_CONCURRENCY's default, which the voice channel shares


def phone(n: int) -> str:
    return f"+8210{20_000_000 + n:08d}"


async def enqueue(url: str, calls: int) -> None:
    pool = await create_pool(DatabaseSettings(url=url, pool_max=2))
    notifier = Notifier(NotifySettings())
    items = [
        Outgoing(
            dedupe_key=f"bench-call:{n}", template=messages.VOICE_CHECKIN, params={}, phone=phone(n), call="checkin"
        )
        for n in range(calls)
    ]
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("TRUNCATE outbox, notices RESTART IDENTITY CASCADE")
            await notifier.enqueue_many(conn, items=items, now=datetime.now(UTC))
    finally:
        await pool.close()


def twilio_settings(info: dict[str, object]) -> TwilioSettings:
    env = info["env"]
    assert isinstance(env, dict)
    return TwilioSettings(
        account_sid=env["TWILIO_ACCOUNT_SID"],
        auth_token=env["TWILIO_AUTH_TOKEN"],
        from_number=env["TWILIO_FROM_NUMBER"],
        api_base_url=env["TWILIO_API_BASE_URL"],
    )


async def dispatched(url: str, info: dict[str, object], calls: int) -> dict[str, object]:
    """One dispatcher (its batches of 100, 20 in flight) placing every call enqueued."""
    await enqueue(url, calls)
    pool = await create_pool(DatabaseSettings(url=url, pool_max=4))
    channel = TwilioVoiceChannel(twilio_settings(info), public_url=PUBLIC_URL, concurrency=CONCURRENCY)
    dispatcher = Dispatcher(pool, {"voice": channel}, NotifySettings(public_url=PUBLIC_URL))
    try:
        started = time.perf_counter()
        reports = await dispatcher.drain(max_batches=calls)
        seconds = time.perf_counter() - started
        async with pool.acquire() as conn:
            states = dict(await conn.fetch("SELECT state, count(*) FROM outbox GROUP BY state"))
    finally:
        await channel.aclose()
        await pool.close()
    placed = sum(r.sent for r in reports)
    return {
        "calls": calls,
        "placed": placed,
        "seconds": round(seconds, 3),
        "per_second": round(placed / seconds, 1),
        "states": states,
    }


async def raw_loop(info: dict[str, object], calls: int) -> dict[str, object]:
    """The same POSTs with httpx, CONCURRENCY at a time: no database, no SDK, no TwiML built per call."""
    settings = twilio_settings(info)
    endpoint = f"{settings.api_base_url}/2010-04-01/Accounts/{settings.account_sid}/Calls.json"
    twiml = TwilioVoiceChannel(settings, public_url=PUBLIC_URL).twiml  # one TwiML, as the rows would say it
    body = twiml(OutboundMessage(channel="voice", to=phone(0), body="안부 전화", data={"call": "checkin"}, ref="1"))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(calls):
        queue.put_nowait(n)
    ok = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal ok
        while not queue.empty():
            n = queue.get_nowait()
            form = [
                ("To", phone(n)),
                ("From", str(settings.from_number)),
                ("Twiml", body),
                ("StatusCallback", f"{PUBLIC_URL}/webhooks/twilio/voice/status?outbox={n}"),
                ("MachineDetection", "Enable"),
                ("Timeout", "30"),
            ]
            form += [("StatusCallbackEvent", e) for e in STATUS_EVENTS]
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            response = await client.post(endpoint, content=urlencode(form), headers=headers)
            ok += response.status_code == 201

    auth = (str(settings.account_sid), str(settings.auth_token))
    async with httpx.AsyncClient(auth=auth, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
        seconds = time.perf_counter() - started
    return {"calls": calls, "placed": ok, "seconds": round(seconds, 3), "per_second": round(ok / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    configure_logging(LogSettings(level="WARNING", format="console"), process="bench")  # stdout is the JSON

    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    fakes, info = start_fakes()
    try:
        url = asyncio.run(fresh_database(server_url, DATABASE))
        dispatcher = asyncio.run(dispatched(url, info, args.calls))
        raw = asyncio.run(raw_loop(info, args.calls))
    finally:
        fakes.terminate()
        fakes.wait(timeout=10)
        if embedded is not None:
            embedded.stop()
    ratio = dispatcher["per_second"] / raw["per_second"] if raw["per_second"] else None  # type: ignore[operator]
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "dispatcher": dispatcher,
        "raw_httpx_loop": raw,
        "dispatcher_to_raw_ratio": round(ratio, 3) if ratio is not None else None,
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
