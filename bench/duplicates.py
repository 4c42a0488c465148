"""Benchmark: how many copies of each message a slow provider gets, and how many a phone shows.

Slows the fake Twilio and FCM (in their own process) past the clients' timeouts (``--delay``, 20 s against 15 s
for SMS and 10 s for push), enqueues ``--sms`` sign-in codes and ``--topics`` district topic pushes, and runs one
``safecity worker --no-schedule`` until every delivery has ended or ``--window`` seconds have passed. Then it waits
for the fakes to finish what they were still given, and counts what they accepted: sends per message (mean, max)
and, for push, what a phone in the district shows (copies with one notification tag count once; a copy without a
tag shows on its own). An SMS shows as often as it arrives.

The ceiling, measured in the same run: a raw httpx client posts the same requests to the same slowed fakes, once
each, waiting as long as they take: 1.0 per message. The ratio is the dispatcher's mean over that.

    .venv/bin/python -m bench.duplicates [--sms 50] [--topics 10] [--delay 20] [--window 120]

Uses its own embedded PostgreSQL (var/bench-pgdata) or BENCH_DATABASE_URL. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from api.platform.db.embedded import EmbeddedPostgres
from api.platform.db.pool import create_pool
from api.platform.districts import DISTRICTS
from api.platform.settings import PROJECT_ROOT, DatabaseSettings, NotifySettings
from bench.common import SECRET, fresh_database, start_fakes
from notifications.schemas import Priority
from notifications.service import Notifier

DATABASE = "safecity_bench_duplicates"
ENDED = ("sent", "delivered", "failed", "unknown", "cancelled", "suppressed")
PROJECT = "safecity-local"


def control(info: dict[str, Any], command: dict[str, Any]) -> None:
    for fake in (info["fcm"], info["twilio"]):
        httpx.post(f"{fake}/_fake/control", json=command, timeout=10).raise_for_status()


async def enqueue(conn: asyncpg.Connection, *, sms: int, topics: int) -> None:
    """``sms`` sign-in codes to as many numbers, and ``topics`` warnings, each to one district's topic."""
    notifier = Notifier(NotifySettings())
    now = datetime.now(UTC)
    async with conn.transaction():
        for n in range(sms):
            await notifier.to_phone(
                conn,
                phone=f"+8210{20000000 + n}",
                language="ko",
                template="auth.otp",
                params={"code": f"{100000 + n}", "minutes": 5},
                now=now,
                priority=Priority.urgent,
                overrides_opt_out=True,
            )
        for district in sorted(DISTRICTS)[:topics]:
            await notifier.to_district_topics(
                conn,
                districts=[district],
                template="alert.weather",
                params={"headline": "호우경보", "area": "서울", "instruction": "대피소로 가세요."},
                now=now,
                priority=Priority.urgent,
            )


async def run_worker(url: str, info: dict[str, Any], *, window: float) -> dict[str, Any]:
    """One worker until every delivery has ended or the window has passed: how long, and the states it left."""
    env = {
        **os.environ,
        **info["env"],
        "DATABASE_URL": url,
        "JWT_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
        "PUBLIC_BASE_URL": "http://127.0.0.1:9",  # a status-callback URL Twilio would call; the fake does not
    }
    conn = await asyncpg.connect(url)
    worker = subprocess.Popen([sys.executable, "-m", "api.cli", "worker", "--no-schedule"], env=env)
    started = time.perf_counter()
    try:
        while True:
            states = Counter(
                {r["state"]: r["n"] for r in await conn.fetch("SELECT state, count(*) AS n FROM outbox GROUP BY 1")}
            )
            elapsed = time.perf_counter() - started
            settled = all(state in ENDED for state in states)
            if settled or elapsed > window:
                break
            if worker.poll() is not None:
                raise SystemExit("the worker died during the benchmark")
            await asyncio.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        await conn.close()
    return {"seconds": round(elapsed, 1), "settled": settled, "outbox_states": dict(sorted(states.items()))}


def received(info: dict[str, Any]) -> tuple[Counter[str], dict[str, list[str | None]]]:
    """What the fakes accepted: SMS per number, and per topic the notification tag of each copy."""
    texted = Counter(m["To"] for m in httpx.get(f"{info['twilio']}/_fake/sent", timeout=60).json())
    tags: dict[str, list[str | None]] = defaultdict(list)
    page = httpx.get(f"{info['fcm']}/_fake/sent", params={"limit": 100000}, timeout=60).json()["messages"]
    for message in page:
        tag = ((message.get("android") or {}).get("notification") or {}).get("tag")
        tags[message.get("topic") or message.get("token")].append(tag)
    return texted, tags


