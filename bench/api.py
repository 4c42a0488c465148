"""Benchmark of the API: ``GET /ready`` and an authenticated, database-backed ``GET /v1/me``.

Starts its own PostgreSQL (embedded, under var/bench-pgdata; or BENCH_DATABASE_URL), migrates it, starts
``safecity api`` as a separate process, and drives each endpoint from a load generator in another process.

    .venv/bin/python -m bench.api [--seconds 15] [--concurrency 32]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import time

import asyncpg
import httpx

from api.accounts.service import ensure_citizen
from api.platform.auth.tokens import Principal, Role, TokenIssuer
from api.platform.db.embedded import EmbeddedPostgres, drop_database, ensure_database
from api.platform.db.migrations import migrate
from api.platform.settings import PROJECT_ROOT, Settings

PHONE = "+821099990000"
SECRET = "bench-secret-0123456789-0123456789-0123456789"  # noqa: S105 - a throwaway bench database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def prepare(server_url: str) -> tuple[str, int]:
    await drop_database(server_url, "safecity_bench")  # every run starts from an empty, migrated database
    url = await ensure_database(server_url, "safecity_bench")
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn, PROJECT_ROOT / "migrations")
        citizen_id = await ensure_citizen(conn, phone=PHONE)
    finally:
        await conn.close()
    return url, citizen_id


def wait_ready(url: str, *, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} never became ready")


def load(url: str, *, seconds: float, concurrency: int, headers: list[str]) -> dict[str, object]:
    argv = [
        sys.executable,
        "-m",
        "bench.loadgen",
        url,
        "--seconds",
        str(seconds),
        "--concurrency",
        str(concurrency),
    ]
    for header in headers:
        argv += ["--header", header]
    return json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    url, citizen_id = asyncio.run(prepare(server_url))
    settings = Settings.from_env({"JWT_SECRET": SECRET})
    token = TokenIssuer(settings).issue(
        Principal(subject=f"citizen:{citizen_id}", role=Role.citizen, phone=PHONE), ttl_s=3600
    )

    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "PORT": str(port), "JWT_SECRET": SECRET, "DB_POOL_MAX": "10"}
    api = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/ready")
        results = {
            "ready": load(f"{base}/ready", seconds=args.seconds, concurrency=args.concurrency, headers=[]),
            "me": load(
                f"{base}/v1/me",
                seconds=args.seconds,
                concurrency=args.concurrency,
                headers=[f"Authorization: Bearer {token}"],
            ),
        }
    finally:
        api.terminate()
        api.wait(timeout=15)
        if embedded is not None:
            embedded.stop()
    print(
        json.dumps(
            {
                "benchmark": "api",
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "server": "safecity api: 1 uvicorn process, uvloop, JSON request logs on",
                "load_generator": "bench/loadgen.py in its own process (wrk if installed, else httpx)",
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
