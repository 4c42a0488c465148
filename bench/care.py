"""Benchmark of care check-ins: the escalation sweep over a city of plans, and check-ins posted from the app.

(1) Loads, in set-based SQL, 1,000,000 people living alone across the 25 districts, each with a guardian and a
    plan (09:00 and 19:00, a 120-minute window, every day), as they stand at 11:00 in Seoul on 2026-11-24:
    98% checked in this morning and wait for 19:00; 2% were reminded at 09:00 and are due their second reminder.
(2) Times ``SELECT count(*)`` of the due plans (the least any sweep must do), then one ``care.sweep`` run at
    11:00 through the worker's ``run_job``, with where its time went.
(3) Starts ``safecity api`` as a separate process and posts ``/v1/care/checkins`` from a load generator in
    another process, as 10,000 different people in turn (one citizen token each), so requests land on
    different plans, not one hot row; then counts the check-ins written.

    .venv/bin/python -m bench.care [--recipients 1000000] [--citizens 10000] [--seconds 15] [--concurrency 32]

Uses its own embedded PostgreSQL (var/bench-pgdata) or BENCH_DATABASE_URL, in a fresh database
``safecity_bench_care``. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import inspect
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

import api.platform.jobs.slots
import care.repository
import notifications.recipients_repository
import notifications.repository
import notifications.service
from api.platform.auth.tokens import Principal, Role, TokenIssuer
from api.platform.db.embedded import EmbeddedPostgres
from api.platform.db.pool import create_pool
from api.platform.districts import DISTRICTS
from api.platform.jobs.runner import run_job
from api.platform.logging import configure_logging
from api.platform.settings import PROJECT_ROOT, DatabaseSettings, LogSettings, Settings
from api.worker import JOBS
from bench.api import free_port, wait_ready
from bench.common import SECRET, fresh_database

DATABASE = "safecity_bench_care"
SEOUL = ZoneInfo("Asia/Seoul")
MORNING = datetime(2026, 11, 24, 9, 0, tzinfo=SEOUL)
SWEEP_AT = datetime(2026, 11, 24, 11, 0, tzinfo=SEOUL)  # the morning window (09:00 + 120 min) has just closed
EVENING = datetime(2026, 11, 24, 19, 0, tzinfo=SEOUL)

# Where the sweep's time goes: these functions are wrapped (in this process only) to add up their time.
PHASES = {
    "claim_sql": (api.platform.jobs.slots, "claim"),
    "advance_due_sql": (care.repository, "advance_due"),
    "guardians_sql": (care.repository, "guardians_of_many"),
    "render_templates": (notifications.service, "_render"),
    "notices_sql": (notifications.repository, "insert_notices"),
    "opted_out_sql": (notifications.recipients_repository, "opted_out"),
    "devices_sql": (notifications.recipients_repository, "devices_of"),
    "outbox_insert_sql": (notifications.repository, "insert_rows"),
    "finish_sql": (api.platform.jobs.slots, "finish"),
}


async def insert_people(conn: asyncpg.Connection, *, count: int, enrolled_at: datetime) -> None:
    """``count`` people in care spread over the 25 districts, each with one guardian, in two statements."""
    await conn.execute(
        """
        INSERT INTO care_recipients (name, phone, language, district, address, contact_by, consent_by, consent_at,
                                     consent_scope, enrolled_by, created_at, updated_at)
        SELECT '어르신 ' || g, '+8210' || (10000000 + g)::text, CASE WHEN g % 20 = 0 THEN 'en' ELSE 'ko' END,
               ($2::text[])[1 + g % cardinality($2::text[])], '서울특별시 ' || g || '번지', 'sms', '본인', $3,
               '안부 확인 문자, 미응답 시 보호자 연락과 사례 개입', 'staff:1', $3, $3
        FROM generate_series(1, $1::int) g
        """,
        count,
        sorted(DISTRICTS),
        enrolled_at,
    )
    await conn.execute(
        """
        INSERT INTO guardians (recipient_id, position, name, phone, relation)
        SELECT id, 1, '보호자 ' || id, '+8210' || (50000000 + id)::text, '자녀' FROM care_recipients
        """
    )


async def load(conn: asyncpg.Connection, *, recipients: int, citizens: int) -> dict[str, float]:
    """The city as it stands at 11:00, in a few set-based statements; seconds per part."""
    seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def part(name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        seconds[name] = round(time.perf_counter() - started, 2)

    with part("care_recipients_and_guardians"):
        await insert_people(conn, count=recipients, enrolled_at=MORNING - timedelta(days=30))
    with part("checkin_plans"):
        await conn.execute(
            """
            INSERT INTO checkin_plans (recipient_id, times, days, window_min, slot_at, step, due_at, updated_at)
            SELECT id, '{09:00,19:00}', '{1,2,3,4,5,6,7}', 120,
                   CASE WHEN missed THEN $1::timestamptz ELSE $3::timestamptz END,
                   CASE WHEN missed THEN 1 ELSE 0 END,
                   CASE WHEN missed THEN $2::timestamptz ELSE $3::timestamptz END,
                   $1
            FROM (SELECT id, id % 50 = 25 AS missed FROM care_recipients) r  -- 2%, none of them a citizen below
            """,
            MORNING,
            SWEEP_AT,
            EVENING,
        )
        # The first reminder, at 09:00, as the sweep recorded it then.
        await conn.execute(
            """
            INSERT INTO care_steps (recipient_id, slot_at, step, taken_at)
            SELECT id, $1, 1, $1 FROM care_recipients WHERE id % 50 = 25
            """,
            MORNING,
        )
    with part("citizens"):
        await conn.execute(
            """
            INSERT INTO citizens (phone, language, district)
            SELECT phone, language, district FROM care_recipients WHERE id % $2 = 0 ORDER BY id LIMIT $1
            """,
            citizens,
            max(recipients // citizens, 1),  # every 100th person: spread over the districts, all on time
        )
    with part("vacuum_analyze"):
        await conn.execute("VACUUM ANALYZE")
    return seconds


async def bare_due_count(conn: asyncpg.Connection) -> dict[str, object]:
    """``count(*)`` of the due plans: median of 5 runs after a warm-up."""
    query = "SELECT count(*) FROM checkin_plans WHERE due_at <= $1"
    due = await conn.fetchval(query, SWEEP_AT)
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        await conn.fetchval(query, SWEEP_AT)
        runs.append(time.perf_counter() - started)
    plan = [r[0] for r in await conn.fetch("EXPLAIN " + query.replace("$1", "$1::timestamptz"), SWEEP_AT)]
    scan = next((line.strip(" ->") for line in plan if "Scan" in line), plan[0])
    return {"seconds": round(statistics.median(runs), 6), "due": due, "plan": scan}


@contextlib.contextmanager
def timed(phases: dict[str, tuple[Any, str]]) -> Iterator[tuple[dict[str, float], dict[str, float]]]:
    """Wrap each (module, function) to add up the seconds spent in it, and note when it last returned."""
    spent: dict[str, float] = defaultdict(float)
    ended: dict[str, float] = {}
    originals = {name: getattr(module, attr) for name, (module, attr) in phases.items()}

    def wrap(name: str, fn: Any) -> Any:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await fn(*args, **kwargs)
                finally:
                    ended[name] = time.perf_counter()
                    spent[name] += ended[name] - started

            return timed_async

        @functools.wraps(fn)
        def timed_sync(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                ended[name] = time.perf_counter()
                spent[name] += ended[name] - started

        return timed_sync

    for name, (module, attr) in phases.items():
        setattr(module, attr, wrap(name, originals[name]))
    try:
        yield spent, ended
    finally:
        for name, (module, attr) in phases.items():
            setattr(module, attr, originals[name])


async def sweep_once(url: str) -> dict[str, object]:
    """One ``care.sweep`` run at 11:00, as the worker runs it (claim, work, record, in one transaction)."""
    pool = await create_pool(DatabaseSettings(url=url, pool_max=2))
    try:
        async with pool.acquire() as conn:
            outbox_before = await conn.fetchval("SELECT count(*) FROM outbox")
            bare = await bare_due_count(conn)
        settings = Settings.from_env({"JWT_SECRET": SECRET})
        with timed(PHASES) as (spent, ended):
            started = time.perf_counter()
            run = await run_job(pool, JOBS["care.sweep"], now=SWEEP_AT, settings=settings)
            done = time.perf_counter()
        seconds = done - started
        async with pool.acquire() as conn:
            advanced = await conn.fetchval(
                "SELECT count(*) FROM checkin_plans WHERE updated_at = $1 AND step = 2", SWEEP_AT
            )
            outbox = await conn.fetchval("SELECT count(*) FROM outbox") - outbox_before
            steps = await conn.fetchval("SELECT count(*) FROM care_steps WHERE taken_at = $1", SWEEP_AT)
    finally:
        await pool.close()
    result = run.result or {}
    phases = {name: round(spent.get(name, 0.0), 3) for name in PHASES}
    commit = done - ended["finish_sql"] if "finish_sql" in ended else 0.0  # and the connection back to the pool
    phases["commit"] = round(commit, 3)
    phases["python_between"] = round(seconds - sum(spent.values()) - commit, 3)  # building messages, rows
    return {
        "sweep": {
            "ran": run.ran,
            "seconds": round(seconds, 3),
            "plans_advanced": advanced,
            "steps_recorded": steps,
            "deliveries": result.get("deliveries", 0),
            "outbox_rows_created": outbox,
            "result": result,
            "phases_seconds": phases,
        },
        "bare_due_count": bare,
        "sweep_vs_bare": round(seconds / bare["seconds"], 1) if bare["seconds"] else None,
    }


async def citizens_of(url: str) -> list[tuple[int, str]]:
    conn = await asyncpg.connect(url)
    try:
        return [(r["id"], r["phone"]) for r in await conn.fetch("SELECT id, phone FROM citizens ORDER BY id")]
    finally:
        await conn.close()


async def count_checkins(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT count(*) FROM checkins")
    finally:
        await conn.close()


def post_checkins(url: str, tokens: list[str], *, seconds: float, concurrency: int) -> dict[str, object]:
    """``safecity api`` in its own process, loaded from bench.loadgen in another, each request a different person."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORT": str(port),
        "JWT_SECRET": SECRET,
        "DB_POOL_MAX": "10",
        "LOG_LEVEL": "WARNING",
    }
    api = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/ready")
        # One check-in first, so a broken route fails here rather than as a benchmark of 4xx.
        smoke = httpx.post(f"{base}/v1/care/checkins", headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=10)
        if smoke.status_code != 201:
            raise SystemExit(f"POST /v1/care/checkins answered {smoke.status_code}: {smoke.text}")
        before = asyncio.run(count_checkins(url))
        with tempfile.TemporaryDirectory(prefix="bench-care-") as tmp:
            tokens_file = Path(tmp) / "tokens.txt"
            tokens_file.write_text("\n".join(tokens) + "\n")
            argv = [
                sys.executable,
                "-m",
                "bench.loadgen",
                f"{base}/v1/care/checkins",
                "--method",
                "POST",
                "--tokens-file",
                str(tokens_file),
                "--seconds",
                str(seconds),
                "--concurrency",
                str(concurrency),
            ]
            result = json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)
        result["tokens"] = len(tokens)
        result["checkins_written"] = asyncio.run(count_checkins(url)) - before
    finally:
        api.terminate()
        api.wait(timeout=15)
    return result


