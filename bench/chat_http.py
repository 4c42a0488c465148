"""Benchmark of the app's chat: ``POST /v1/chat`` round trips through the API, Rasa and the action server.

Starts its own PostgreSQL (embedded, under var/bench-pgdata; or BENCH_DATABASE_URL) with a fresh database
``safecity_bench_chat`` holding 1,000 citizens across the districts and the demo shelters; starts Rasa and the
action server as ``safecity run`` does (api/cli/chatbot.py: bot/.venv and the trained model, ``make bot-model``)
and ``safecity api`` as separate processes; then drives ``POST /v1/chat`` from a second process at a steady
concurrency, each request as the next citizen in turn (one token each) with the next of a few messages (a
greeting, a shelter question, the warnings, a check-in, in Korean and English: half of them run an action
that calls the API back). For comparison the same messages go straight to Rasa's REST webhook.

    .venv/bin/python -m bench.chat_http [--seconds 20] [--concurrency 4] [--citizens 1000] [--rate 5]

With ``--rate``, the load is open loop instead: a turn every 1/rate seconds (at most ``--concurrency`` in
flight), its latency counted from when it was due (bench/fixed_rate.py), and the ratio to Rasa alone at the same
rate is printed with the target (5 turns a second with p50 < 100 ms).

Prints one JSON object. (The NLU part, bench/chat.py, is the bot project's.)
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
import tempfile
import time
from itertools import cycle
from pathlib import Path

import asyncpg
import httpx

from api.cli import chatbot
from api.evacuation.service import load_demo
from api.platform.auth.tokens import Principal, Role, TokenIssuer
from api.platform.db.embedded import EmbeddedPostgres, drop_database
from api.platform.settings import PROJECT_ROOT, AuthSettings, HttpSettings, RasaSettings, Settings
from bench.api import free_port, wait_ready
from bench.common import SECRET, fresh_database
from bench.cpu import meter, postgres_seconds, tree_seconds
from bench.fixed_rate import open_loop

DATABASE = "safecity_bench_chat"
TRACKER_DB = "safecity_bench_rasa"
MESSAGES = [
    "안녕하세요",
    "가까운 대피소 어디예요?",
    "지금 특보 있어요?",
    "잘 지내요",
    "hello",
    "where is the nearest shelter",
]


async def prepare(server_url: str, *, citizens: int) -> tuple[str, list[int]]:
    url = await fresh_database(server_url, DATABASE)
    conn = await asyncpg.connect(url)
    try:
        await load_demo(conn)
        ids = await conn.fetch(
            """
            INSERT INTO citizens (phone, district)
            SELECT '+8210' || lpad((40000000 + g)::text, 8, '0'), (SELECT code FROM districts ORDER BY code
                   OFFSET g % 25 LIMIT 1)
            FROM generate_series(1, $1) AS g
            RETURNING id
            """,
            citizens,
        )
    finally:
        await conn.close()
    return url, [r["id"] for r in ids]


def percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    at = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)  # noqa: E731
    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": round(ordered[-1] * 1000, 1),
            "mean": round(statistics.fmean(ordered) * 1000, 1)}  # fmt: skip


async def drive(
    url: str, *, target: str, tokens: list[str], seconds: float, concurrency: int, rate: float | None = None
) -> dict[str, object]:
    """The load generator (run in its own process): closed loop, ``concurrency`` requests in flight; or, given a
    ``rate``, open loop at that rate."""
    latencies: list[float] = []
    errors: list[str] = []
    apologies = 0
    turns = cycle(enumerate(tokens))
    messages = cycle(MESSAGES)

    async def one(client: httpx.AsyncClient) -> bool:
        nonlocal apologies
        index, token = next(turns)
        message = next(messages)
        if target == "api":
            request = client.post("/v1/chat", json={"message": message}, headers={"Authorization": f"Bearer {token}"})
        else:
            payload = {"sender": f"bench-{index}", "message": message, "metadata": {"language": "ko", "channel": "app"}}
            request = client.post("/webhooks/rest/webhook", json=payload)
        started = time.perf_counter()
        error = None
        try:
            response = await request
            if response.status_code != 200:
                error = str(response.status_code)
            elif target == "api" and not response.json()["bot_available"]:
                apologies += 1
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        latencies.append(time.perf_counter() - started)
        if error is not None:
            errors.append(error)
        return error is None

    async def worker(client: httpx.AsyncClient, deadline: float) -> None:
        while time.perf_counter() < deadline:
            await one(client)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        await one(client)  # a connection, and Rasa's first tracker, before the clock starts
        latencies.clear()
        if rate is not None:
            errors.clear()
            fixed = await open_loop(lambda _: one(client), rate=rate, seconds=seconds, in_flight=concurrency)
            return {**fixed, "error_kinds": sorted(set(errors)), "apologies": apologies}
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(worker(client, deadline) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "latency_ms": percentiles(latencies),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "apologies": apologies,
    }


def load(
    url: str, *, target: str, tokens: list[str], seconds: float, concurrency: int, rate: float | None
) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
        tokens_file = Path(tmp) / "tokens.txt"
        tokens_file.write_text("\n".join(tokens) + "\n")
        argv = [sys.executable, "-m", "bench.chat_http", "--drive", url, "--target", target, "--tokens-file",
                str(tokens_file), "--seconds", str(seconds), "--concurrency", str(concurrency)]  # fmt: skip
        if rate is not None:
            argv += ["--rate", str(rate)]
        return json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def run(server_url: str, args: argparse.Namespace, pgdata: Path | None = None) -> dict[str, object]:
    url, citizen_ids = asyncio.run(prepare(server_url, citizens=args.citizens))
    api_port, rasa_port, actions_port = free_port(), free_port(), free_port()
    settings = Settings(
        auth=AuthSettings(jwt_secret=SECRET),
        http=HttpSettings(port=api_port),
        rasa=RasaSettings(url=f"http://127.0.0.1:{rasa_port}", actions_port=actions_port, tracker_db=TRACKER_DB),
    )
    reason = chatbot.off_because(settings)
    if reason:
        raise SystemExit(f"the chatbot cannot start: {reason}")
    asyncio.run(drop_database(server_url, TRACKER_DB))
    issuer = TokenIssuer(settings)
    tokens = [issuer.issue(Principal(subject=f"citizen:{i}", role=Role.citizen), ttl_s=3600) for i in citizen_ids]
    log = Path(tempfile.mkdtemp(prefix="bench-chat-")) / "processes.log"
    procs = [start(argv, {**os.environ, **env, "LOG_LEVEL": "WARNING"}, log)
             for _, argv, env in asyncio.run(chatbot.processes(settings, database_url=url))]  # fmt: skip
    api_env = {**os.environ, "DATABASE_URL": url, "PORT": str(api_port), "JWT_SECRET": SECRET, "DB_POOL_MAX": "10",
               "RASA_URL": f"http://127.0.0.1:{rasa_port}", "RASA_ENABLED": "true", "RASA_TIMEOUT": "10",
               "LOG_LEVEL": "WARNING"}  # fmt: skip
    procs.append(start([sys.executable, "-m", "api.cli", "api"], api_env, log))
    try:
        base = f"http://127.0.0.1:{api_port}"
        wait_ready(f"{base}/ready", timeout_s=300)  # Rasa loads its model meanwhile, slowly on a busy machine
        chatbot.wait_up(f"http://127.0.0.1:{actions_port}/health", procs, log)
        chatbot.wait_up(f"http://127.0.0.1:{rasa_port}/webhooks/rest/", procs, log)
        options = {"tokens": tokens, "seconds": args.seconds, "concurrency": args.concurrency, "rate": args.rate}
        # CPU milliseconds per turn of each process (bench/cpu.py): where a turn's cost is, whatever shares the cores.
        rasa_proc, actions_proc, api_proc = procs
        readers = {"rasa": lambda: tree_seconds(rasa_proc.pid), "actions": lambda: tree_seconds(actions_proc.pid),
                   "api": lambda: tree_seconds(api_proc.pid),
                   **({"postgres": lambda: postgres_seconds(pgdata)} if pgdata else {})}  # fmt: skip
        per_turn = meter(**readers)
        chat = load(base, target="api", **options)
        chat["cpu_ms_per_turn"] = per_turn(chat["requests"])  # type: ignore[arg-type]
        per_turn = meter(**readers)
        rasa = load(f"http://127.0.0.1:{rasa_port}", target="rasa", **options)
        rasa["cpu_ms_per_turn"] = per_turn(rasa["requests"])  # type: ignore[arg-type]
        ours, theirs = chat["latency_ms"], rasa["latency_ms"]
        compared: dict[str, object] = {
            "ratio": {p: round(ours[p] / max(theirs[p], 0.01), 2) for p in ("p50", "p99")}  # type: ignore[index]
        }
        if args.rate is not None:
            compared["target"] = f"{args.rate:g} turns/s with p50 < 100 ms"
            compared["met"] = chat["achieved_per_s"] >= 0.98 * args.rate and ours["p50"] < 100  # type: ignore[index]
        return {"chat_api": chat, "rasa_direct": rasa, **compared}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--citizens", type=int, default=1000)
    parser.add_argument("--rate", type=float, help="turns a second, open loop (default: closed loop)")
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--target", choices=("api", "rasa"), default="api", help=argparse.SUPPRESS)
    parser.add_argument("--tokens-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        tokens = Path(args.tokens_file).read_text().split()
        result = asyncio.run(
            drive(
                args.drive,
                target=args.target,
                tokens=tokens,
                seconds=args.seconds,
                concurrency=args.concurrency,
                rate=args.rate,
            )
        )
        print(json.dumps(result))
        return

    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    load_before = os.getloadavg()[0]
    try:
        results = run(server_url, args, pgdata=embedded.pgdata if embedded is not None else None)
    finally:
        if embedded is not None:
            embedded.stop()
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(),
               "load_average_start_end": [round(load_before, 1), round(os.getloadavg()[0], 1)]}  # fmt: skip
    report = {"benchmark": "chat_http", "machine": machine, "seconds": args.seconds,
              "concurrency": args.concurrency, "rate": args.rate, "messages": MESSAGES, **results}  # fmt: skip
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
