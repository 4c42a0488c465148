"""Benchmark: the hazard desk's data calls and its CSV export over 100,000 incidents.

Loads ``--incidents`` incidents (random points over Seoul's box, categories, statuses and districts, first
reported over the last 30 days, a tenth of them overdue) and measures, through the whole app in-process
(Litestar's ASGI test client, with an operator's token: auth, validation, routing, encoding):

- the desk's list (``GET /v1/admin/hazard-desk/incidents``, 50 a page, unfiltered and filtered by category and
  district) and its map data (``GET /v1/admin/hazard-desk/map``: counts per district and heat per cell), as p50
  and p99 over ``--calls`` calls each;
- the CSV export of them all: seconds through the route, and seconds and peak traced Python memory of the
  export's generator itself.

Beside each, in the same run, the bare SQL doing the same work on one asyncpg connection: the same page query,
the same two aggregates, and for the export PostgreSQL's own ``COPY (SELECT ...) TO STDOUT WITH CSV`` of the
same columns. The ratio is ours over the bare one.

    nice -n 10 .venv/bin/python -m bench.hazard_desk [--incidents 100000] [--calls 200]

BENCH_DATABASE_URL points it at a server of your own; otherwise an embedded one under var/bench-pgdata.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.hazards import desk
from api.platform.auth.tokens import Principal, Role, TokenIssuer
from api.platform.db.embedded import EmbeddedPostgres
from api.platform.logging import configure_logging
from api.platform.settings import PROJECT_ROOT, LogSettings, Settings
from bench.common import SECRET, fresh_database

DATABASE = "safecity_bench_hazard_desk"
DESK = "/v1/admin/hazard-desk"

LOAD = """
INSERT INTO hazard_incidents (category, status, status_reason, lat, lon, report_count, first_reported_at,
                              last_reported_at, status_changed_at, updated_at, district, department_ko,
                              department_en, due_at, handled_at)
SELECT c.category, s.status, CASE WHEN s.status = 'rejected' THEN '중복 신고' END,
       37.45 + random() * 0.23, 126.82 + random() * 0.33, 1 + (random() * 4)::int, t.at, t.at, t.at, t.at,
       (SELECT code FROM districts ORDER BY code OFFSET (g % 25) LIMIT 1), r.department_ko, r.department_en,
       CASE WHEN g % 10 = 0 THEN $1::timestamptz - interval '1 hour'
            ELSE t.at + make_interval(mins => r.deadline_minutes) END,
       CASE WHEN s.status IN ('resolved', 'rejected') THEN t.at + interval '30 minutes' END
FROM generate_series(1, $2::int) AS g
CROSS JOIN LATERAL (SELECT (ARRAY['sinkhole', 'road_damage', 'fallen_tree', 'flooding', 'landslide_risk',
        'fire_smoke', 'gas_smell', 'damaged_structure', 'broken_streetlight', 'icy_road', 'other'])[1 + g % 11]
        AS category) c
CROSS JOIN LATERAL (SELECT (ARRAY['submitted', 'acknowledged', 'in_progress', 'resolved', 'rejected'])[1 + g % 5]
        AS status) s
CROSS JOIN LATERAL (SELECT $1::timestamptz - random() * interval '29 days' AS at) t
JOIN hazard_routing r ON r.category = c.category
"""

BARE_PAGE = """
SELECT id, category, status, district, department_ko, department_en, lat, lon, report_count, first_reported_at,
       status_changed_at, due_at, handled_at, coalesce(handled_at, $1) > due_at AS overdue
FROM hazard_incidents
WHERE status <> 'merged' AND first_reported_at >= $2 AND first_reported_at < $1
  AND ($3::text IS NULL OR category = $3) AND ($4::text IS NULL OR district = $4)
ORDER BY id DESC LIMIT 50
"""
BARE_DISTRICTS = """
SELECT district, count(*),
       count(*) FILTER (WHERE status IN ('submitted', 'acknowledged', 'in_progress')),
       count(*) FILTER (WHERE coalesce(handled_at, $1) > due_at)
FROM hazard_incidents
WHERE status <> 'merged' AND first_reported_at >= $2 AND first_reported_at < $1
GROUP BY district
"""
BARE_HEAT = """
SELECT floor(lat / 0.005) * 0.005, floor(lon / 0.005) * 0.005, count(*)
FROM hazard_incidents
WHERE status <> 'merged' AND first_reported_at >= $1 AND first_reported_at < $2
GROUP BY 1, 2 ORDER BY 3 DESC
"""
BARE_COPY = """
SELECT id, category, status, district, department_ko, department_en,
             round((round(lat / 0.0005) * 0.0005)::numeric, 4), round((round(lon / 0.0006) * 0.0006)::numeric, 4),
             report_count, first_reported_at, status_changed_at, due_at, handled_at,
             coalesce(handled_at, '{now}'::timestamptz) > due_at
      FROM hazard_incidents
      WHERE status <> 'merged' AND first_reported_at >= '{since}' AND first_reported_at < '{now}'
      ORDER BY id