def shown(tags: list[str | None]) -> int:
    """Notifications a phone shows for these copies: one per tag, and each untagged copy on its own."""
    return len({t for t in tags if t is not None}) + sum(1 for t in tags if t is None)


def spread(values: list[int], expected: int) -> dict[str, float]:
    values = values + [0] * (expected - len(values))  # a message that never arrived counts as none
    return {"mean": round(statistics.fmean(values), 2), "max": max(values, default=0), "missing": values.count(0)}


def tally(info: dict[str, Any], *, sms: int, topics: int) -> dict[str, Any]:
    texted, tags = received(info)
    return {
        "sms": {"messages": sms, "sends_per_message": spread(list(texted.values()), sms)},
        "push": {
            "messages": topics,
            "sends_per_message": spread([len(t) for t in tags.values()], topics),
            "shown_per_phone": spread([shown(t) for t in tags.values()], topics),
        },
    }


async def raw_once(info: dict[str, Any], *, sms: int, topics: int, delay: float) -> float:
    """The ceiling: each request posted once, straight to the slowed fakes, waiting for every answer."""
    env = info["env"]
    auth = (env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"])
    twilio_path = f"/2010-04-01/Accounts/{env['TWILIO_ACCOUNT_SID']}/Messages.json"
    fcm_path = f"/v1/projects/{PROJECT}/messages:send"
    limits = httpx.Limits(max_connections=sms + topics)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=delay * 3, limits=limits) as http:
        texts = [
            http.post(
                info["twilio"] + twilio_path,
                auth=auth,
                data={"To": f"+8210{20000000 + n}", "From": env["TWILIO_FROM_NUMBER"], "Body": f"[안전서울] {n}"},
            )
            for n in range(sms)
        ]
        pushes = [
            http.post(
                info["fcm"] + fcm_path,
                headers={"Authorization": "Bearer raw"},
                json={"message": {"topic": f"district-{d}", "notification": {"title": "호우경보", "body": "대피"}}},
            )
            for d in sorted(DISTRICTS)[:topics]
        ]
        answers = await asyncio.gather(*texts, *pushes)
    if any(a.status_code >= 300 for a in answers):
        raise SystemExit(f"the ceiling's requests failed: {sorted({a.status_code for a in answers})}")
    return time.perf_counter() - started


def ratio(dispatcher: dict[str, Any], ceiling: dict[str, Any]) -> dict[str, float]:
    return {
        kind: round(dispatcher[kind]["sends_per_message"]["mean"] / ceiling[kind]["sends_per_message"]["mean"], 2)
        for kind in ("sms", "push")
    }


async def measure(server_url: str, info: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    url = await fresh_database(server_url, DATABASE)
    pool = await create_pool(DatabaseSettings(url=url, pool_max=1))
    try:
        async with pool.acquire() as conn:
            await enqueue(conn, sms=args.sms, topics=args.topics)
    finally:
        await pool.close()
    control(info, {"reset": True, "delay": args.delay})
    run = await run_worker(url, info, window=args.window)
    await asyncio.sleep(args.delay + 2)  # the fakes accept what they were given, even after the client gave up
    dispatcher = run | tally(info, sms=args.sms, topics=args.topics)

    control(info, {"reset": True, "delay": args.delay})
    seconds = await raw_once(info, sms=args.sms, topics=args.topics, delay=args.delay)
    ceiling = {"seconds": round(seconds, 1)} | tally(info, sms=args.sms, topics=args.topics)
    return {"dispatcher": dispatcher, "ceiling_raw_httpx_once": ceiling, "ratio": ratio(dispatcher, ceiling)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sms", type=int, default=50)
    parser.add_argument("--topics", type=int, default=10, help="at most 25, one per district")
    parser.add_argument("--delay", type=float, default=20.0, help="seconds each fake waits before it answers")
    parser.add_argument("--window", type=float, default=120.0, help="seconds the worker may run")
    args = parser.parse_args()
    args.topics = min(args.topics, len(DISTRICTS))

    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    fakes, info = start_fakes()
    try:
        result = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "provider_delay_s": args.delay,
            "window_s": args.window,
            **asyncio.run(measure(server_url, info, args)),
        }
    finally:
        fakes.terminate()
        fakes.wait(timeout=10)
        if embedded is not None:
            embedded.stop()
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
