"""Benchmark of evacuation guidance: nearest-shelter requests over HTTP, and the bulk search a warning uses.

Starts its own PostgreSQL (embedded, under var/bench-pgdata; or BENCH_DATABASE_URL) with a fresh database
``safecity_bench_evac``, imports every real shelter file from ../shared/data/shelters (about 7,700 rows), then:

- serves the API in a separate process (uvicorn, one worker, as ``safecity api`` does) and drives
  ``GET /v1/shelters/nearest`` from a load generator in another process: wrk with a Lua script that picks a
  new random point in Seoul for every request (when wrk is installed), and bench/loadgen.py at a few fixed
  points (so the numbers compare with bench/api.py);
- times the bulk search (``service.nearest_for_points``) for 1,000,000 random points in Seoul, and checks a
  sample of its answers against a brute-force great-circle search.

    .venv/bin/python -m bench.evacuation [--seconds 10] [--concurrency 32] [--points 1000000]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg

from api.evacuation import importer, service
from api.evacuation.schemas import Hazard, ImportReport
from api.platform import geo
from api.platform.db.embedded import EmbeddedPostgres
from api.platform.settings import PROJECT_ROOT
from bench.api import free_port, wait_ready
from bench.common import fresh_database

DATABASE = "safecity_bench_evac"
SHELTERS = PROJECT_ROOT.parent / "shared" / "data" / "shelters"
# Where the random points fall: the part of Seoul where its shelters are (their bounding box).
AREA = geo.Bounds(south=37.43, north=37.69, west=126.80, east=127.18)
FIXED_POINTS = {
    "city_hall": (37.5663, 126.9779),
    "gangnam": (37.4979, 127.0276),
    "nowon": (37.6542, 127.0568),
    "gangseo": (37.5509, 126.8495),
}

RANDOM_POINTS_LUA = """
math.randomseed(%(seed)d)
request = function()
  local lat = %(south)f + math.random() * %(dlat)f
  local lon = %(west)f + math.random() * %(dlon)f
  local path = "/v1/shelters/nearest?lat=%%.6f&lon=%%.6f&hazard=%(hazard)s&limit=3"
  return wrk.format("GET", string.format(path, lat, lon))
