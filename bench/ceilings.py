"""Three figures against their ceilings, measured in the same run, latency at a fixed rate (not saturation).

(1) ``sweep``: one ``care.sweep`` run over ``--recipients`` plans (2% due their second reminder), against one
    hand-written statement writing the same rows (the plans moved on, their steps, a notice and an SMS outbox row
    each), run first and rolled back.
(2) ``checkins``: ``POST /v1/care/checkins`` from ``safecity api`` (DB_POOL_MAX=10 a process) at
    ``--checkin-rate`` a second, each request as the next of 10,000 people with an ``Idempotency-Key`` of its own
    (as the app sends one), against a bare asyncpg INSERT of the same people's check-in rows (a pool of 10) at the
    same rate from the same generator (bench/fixed_rate.py, in its own process). Target: 500 a second with p99 < 50 ms.
(3) ``nearest``: ``GET /v1/shelters/nearest`` (heat wave, 3 shelters) at ``--nearest-rate`` a second at random
    points in Seoul, against the bare KNN query (``ORDER BY plane <-> point LIMIT 3``) at the same points and rate.

    nice -n 10 .venv/bin/python -m bench.ceilings [--recipients 1000000] [--checkin-rate 500] [--nearest-rate 200]
                                                  [--reuse] [--only checkins] [--api-workers 2]

``--reuse`` runs (2) and (3) again on the last run's database, at other rates. ``--only`` runs one part (or
several, repeated). ``--api-workers N`` serves the API as N processes on one port (``safecity api --workers N``,
as a deployment of several API instances would). Beside each figure: the CPU each request cost the API (all its
processes), PostgreSQL and the load generator.

Uses its own embedded PostgreSQL (var/bench-pgdata) or BENCH_DATABASE_URL. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg

from api.platform.auth.tokens import Principal, Role, TokenIssuer
from api.platform.db.embedded import EmbeddedPostgres, with_database
from api.platform.db.migrations import migrate
from api.platform.db.pool import create_pool
from api.platform.jobs.runner import run_job
from api.platform.logging import configure_logging
from api.platform.settings import PROJECT_ROOT, DatabaseSettings, LogSettings, Settings
from api.worker import JOBS
from bench.api import free_port, wait_ready
from bench.care import SWEEP_AT, citizens_of, load
from bench.common import SECRET, fresh_database
from bench.cpu import meter, postgres_seconds, tree_seconds
from bench.evacuation import import_shelters

DATABASE = "safecity_bench_ceilings"
PARTS = ("sweep", "checkins", "nearest")

# What bench/cpu.py reads per process: the API (with its worker processes) and the database.
Readers = dict[str, Callable[[], float]]

# The sweep's rows, hand-written: the due plans move to step 2, the step is recorded, and each person gets a notice
# and an SMS (the second reminder) in the outbox.
SWEEP_BY_HAND = """
WITH due AS (
    SELECT recipient_id, slot_at FROM checkin_plans WHERE due_at <= $1 FOR UPDATE
), moved AS (
    UPDATE checkin_plans p
    SET step = p.step + 1, due_at = p.slot_at + make_interval(mins => p.window_min + p.guardian_after_min),
        updated_at = $1
    FROM due WHERE p.recipient_id = due.recipient_id
    RETURNING p.recipient_id, due.slot_at, p.step AS taken
), steps AS (
    INSERT INTO care_steps (recipient_id, slot_at, step, taken_at)
    SELECT recipient_id, slot_at, taken, $1 FROM moved
    RETURNING recipient_id, slot_at, step
), told AS (
    INSERT INTO notices (dedupe_key, template, created_at)
    SELECT 'care:' || recipient_id || ':' || slot_at || ':' || step, 'care.missed_checkin.reminder', $1 FROM steps
    RETURNING id, dedupe_key
)
INSERT INTO outbox (notice_id, channel, recipient, template, language, body, priority, max_attempts,
                    created_at, updated_at, next_attempt_at)
SELECT t.id, 'sms', r.phone, 'care.missed_checkin.reminder', r.language,
       '[안전서울] ' || r.name || '님, 안부 확인입니다. 괜찮으시면 1을 답장해 주세요.', 0, 5, $1, $1, $1
