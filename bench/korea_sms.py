"""Benchmark: Korean SMS sent per second by one dispatcher through the ``solapi`` SDK to the fake SOLAPI.

Enqueues ``--sms`` texts to as many Korean numbers (a third of them long enough to be LMS), then times one
dispatcher draining them through ``RoutedSmsChannel`` → ``SolapiChannel`` (the real SDK, in a thread, one
``send-many/detail`` call per batch of 500) to the fake SOLAPI in its own process, and checks that each number
got its text once. Beside it, the ceiling: a raw ``httpx.Client`` posting the same batches, signed the same way,
to the same fake in a loop. The ratio is the dispatcher's rate over the raw loop's.

    .venv/bin/python -m bench.korea_sms [--sms 5000]

Uses its own embedded PostgreSQL (var/bench-pgdata) or BENCH_DATABASE_URL. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import platform
import secrets
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from api.platform.db.embedded import EmbeddedPostgres
from api.platform.db.pool import create_pool
from api.platform.settings import PROJECT_ROOT, DatabaseSettings, NotifySettings, SolapiSettings
from bench.common import fresh_database, start_fakes
from notifications.channels.console import ConsoleChannel
from notifications.channels.routed import RoutedSmsChannel
from notifications.channels.solapi import SolapiChannel, national
from notifications.dispatcher import Dispatcher
from notifications.service import Notifier, Outgoing

DATABASE = "safecity_bench_korea_sms"
BATCH = 500
SHORT = "오늘 오후 3시 강풍 주의. 외출을 삼가세요."
LONG = "저지대와 지하 공간을 벗어나 가까운 대피소로 가세요. 승강기 대신 계단을 이용하세요. " * 3


def phone(n: int) -> str:
    return f"+8210{30000000 + n:08d}"


async def enqueue(url: str, count: int) -> None:
    pool = await create_pool(DatabaseSettings(url=url, pool_max=2))
    notifier = Notifier(msgspec.structs.replace(NotifySettings(), korean_lms=True))
    items = [
        Outgoing(
            dedupe_key=f"bench-korea:{n}",
            template="notice.test",
            params={"text": LONG if n % 3 == 0 else SHORT},
            phone=phone(n),
        )
        for n in range(count)
    ]
    try:
        async with pool.acquire() as conn, conn.transaction():
            await notifier.enqueue_many(conn, items=items, now=datetime.now(UTC))
    finally:
        await pool.close()


async def dispatch(url: str, solapi: SolapiSettings, count: int) -> dict[str, Any]:
    pool = await create_pool(DatabaseSettings(url=url, pool_max=4))
    sms = RoutedSmsChannel(korea=SolapiChannel(solapi), other=ConsoleChannel("sms"))
    dispatcher = Dispatcher(pool, {"sms": sms}, NotifySettings(batch_size=BATCH))
    try:
        started = time.perf_counter()
        reports = await dispatcher.drain(max_batches=count // BATCH + 2)
        seconds = time.perf_counter() - started
        async with pool.acquire() as conn:
            states = dict(await conn.fetch("SELECT state, count(*) FROM outbox GROUP BY state"))
    finally:
        await sms.aclose()
        await pool.close()
    return {
        "messages": count,
        "batches": len(reports),
        "seconds": round(seconds, 3),
        "sends_per_s": round(count / seconds, 1),
        "states": states,
    }


def _authorization(api_key: str, api_secret: str) -> str:
    date = datetime.now(UTC).isoformat()
    salt = secrets.token_hex(16)
    signature = hmac.new(api_secret.encode(), (date + salt).encode(), hashlib.sha256).hexdigest()
    return f"HMAC-SHA256 ApiKey={api_key}, Date={date}, salt={salt}, signature={signature}"


def raw_loop(solapi: SolapiSettings, count: int) -> dict[str, Any]:
    """The same messages in the same batches, posted by a bare httpx client on one kept-alive connection."""
    assert solapi.api_key and solapi.api_secret and solapi.sender
    sender = national(solapi.sender)
    messages = [
        {
            "to": national(phone(n)),
            "from": sender,
            "text": "[안전서울] 안전서울 알림 시험\n" + (LONG if n % 3 == 0 else SHORT),
            "type": "LMS" if n % 3 == 0 else "SMS",
            "customFields": {"n": str(n % BATCH)},
        }
        for n in range(count)
    ]
    started = time.perf_counter()
    with httpx.Client(base_url=str(solapi.base_url), timeout=30) as client:
        for start in range(0, count, BATCH):
            body = {"messages": messages[start : start + BATCH], "allowDuplicates": True, "showMessageList": True}
            headers = {"Authorization": _authorization(solapi.api_key, solapi.api_secret)}
            client.post("/messages/v4/send-many/detail", json=body, headers=headers).raise_for_status()
    seconds = time.perf_counter() - started
    return {"messages": count, "seconds": round(seconds, 3), "sends_per_s": round(count / seconds, 1)}


def fake_sent(base_url: str) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = httpx.get(f"{base_url}/_fake/sent", timeout=60).json()
    return sent


async def measure(server_url: str, info: dict[str, Any], count: int) -> dict[str, Any]:
    env = info["solapi_env"]
    solapi = SolapiSettings(
        api_key=env["SOLAPI_API_KEY"],
        api_secret=env["SOLAPI_API_SECRET"],
        sender=env["SOLAPI_SENDER"],
        base_url=env["SOLAPI_BASE_URL"],
    )
    url = await fresh_database(server_url, DATABASE)
    await enqueue(url, count)
    dispatcher = await dispatch(url, solapi, count)
    sent = fake_sent(solapi.base_url or "")
    per_number = Counter(m["to"] for m in sent)
    dispatcher["each_number_once"] = len(per_number) == count and set(per_number.values()) == {1}
    dispatcher["lms"] = sum(1 for m in sent if m["type"] == "LMS")
    httpx.post(f"{solapi.base_url}/_fake/control", json={"reset": True}, timeout=10).raise_for_status()
    raw = raw_loop(solapi, count)
    ratio = round(dispatcher["sends_per_s"] / raw["sends_per_s"], 3) if raw["sends_per_s"] else None
    return {"dispatcher": dispatcher, "raw_httpx_loop": raw, "ratio": ratio}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sms", type=int, default=5000)
    args = parser.parse_args()

    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    fakes, info = start_fakes()
    try:
        result = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "batch": BATCH,
            **asyncio.run(measure(server_url, info, args.sms)),
        }
    finally:
        fakes.terminate()
        fakes.wait(timeout=10)
        if embedded is not None:
            embedded.stop()
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