end
"""


def app():  # type: ignore[no-untyped-def]
    """The API as ``safecity api`` serves it, with the evacuation routes even before the lead wires them in."""
    from api.app import ROUTES, app_from_env
    from api.evacuation.routes import GuidanceController, ShelterController

    application = app_from_env()
    for controller in (ShelterController, GuidanceController):
        if controller not in ROUTES:
            application.register(controller)
    return application


async def import_shelters(conn: asyncpg.Connection) -> list[ImportReport]:
    """Every real shelter file in ../shared/data/shelters, as ``safecity import-shelters`` loads one."""
    reports = []
    for path in sorted(SHELTERS.glob("*.csv")):
        parsed = importer.parse(path.read_bytes(), filename=path.name)
        reports.append(
            await service.import_file(conn, parsed, file=path.name, source="seoul-open-data", as_of=_modified_on(path))
        )
    return reports


async def prepare(server_url: str) -> tuple[str, dict[str, object]]:
    url = await fresh_database(server_url, DATABASE)
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        reports = await import_shelters(conn)
        elapsed = time.perf_counter() - started
        by_kind = dict(await conn.fetch("SELECT kind, count(*) FROM shelters WHERE active GROUP BY kind ORDER BY 1"))
    finally:
        await conn.close()
    return url, {
        "files": len(reports),
        "rows": sum(r.rows for r in reports),
        "loaded": sum(r.loaded for r in reports),
        "rejected": sum(r.rejected for r in reports),
        "by_kind": by_kind,
        "import_s": round(elapsed, 2),
    }


def _modified_on(path: Path) -> date:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).date()


def random_points_wrk(base: str, *, hazard: str, seconds: float, concurrency: int) -> dict[str, object]:
    """wrk, every request at a new random point (a Lua script), one thread as bench/loadgen.py runs it."""
    script = RANDOM_POINTS_LUA % {
        "seed": 20251124,
        "south": AREA.south,
        "dlat": AREA.north - AREA.south,
        "west": AREA.west,
        "dlon": AREA.east - AREA.west,
        "hazard": hazard,
    }
    with tempfile.TemporaryDirectory(prefix="bench-evac-") as tmp:
        path = Path(tmp) / "random_points.lua"
        path.write_text(script)
        argv = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(int(seconds), 1)}s", "--latency", "-s", str(path), base]
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "generator": "wrk + Lua: a new random point per request",
        "hazard": hazard,
        "seconds": seconds,
        "concurrency": concurrency,
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "latency_ms": {p: _wrk_ms(out, pct) for p, pct in (("p50", "50%"), ("p90", "90%"), ("p99", "99%"))},
        "errors": (int(errors.group(1)) if errors else 0) + (sum(map(int, sockets.groups())) if sockets else 0),
    }


def _wrk_ms(out: str, percentile: str) -> float:
    value, unit = re.search(rf"^\s+{percentile}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE).groups()
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)


def fixed_point_loadgen(base: str, *, seconds: float, concurrency: int) -> dict[str, object]:
    """bench/loadgen.py, as is, at each fixed point in turn."""
    results = {}
    for name, (lat, lon) in FIXED_POINTS.items():
        url = f"{base}/v1/shelters/nearest?lat={lat}&lon={lon}&hazard=heat_wave&limit=3"
        argv = [sys.executable, "-m", "bench.loadgen", url, "--seconds", str(seconds)]
        argv += ["--concurrency", str(concurrency)]
        result = json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)
        results[name] = {k: result[k] for k in ("generator", "requests", "requests_per_s", "latency_ms", "errors")}
    return results


async def bulk(url: str, *, points: int) -> dict[str, object]:
    """The nearest suitable shelter for ``points`` random points, per hazard, and a brute-force check."""
    rnd = random.Random(7)
    lats = [rnd.uniform(AREA.south, AREA.north) for _ in range(points)]
    lons = [rnd.uniform(AREA.west, AREA.east) for _ in range(points)]
    conn = await asyncpg.connect(url)
    results: dict[str, object] = {}
    try:
        shelters = await conn.fetch("SELECT id, kind, lat, lon FROM shelters WHERE active")
        for hazard in (Hazard.heat_wave, Hazard.earthquake, Hazard.flooding):
            started = time.perf_counter()
            found = await service.nearest_for_points(conn, hazard=hazard, lats=lats, lons=lons)
            elapsed = time.perf_counter() - started
            kinds = set(found.kinds)
            sample = rnd.sample(range(points), 1000)
            mismatches = 0
            for i in sample:
                _, expected = min(
                    (geo.great_circle_m(lats[i], lons[i], s["lat"], s["lon"]), s["id"])
                    for s in shelters
                    if s["kind"] in kinds
                )
                mismatches += found.shelter_ids[i] != expected
            results[hazard.value] = {
                "kinds": sorted(kinds),
                "shelters": sum(1 for s in shelters if s["kind"] in kinds),
                "seconds": round(elapsed, 2),
                "points_per_s": round(points / elapsed),
                "checked_against_brute_force": len(sample),
                "mismatches": mismatches,
            }
    finally:
        await conn.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()
    if not SHELTERS.is_dir():
        raise SystemExit(f"{SHELTERS} is missing: this benchmark imports the real shelter files from there")

    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    try:
        url, imported = asyncio.run(prepare(server_url))
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "DB_POOL_MAX": "10"}
        argv = [sys.executable, "-m", "uvicorn", "bench.evacuation:app", "--factory", "--port", str(port)]
        argv += ["--no-access-log", "--log-level", "warning", "--no-server-header"]
        api = subprocess.Popen(argv, env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(f"{base}/ready")
            http: dict[str, object] = {}
            if shutil.which("wrk"):
                for hazard in ("heat_wave", "earthquake"):
                    http[f"random_points_{hazard}"] = random_points_wrk(
                        base, hazard=hazard, seconds=args.seconds, concurrency=args.concurrency
                    )
            http["fixed_points_heat_wave"] = fixed_point_loadgen(
                base, seconds=args.seconds / 2, concurrency=args.concurrency
            )
        finally:
            api.terminate()
            api.wait(timeout=15)
        bulk_results = asyncio.run(bulk(url, points=args.points))
    finally:
        if embedded is not None:
            embedded.stop()
    print(
        json.dumps(
            {
                "benchmark": "evacuation",
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "shelters": imported,
                "server": "uvicorn, 1 process, the safecity app (JSON request logs on), pool of 10",
                "nearest_http": http,
                "bulk_nearest": {
                    "points": args.points,
                    "method": "one SQL statement: 300 m grid cells, GiST KNN per cell, exact ranking per point",
                    "area": AREA._asdict(),
                    "by_hazard": bulk_results,
                },
            },
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