FROM told t JOIN care_recipients r ON r.id = split_part(t.dedupe_key, ':', 2)::bigint
"""


async def sweep_against_hand(url: str) -> dict[str, Any]:
    """The hand-written statement twice (rolled back; the second timed), then the sweep as the worker runs it."""
    conn = await asyncpg.connect(url)
    try:
        for _ in range(2):
            tr = conn.transaction()
            await tr.start()
            started = time.perf_counter()
            status = await conn.execute(SWEEP_BY_HAND, SWEEP_AT)
            by_hand = time.perf_counter() - started
            await tr.rollback()
        outbox_before = await conn.fetchval("SELECT count(*) FROM outbox")
    finally:
        await conn.close()
    pool = await create_pool(DatabaseSettings(url=url, pool_max=2))
    try:
        started = time.perf_counter()
        run = await run_job(pool, JOBS["care.sweep"], now=SWEEP_AT, settings=Settings.from_env({"JWT_SECRET": SECRET}))
        sweep = time.perf_counter() - started
        outbox_rows = await pool.fetchval("SELECT count(*) FROM outbox") - outbox_before
    finally:
        await pool.close()
    return {
        "sweep_s": round(sweep, 3),
        "sweep_outbox_rows": outbox_rows,
        "sweep_result": run.result,
        "by_hand_s": round(by_hand, 3),
        "by_hand_outbox_rows": int(status.split()[-1]),
        "ratio": round(sweep / by_hand, 2),
    }


def fixed_rate(*argv: str) -> dict[str, Any]:
    """One fixed-rate figure from the generator in its own process, with the CPU that process spent on it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, "-m", "bench.fixed_rate", *argv], capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figure = json.loads(out.stdout)
    spent = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    figure["generator_cpu_ms_per_request"] = round(spent * 1000 / max(figure["sent_in_all"], 1), 3)
    return figure


def start_api(url: str, *, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORT": str(port),
        "JWT_SECRET": SECRET,
        "DB_POOL_MAX": "10",
        "LOG_LEVEL": "WARNING",
    }
    # ``--workers N``: uvicorn's N processes on the one listening socket, as `safecity api --workers` deploys.
    api = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "api", "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/ready", timeout_s=300)
    except BaseException:
        api.terminate()  # never left running behind a failed start
        api.wait(timeout=15)
        raise
    return api, base


async def people(url: str) -> tuple[list[str], list[int]]:
    """A token per citizen in care, and their care ids in the same order."""
    issuer = TokenIssuer(Settings.from_env({"JWT_SECRET": SECRET}))
    citizens = await citizens_of(url)
    tokens = [
        issuer.issue(Principal(subject=f"citizen:{cid}", role=Role.citizen, phone=phone), ttl_s=3600)
        for cid, phone in citizens
    ]
    conn = await asyncpg.connect(url)
    try:
        ids = dict(
            await conn.fetch(
                "SELECT phone, id FROM care_recipients WHERE phone = ANY($1::text[])", [p for _, p in citizens]
            )
        )
    finally:
        await conn.close()
    return tokens, [ids[phone] for _, phone in citizens]


def ratio(figure: dict[str, Any], ceiling: dict[str, Any]) -> dict[str, float]:
    return {p: round(figure["latency_ms"][p] / max(ceiling["latency_ms"][p], 0.01), 2) for p in ("p50", "p99")}


async def checkpoint(url: str) -> None:
    """Write out what loading left dirty. Loading a million plans leaves PostgreSQL a checkpoint every few seconds
    for minutes after; one's fsync (0.16 s in a run of 2026-12-07) held every commit back, and it fell in one
    figure's window and not in its ceiling's. Each figure starts from a checkpoint, as a server at work does."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


def cpu_cost(readers: dict[str, Any], run: Any, *, rate: float, url: str) -> dict[str, Any]:
    """Run ``run()`` (a fixed-rate figure), after a checkpoint, and add the CPU milliseconds each request cost, and
    the cores the asked rate needs at that cost."""
    asyncio.run(checkpoint(url))
    per_request = meter(**readers)
    figure = run()
    ms = per_request(figure["sent_in_all"])
    figure["cpu_ms_per_request"] = ms
    figure["cores_needed_at_rate"] = round(rate * sum(ms.values()) / 1000, 2)
    return figure


def run_http(
    url: str,
    *,
    parts: set[str],
    checkin_rate: float,
    nearest_rate: float,
    seconds: float,
    api_workers: int = 1,
    pgdata: Path | None = None,
) -> dict[str, Any]:
    tokens, ids = asyncio.run(people(url))
    api, base = start_api(url, workers=api_workers)
    out: dict[str, Any] = {}
    # CPU per request: the API process and, on the embedded server, PostgreSQL with its backends (bench/cpu.py).
    readers: Readers = {"api": lambda: tree_seconds(api.pid)}
    if pgdata is not None:
        readers["postgres"] = lambda: postgres_seconds(pgdata)
    try:
        if "checkins" in parts:
            figure = checkins(url, base, readers, tokens=tokens, ids=ids, rate=checkin_rate, seconds=seconds)
            out["checkins"] = {"api_processes": api_workers, **figure}
        if "nearest" in parts:
            out["nearest"] = nearest(url, base, readers, rate=nearest_rate, seconds=seconds)
    finally:
        api.terminate()
        api.wait(timeout=15)
    return out


def checkins(
    url: str, base: str, readers: Readers, *, tokens: list[str], ids: list[int], rate: float, seconds: float
) -> dict[str, Any]:
    """``POST /v1/care/checkins`` against the bare INSERT of the same people's rows, same rate, same generator."""
    database = {k: v for k, v in readers.items() if k != "api"}
    with tempfile.TemporaryDirectory(prefix="bench-ceilings-") as tmp:
        tokens_file, ids_file = Path(tmp) / "tokens.txt", Path(tmp) / "ids.txt"
        tokens_file.write_text("\n".join(tokens) + "\n")
        ids_file.write_text("\n".join(map(str, ids)) + "\n")
        every, span = str(rate), str(seconds)
        post = cpu_cost(readers, lambda: fixed_rate(
            "http", f"{base}/v1/care/checkins", "--method", "POST", "--tokens-file", str(tokens_file),
            "--idempotency-keys", "--rate", every, "--seconds", span,
        ), rate=rate, url=url)  # fmt: skip
        bare = cpu_cost(database, lambda: fixed_rate(
            "checkin-sql", url, "--ids-file", str(ids_file), "--rate", every, "--seconds", span
        ), rate=rate, url=url)  # fmt: skip
    return {
        "api": post,
        "bare_insert": bare,
        "ratio": ratio(post, bare),
        "target": f"{rate:g}/s with p99 < 50 ms",
        "met": post["achieved_per_s"] >= 0.98 * rate and post["latency_ms"]["p99"] < 50 and post["errors"] == 0,
    }


