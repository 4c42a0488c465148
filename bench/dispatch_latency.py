"""The dispatcher at a fixed rate against a raw httpx client posting the same bodies to the same fake.

Starts the fake providers (their own process) and one ``safecity worker --no-schedule`` (the dispatcher alone),
sends it one SMS to warm it, then commits ``--messages`` SMS to the outbox at ``--rate`` a second (each in its own
transaction, as a request would) and measures, per message, the seconds from when it was due (open loop: its
commit's own time counts) to its arrival at the fake Twilio (the fake stamps each one, ``received_at``). Then, in
the same run, the simplest thing doing the same work: a bare httpx client posting the same bodies, at the same
rate, to the same fake, at most the dispatcher's SMS concurrency in flight, from each one's due time to its
arrival. p50 and p99 of both, and the ratios.

    nice -n 10 .venv/bin/python -m bench.dispatch_latency [--messages 1000] [--rate 50]

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
from typing import Any

import httpx

from api.platform.db.embedded import EmbeddedPostgres
from api.platform.db.pool import create_pool
from api.platform.logging import configure_logging
from api.platform.settings import PROJECT_ROOT, DatabaseSettings, LogSettings, NotifySettings
from bench.care_latency import SMS_CONCURRENCY, FakeTwilio, percentiles, ratio, start, stop, warm_up
from bench.common import SECRET, fresh_database, start_fakes
from bench.fixed_rate import open_loop
from notifications.schemas import Priority
from notifications.service import Notifier, Outgoing

DATABASE = "safecity_bench_dispatch_latency"


def phone(i: int) -> str:
    return f"+82106{i:07d}"


async def through_dispatcher(url: str, fake: FakeTwilio, *, messages: int, rate: float) -> dict[str, Any]:
    """Commit each SMS at its due time; from each commit to its arrival at the fake."""
    pool = await create_pool(DatabaseSettings(url=url, pool_max=4))
    notifier = Notifier(NotifySettings())
    due: dict[int, float] = {}
    try:

        async def enqueue(i: int) -> bool:
            note = Outgoing(
                dedupe_key=f"bench:dispatch:{i}",
                template="notice.test",
                params={"text": f"안전서울 시험 메시지 {i}번: 가까운 대피소를 확인하세요."},
                phone=phone(i),
                priority=Priority.urgent,
            )
            async with pool.acquire() as conn, conn.transaction():
                await notifier.enqueue_many(conn, items=[note], now=datetime.now(UTC))
            return True

        enqueued = await open_loop(enqueue, rate=rate, seconds=messages / rate, in_flight=4, due_at=due)
    finally:
        await pool.close()
    due_by_phone = {phone(i): at for i, at in due.items()}
    found = await fake.wait_for(lambda m: m["To"] in due_by_phone, messages, timeout_s=300)
    return {
        "enqueue": enqueued,
        "arrived": len(found),
        "due_to_fake_s": percentiles([m["received_at"] - due_by_phone[m["To"]] for m in found]),
        "bodies": {m["To"]: m["Body"] for m in found},
    }


async def through_raw_httpx(fake: FakeTwilio, bodies: dict[str, str], *, rate: float) -> dict[str, Any]:
    """The same bodies to the same fake at the same rate, from a bare httpx client; from due time to arrival."""
    order = sorted(bodies)
    due: dict[int, float] = {}
    limits = httpx.Limits(max_connections=SMS_CONCURRENCY, max_keepalive_connections=SMS_CONCURRENCY)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        await fake.post_one(http, "+821070000001", "warm-up")

        async def post(i: int) -> bool:
            to = order[i]
            due[to] = time.time()
            await fake.post_one(http, to, bodies[to])
            return True

        posted = await open_loop(post, rate=rate, seconds=len(order) / rate, in_flight=SMS_CONCURRENCY)
    found = await fake.wait_for(lambda m: m["To"] in due, len(order), timeout_s=120)
    return {
        "post": posted,
        "arrived": len(found),
        "due_to_fake_s": percentiles([m["received_at"] - due[m["To"]] for m in found]),
    }


def run(url: str, info: dict[str, Any], *, messages: int, rate: float) -> dict[str, Any]:
    env = {
        **os.environ,
        **info["env"],
        "DATABASE_URL": url,
        "JWT_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        "WORKER_METRICS_PORT": "0",
        "RASA_ENABLED": "false",
    }
    fake = FakeTwilio(info)
    worker = start(["worker", "--no-schedule"], env)
    try:
        time.sleep(3)  # let it connect and listen
        cold = asyncio.run(warm_up(url, fake, timeout_s=120))
        fake.reset()
        dispatched = asyncio.run(through_dispatcher(url, fake, messages=messages, rate=rate))
        if worker.poll() is not None:
            raise SystemExit("the worker died during the benchmark")
    finally:
        stop(worker)
    bodies = dispatched.pop("bodies")
    fake.reset()
    raw = asyncio.run(through_raw_httpx(fake, bodies, rate=rate))
    return {
        "cold_worker_first_sms_s": cold,
        "dispatcher": dispatched,
        "raw_httpx": raw,
        "ratio": ratio(dispatched["due_to_fake_s"], raw["due_to_fake_s"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50)
    args = parser.parse_args()
    configure_logging(LogSettings(level="WARNING"), process="bench")
    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    fakes, info = start_fakes()
    try:
        url = asyncio.run(fresh_database(server_url, DATABASE))
        result = run(url, info, messages=args.messages, rate=args.rate)
    finally:
        fakes.terminate()
        fakes.wait(timeout=10)
        if embedded is not None:
            embedded.stop()
    machine = {"cpus": os.cpu_count(), "python": platform.python_version()}
    report = {
        "benchmark": "dispatch_latency",
        "machine": machine,
        "rate": args.rate,
        "sms_concurrency": SMS_CONCURRENCY,
    }
    print(json.dumps({**report, **result}, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