async def prepare(server_url: str, *, recipients: int, citizens: int) -> tuple[str, dict[str, object]]:
    url = await fresh_database(server_url, DATABASE)
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        parts = await load(conn, recipients=recipients, citizens=citizens)
        seconds = time.perf_counter() - started
        info = {
            "postgres": await conn.fetchval("SHOW server_version"),
            "shared_buffers": await conn.fetchval("SHOW shared_buffers"),
            "database_size": await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))"),
        }
    finally:
        await conn.close()
    return url, {"load_seconds": round(seconds, 2), "load_parts_seconds": parts, **info}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--citizens", type=int, default=10_000, help="of the recipients, with an app account")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    configure_logging(LogSettings(level="WARNING"), process="bench")  # stdout carries the JSON alone

    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    try:
        url, loaded = asyncio.run(prepare(server_url, recipients=args.recipients, citizens=args.citizens))
        swept = asyncio.run(sweep_once(url))
        issuer = TokenIssuer(Settings.from_env({"JWT_SECRET": SECRET}))
        tokens = [
            issuer.issue(Principal(subject=f"citizen:{cid}", role=Role.citizen, phone=phone), ttl_s=3600)
            for cid, phone in asyncio.run(citizens_of(url))
        ]
        checkin_post = post_checkins(url, tokens, seconds=args.seconds, concurrency=args.concurrency)
    finally:
        if embedded is not None:
            embedded.stop()
    checkins_written = checkin_post.pop("checkins_written")
    print(
        json.dumps(
            {
                "benchmark": "care",
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "postgres": loaded.pop("postgres"),
                    "shared_buffers": loaded.pop("shared_buffers"),
                },
                "plans": args.recipients,
                "sweep_at": SWEEP_AT.isoformat(),
                **loaded,
                **swept,
                "checkin_post": {
                    "server": "safecity api: 1 uvicorn process, DB_POOL_MAX=10, LOG_LEVEL=WARNING",
                    **checkin_post,
                },
                "checkins_written": checkins_written,
            },
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