def nearest(url: str, base: str, readers: Readers, *, rate: float, seconds: float) -> dict[str, Any]:
    """``GET /v1/shelters/nearest`` against the bare KNN query at the same points and rate."""
    database = {k: v for k, v in readers.items() if k != "api"}
    every = str(rate)
    route = f"{base}/v1/shelters/nearest?lat={{lat}}&lon={{lon}}&hazard=heat_wave&limit=3"
    api_nearest = cpu_cost(
        readers,
        lambda: fixed_rate("http", route, "--points", "--rate", every, "--seconds", str(seconds)),
        rate=rate,
        url=url,
    )
    knn = cpu_cost(
        database, lambda: fixed_rate("knn-sql", url, "--rate", every, "--seconds", str(seconds)), rate=rate, url=url
    )
    return {"api": api_nearest, "bare_knn": knn, "ratio": ratio(api_nearest, knn)}


async def migrated(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn, PROJECT_ROOT / "migrations")
    finally:
        await conn.close()


async def prepare(server_url: str, *, recipients: int) -> tuple[str, dict[str, Any]]:
    url = await fresh_database(server_url, DATABASE)
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        await load(conn, recipients=recipients, citizens=10_000)
        await import_shelters(conn)
        await conn.execute("ANALYZE")
        info = {
            "load_s": round(time.perf_counter() - started, 1),
            "postgres": await conn.fetchval("SHOW server_version"),
            "plans": await conn.fetchval("SELECT count(*) FROM checkin_plans"),
            "due": await conn.fetchval("SELECT count(*) FROM checkin_plans WHERE due_at <= $1", SWEEP_AT),
            "shelters": await conn.fetchval("SELECT count(*) FROM shelters WHERE active"),
        }
    finally:
        await conn.close()
    return url, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--checkin-rate", type=float, default=500)
    parser.add_argument("--nearest-rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--only", choices=PARTS, action="append", help="run only this part (repeatable)")
    parser.add_argument(
        "--api-workers", type=int, default=1, help="API processes on the one port (`safecity api --workers`)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="the last run's database as it is: no load and no sweep (its plans moved)"
    )
    args = parser.parse_args()
    parts = set(args.only or PARTS)
    configure_logging(LogSettings(level="WARNING"), process="bench")  # stdout carries the JSON alone
    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    load_before = os.getloadavg()
    try:
        if args.reuse:
            url, info, sweep = with_database(server_url, DATABASE), {"reused": DATABASE}, None
            asyncio.run(migrated(url))  # the API is not ready on a database with migrations to apply
        else:
            url, info = asyncio.run(prepare(server_url, recipients=args.recipients))
            sweep = asyncio.run(sweep_against_hand(url)) if "sweep" in parts else None
        http = run_http(
            url,
            parts=parts,
            api_workers=args.api_workers,
            checkin_rate=args.checkin_rate,
            nearest_rate=args.nearest_rate,
            seconds=args.seconds,
            pgdata=embedded.pgdata if embedded is not None else None,
        )
    finally:
        if embedded is not None:
            embedded.stop()
    machine = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_start_end": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
    }
    print(
        json.dumps(
            {"benchmark": "ceilings", "machine": machine, **info, "sweep": sweep, **http}, indent=2, ensure_ascii=False
        )
    )


if __name__ == "__main__":
    main()
