"""Benchmark of the outbox: a city-wide fan-out enqueued, and messages dispatched to the fake providers.

(1) Enqueues one warning to 1,000,000 citizens (one device each, across the 25 districts) in one transaction.
(2) Dispatches 100,000 per-device FCM messages and 10,000 SMS through the real SDKs to the fake servers
    (run in their own process), with one and then with two ``safecity worker`` processes, and checks
    that no message reached a provider twice.

    .venv/bin/python -m bench.notifications [--citizens 1000000] [--push 100000] [--sms 10000]

Uses its own embedded PostgreSQL (var/bench-pgdata) or BENCH_DATABASE_URL. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime

import asyncpg
import httpx

from api.platform.db.embedded import EmbeddedPostgres
from api.platform.db.pool import create_pool
from api.platform.districts import DISTRICTS
from api.platform.settings import PROJECT_ROOT, DatabaseSettings, NotifySettings
from bench.common import SECRET, fresh_database, start_fakes
from notifications.service import Notifier

DATABASE = "safecity_bench_notify"
PARAMS = {
    "headline": "호우경보",
    "area": "서울 전역",
    "instruction": "저지대와 지하 공간을 벗어나 가까운 대피소로 가세요.",
}


async def seed(conn: asyncpg.Connection, *, with_device: int, phone_only: int, districts: list[str]) -> None:
    """Citizens spread over ``districts``: the first ``with_device`` have an app, the rest only a phone."""
    await conn.execute("TRUNCATE outbox, notices, devices, citizens RESTART IDENTITY CASCADE")
    await conn.execute(
        """
        INSERT INTO citizens (phone, language, district)
        SELECT '+8210' || (10000000 + g)::text, CASE WHEN g % 10 = 0 THEN 'en' ELSE 'ko' END,
               ($3::text[])[1 + g % cardinality($3::text[])]
        FROM generate_series(1, $1::int + $2::int) g
        """,
        with_device,
        phone_only,
        districts,
    )
    await conn.execute(
        """
        INSERT INTO devices (citizen_id, platform, fcm_token, topic_pending)
        SELECT id, 'android', 'bench-token-' || id, false FROM citizens WHERE id <= $1
        """,
        with_device,
    )
    await conn.execute("ANALYZE")


async def enqueue_city_wide(url: str, citizens: int) -> dict[str, object]:
    pool = await create_pool(DatabaseSettings(url=url, pool_max=2))
    notifier = Notifier(NotifySettings())
    try:
        async with pool.acquire() as conn:
            await seed(conn, with_device=citizens, phone_only=0, districts=sorted(DISTRICTS))
            started = time.perf_counter()
            async with conn.transaction():
                notice = await notifier.to_district_citizens(
                    conn, districts=sorted(DISTRICTS), template="alert.weather", params=PARAMS, now=datetime.now(UTC)
                )
            seconds = time.perf_counter() - started
    finally:
        await pool.close()
    return {
        "messages": notice.deliveries,
        "seconds": round(seconds, 2),
        "messages_per_s": round(notice.deliveries / seconds),
    }


def fake_sent(info: dict[str, str]) -> tuple[Counter[str], Counter[str]]:
    """Per-recipient counts of what the fakes received."""
    pushed: Counter[str] = Counter()
    with httpx.Client(base_url=info["fcm"], timeout=60) as http:
        offset = 0
        while True:
            page = http.get("/_fake/sent", params={"offset": offset, "limit": 20000}).json()["messages"]
            if not page:
                break
            pushed.update(m.get("token") or m.get("topic") for m in page)
            offset += len(page)
    texted = Counter(m["To"] for m in httpx.get(f"{info['twilio']}/_fake/sent", timeout=60).json())
    return pushed, texted


async def dispatch(url: str, info: dict[str, str], *, workers: int, push: int, sms: int) -> dict[str, object]:
    for fake in (info["fcm"], info["twilio"]):
        httpx.post(f"{fake}/_fake/control", json={"reset": True}, timeout=10).raise_for_status()
    pool = await create_pool(DatabaseSettings(url=url, pool_max=1))
    conn = await pool.acquire()
    try:
        await seed(conn, with_device=push, phone_only=sms, districts=["11110"])
        env = {
            **os.environ,
            **info["env"],
            "DATABASE_URL": url,
            "JWT_SECRET": SECRET,
            "LOG_LEVEL": "WARNING",
            "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        }
        procs = [
            subprocess.Popen([sys.executable, "-m", "api.cli", "worker", "--no-schedule"], env=env)
            for _ in range(workers)
        ]
        try:
            await asyncio.sleep(3)  # let the workers connect and start listening
            notifier = Notifier(NotifySettings())
            started = time.perf_counter()
            await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
            async with conn.transaction():
                notice = await notifier.to_district_citizens(
                    conn, districts=["11110"], template="alert.weather", params=PARAMS, now=datetime.now(UTC)
                )
            done_at: dict[str, float] = {}
            while len(done_at) < 2:
                left = {
                    r["channel"]: r["n"]
                    for r in await conn.fetch(
                        "SELECT channel, count(*) AS n FROM outbox WHERE state <> 'sent' GROUP BY channel"
                    )
                }
                for channel in ("push", "sms"):
                    if channel not in done_at and not left.get(channel):
                        done_at[channel] = time.perf_counter() - started
                if any(p.poll() is not None for p in procs):
                    raise SystemExit("a worker died during the benchmark")
                await asyncio.sleep(0.2)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=30)
    finally:
        await pool.release(conn)
        await pool.close()
    pushed, texted = fake_sent(info)
    total = notice.deliveries
    seconds = max(done_at.values())
    return {
        "workers": workers,
        "messages": total,
        "seconds": round(seconds, 2),
        "messages_per_s": round(total / seconds),
        "push": {"messages": push, "seconds": round(done_at["push"], 2), "per_s": round(push / done_at["push"])},
        "sms": {"messages": sms, "seconds": round(done_at["sms"], 2), "per_s": round(sms / done_at["sms"])},
        "received_by_fakes": {"push": sum(pushed.values()), "sms": sum(texted.values())},
        "sent_twice": sum(n - 1 for n in pushed.values()) + sum(n - 1 for n in texted.values()),
        "missing": (push - len(pushed)) + (sms - len(texted)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citizens", type=int, default=1_000_000)
    parser.add_argument("--push", type=int, default=100_000)
    parser.add_argument("--sms", type=int, default=10_000)
    args = parser.parse_args()

    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    fakes, info = start_fakes()
    try:
        url = asyncio.run(fresh_database(server_url, DATABASE))
        result = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "enqueue_city_wide": asyncio.run(enqueue_city_wide(url, args.citizens)),
            "dispatch": [asyncio.run(dispatch(url, info, workers=n, push=args.push, sms=args.sms)) for n in (1, 2)],
        }
    finally:
        fakes.terminate()
        fakes.wait(timeout=10)
        if embedded is not None:
            embedded.stop()
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