"""


def quantiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
    }


def beside(ours: dict[str, float], bare: dict[str, float]) -> dict[str, Any]:
    return {"ours": ours, "bare_sql": bare, "ratio_p99": round(ours["p99_ms"] / max(bare["p99_ms"], 1e-6), 2)}


async def timed(calls: int, once: Any) -> list[float]:
    samples = []
    for n in range(calls):
        started = time.perf_counter()
        await once(n)
        samples.append(time.perf_counter() - started)
    return samples


async def measure(url: str, calls: int, now: datetime) -> dict[str, Any]:
    settings = Settings.from_env({"JWT_SECRET": SECRET, "DATABASE_URL": url, "DB_POOL_MAX": "4"})
    token = TokenIssuer(settings).issue(Principal(subject="operator:bench", role=Role.operator), ttl_s=3600)
    headers = {"Authorization": f"Bearer {token}"}
    since = now - timedelta(days=30)
    categories = ["sinkhole", "gas_smell", "broken_streetlight", None]
    districts = ["11680", "11140", None]
    conn = await asyncpg.connect(url)
    results: dict[str, Any] = {}
    try:
        async with AsyncTestClient(create_app(settings)) as client:

            async def ours_list(n: int) -> None:
                query = {k: v for k, v in {"category": categories[n % 4], "district": districts[n % 3]}.items() if v}
                response = await client.get(f"{DESK}/incidents", params=query, headers=headers)
                assert response.status_code == 200, response.text

            async def bare_list(n: int) -> None:
                await conn.fetch(BARE_PAGE, now, since, categories[n % 4], districts[n % 3])

            async def ours_map(n: int) -> None:
                response = await client.get(f"{DESK}/map", headers=headers)
                assert response.status_code == 200, response.text

            async def bare_map(n: int) -> None:
                await conn.fetch(BARE_DISTRICTS, now, since)
                await conn.fetch(BARE_HEAT, since, now)

            for name, ours, bare, n in (
                ("list", ours_list, bare_list, calls),
                ("map", ours_map, bare_map, max(20, calls // 4)),
            ):
                await ours(0)  # warm: plans, the pool, the first token check
                await bare(0)
                results[name] = {"calls": n} | beside(quantiles(await timed(n, ours)), quantiles(await timed(n, bare)))

            started = time.perf_counter()
            response = await client.get(f"{DESK}/export.csv", headers=headers)
            route_s = time.perf_counter() - started
            assert response.status_code == 200
            rows = response.text.count("\n") - 1

        results["export_csv"] = await export(url, settings, since, now, conn, rows, route_s)
    finally:
        await conn.close()
    return results


async def export(
    url: str, settings: Settings, since: datetime, now: datetime, conn: asyncpg.Connection, rows: int, route_s: float
) -> dict[str, Any]:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    try:
        chosen = desk.filters(category=None, status=None, district=None, overdue=False, since=since, until=now, now=now)

        async def ours() -> int:
            size = 0
            async for chunk in desk.export_csv(pool, chosen=chosen):
                size += len(chunk)
            return size

        copy_sql = BARE_COPY.format(now=now.isoformat(), since=since.isoformat())

        async def bare() -> int:
            size = 0

            async def sink(data: bytes) -> None:
                nonlocal size
                size += len(data)

            await conn.copy_from_query(copy_sql, output=sink, format="csv", header=True)
            return size

        figures: dict[str, Any] = {"rows": rows, "through_the_route_s": round(route_s, 2)}
        for name, run in (("ours", ours), ("bare_copy", bare)):
            started = time.perf_counter()
            size = await run()
            seconds = time.perf_counter() - started
            tracemalloc.start()
            await run()
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            figures[name] = {
                "seconds": round(seconds, 2),
                "mib": round(size / 2**20, 1),
                "peak_traced_mib": round(peak / 2**20, 2),
            }
        figures["ratio_seconds"] = round(figures["ours"]["seconds"] / max(figures["bare_copy"]["seconds"], 1e-6), 2)
        return figures
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    configure_logging(LogSettings(level="WARNING"), process="bench")
    now = datetime.now(UTC).replace(microsecond=0)
    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    try:
        url = asyncio.run(fresh_database(server_url, DATABASE))

        async def load() -> float:
            conn = await asyncpg.connect(url)
            try:
                started = time.perf_counter()
                await conn.execute(LOAD, now, args.incidents)
                await conn.execute("ANALYZE hazard_incidents")
                return round(time.perf_counter() - started, 2)
            finally:
                await conn.close()

        load_s = asyncio.run(load())
        measured = asyncio.run(measure(url, args.calls, now))
    finally:
        if embedded is not None:
            embedded.stop()
    print(
        msgspec.json.format(
            msgspec.json.encode(
                {
                    "benchmark": "hazard_desk",
                    "machine": {
                        "cpus": os.cpu_count(),
                        "python": platform.python_version(),
                        "load_avg": os.getloadavg(),
                    },
                    "incidents": args.incidents,
                    "load_s": load_s,
                    **measured,
                }
            )
        ).decode()
    )


if __name__ == "__main__":
    main()
