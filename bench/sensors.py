"""Benchmark of city sensors (issue 20): 10,000 sensors posting every minute, and a threshold crossing's alert.

(1) Registers 10,000 sensors (half rain gauges, half road-water levels, each with Seoul's default rules) at
    random places in Seoul, straight into the registry, and starts one ``safecity api`` process.
(2) Posts ``--minutes`` minutes of their readings as the gateways would: each minute's 10,000 readings in batches
    of ``--batch`` from ``--gateways`` gateways at once, each batch a ``POST /v1/sensors/readings`` that stores
    the readings (once per sensor and time), evaluates every rule they touch and commits. Readings per second and
    the latency of a batch (p50, p99). Beside it, in the same run, the simplest way to store the same number of
    rows: asyncpg's COPY into the partitioned table, and an unnest INSERT … ON CONFLICT DO NOTHING per batch,
    with the same batch size and concurrency; and the ratios.
(3) Then ``--dong-citizens`` citizens with homes in one road sensor's dong, and the time from the reading that
    crosses its threshold (held five minutes) to its alert's outbox rows: the latency of that batch's POST,
    whose answer comes after the commit that wrote them. Beside it, ``alerts.service.ingest`` of the same alert
    in-process (the alert's own work, without the readings and the rules), and the ratio.

    nice -n 10 .venv/bin/python -m bench.sensors [--minutes 3] [--batch 500] [--gateways 20]

BENCH_DATABASE_URL points it at a server of your own; otherwise an embedded one under var/bench-pgdata.
Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import numpy as np
import shapely
from shapely.prepared import prep

from api.alerts import service as alerts
from api.alerts.schemas import AlertSource
from api.platform import boundaries
from api.platform.auth.tokens import Principal, Role, Scope, TokenIssuer
from api.platform.db.embedded import EmbeddedPostgres
from api.platform.db.pool import create_pool
from api.platform.logging import configure_logging
from api.platform.settings import PROJECT_ROOT, DatabaseSettings, LogSettings, NotifySettings, Settings
from api.sensors import alerting
from bench.api import free_port
from bench.common import SECRET, fresh_database
from bench.targeting import homes
from notifications.service import Notifier

DATABASE = "safecity_bench_sensors"
SENSORS = 10_000


async def register(conn: asyncpg.Connection, now: datetime) -> list[str]:
    """10,000 sensors at random homes' places, with the default rules of their kind; the road sensors' ids."""
    places = homes(SENSORS, seed=20)
    rows = [
        (f"s{n:05d}", "rain_gauge" if n % 2 else "road_water", f"bench {n}", lat, lon, dong, dong[:5], "bench", now)
        for n, lat, lon, dong in places
    ]
    await conn.copy_records_to_table(
        "city_sensors",
        records=rows,
        columns=["id", "kind", "name", "lat", "lon", "dong", "district", "owner", "created_at"],
    )
    await conn.execute(
        """
        INSERT INTO sensor_rules (sensor_id, name, window_s, trip_at, clear_at, trip_after_s, clear_after_s)
        SELECT id, 'rain_60m', 3600, 55, 30, 0, 1800 FROM city_sensors WHERE kind = 'rain_gauge'
        UNION ALL SELECT id, 'rain_15m', 900, 20, 10, 0, 1800 FROM city_sensors WHERE kind = 'rain_gauge'
        UNION ALL SELECT id, 'water_level', 0, 15, 10, 300, 1800 FROM city_sensors WHERE kind = 'road_water'
        """
    )
    await conn.execute("VACUUM ANALYZE")
    return [r[0] for r in rows if r[1] == "road_water"]


def minute_of(ids: Sequence[str], at: datetime) -> list[dict[str, Any]]:
    """Every sensor's reading at ``at``: a drizzle and a wet road, far below every threshold."""
    return [{"sensor_id": s, "at": at.isoformat(), "value": 0.1 if int(s[1:]) % 2 else 2.0} for s in ids]


def wait_ready(url: str, *, timeout_s: float = 300) -> None:
    """Until the API answers (a loaded machine starts it slowly)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} never became ready")


def percentile(values: Sequence[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 1)


async def post_minutes(url: str, token: str, ids: list[str], *, minutes: int, batch: int, gateways: int) -> dict:
    """Each minute's readings from every sensor, in batches from ``gateways`` gateways at once."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=minutes + 10)
    batches = [
        minute_of(ids, start + timedelta(minutes=m))[i : i + batch]
        for m in range(minutes)
        for i in range(0, SENSORS, batch)
    ]
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for b in batches:
        queue.put_nowait(b)
    latencies: list[float] = []
    refused = 0

    async def gateway(client: httpx.AsyncClient) -> None:
        nonlocal refused
        while not queue.empty():
            body = {"readings": queue.get_nowait()}
            t = time.perf_counter()
            response = await client.post(
                "/v1/sensors/readings", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            latencies.append(time.perf_counter() - t)
            answer = response.json()
            refused += (
                len(answer["rejected"]) + len(answer["duplicates"])
                if response.status_code == 200
                else len(body["readings"])
            )

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        await asyncio.gather(*(gateway(client) for _ in range(gateways)))
    elapsed = time.perf_counter() - started
    total = minutes * SENSORS
    return {
        "readings": total,
        "batches": len(batches),
        "refused": refused,
        "seconds": round(elapsed, 2),
        "readings_per_s": round(total / elapsed),
        "batch_p50_ms": percentile(latencies, 50),
        "batch_p99_ms": percentile(latencies, 99),
    }


async def raw_baselines(db_url: str, ids: list[str], *, minutes: int, batch: int, gateways: int) -> dict:
    """The same number of rows stored the simplest ways, with the same batches and concurrency."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3 * minutes + 20)
    pool = await asyncpg.create_pool(db_url, min_size=gateways, max_size=gateways)
    results = {}
    try:
        for how, offset in (("copy", 0), ("insert", minutes)):
            chunks = [
                [(s, start + timedelta(minutes=offset + m), 0.1, "raw", datetime.now(UTC)) for s in ids[i : i + batch]]
                for m in range(minutes)
                for i in range(0, SENSORS, batch)
            ]
            queue: asyncio.Queue[list[tuple]] = asyncio.Queue()
            for c in chunks:
                queue.put_nowait(c)
            latencies: list[float] = []

            async def worker(how: str = how, queue: asyncio.Queue = queue, latencies: list[float] = latencies) -> None:
                async with pool.acquire() as conn:
                    while not queue.empty():
                        rows = queue.get_nowait()
                        t = time.perf_counter()
                        if how == "copy":
                            await conn.copy_records_to_table(
                                "sensor_readings",
                                records=rows,
                                columns=["sensor_id", "at", "value", "gateway", "received_at"],
                            )
                        else:
                            await conn.execute(
                                """
                                INSERT INTO sensor_readings (sensor_id, at, value, gateway, received_at)
                                SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::text[],
                                                     $5::timestamptz[])
                                ON CONFLICT (sensor_id, at) DO NOTHING
                                """,
                                *[list(col) for col in zip(*rows, strict=True)],
                            )
                        latencies.append(time.perf_counter() - t)

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(gateways)))
            elapsed = time.perf_counter() - started
            results[how] = {
                "readings_per_s": round(minutes * SENSORS / elapsed),
                "batch_p50_ms": percentile(latencies, 50),
                "batch_p99_ms": percentile(latencies, 99),
            }
    finally:
        await pool.close()
    return results


def points_in(dong: str, count: int) -> list[tuple[float, float]]:
    shape = boundaries.dongs()[dong].shape
    minx, miny, maxx, maxy = shape.bounds
    rng = random.Random(7)
    found: list[tuple[float, float]] = []
    prepared = prep(shape)
    while len(found) < count:
        lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if prepared.contains(shapely.Point(lon, lat)):
            found.append((lat, lon))
    return found


async def crossing(url: str, db_url: str, token: str, sensor: str, *, citizens: int) -> dict:
    """Citizens at home in the sensor's dong; the time from the crossing reading to its alert's outbox rows."""
    conn = await asyncpg.connect(db_url)
    try:
        rule = await conn.fetchrow(
            """
            SELECT r.*, r.sensor_id, s.kind, s.name AS sensor_name, s.lat, s.lon, s.dong, s.district, s.radius_m
            FROM sensor_rules r JOIN city_sensors s ON s.id = r.sensor_id WHERE s.id = $1
            """,
            sensor,
        )
        first = await conn.fetchval("SELECT coalesce(max(id), 0) FROM citizens")
        await conn.execute(
            "INSERT INTO citizens (phone, language) SELECT '+8210' || (30000000 + g)::text, 'ko'"
            " FROM generate_series(1, $1::int) g",
            citizens,
        )
        now = datetime.now(UTC)
        await conn.copy_records_to_table(
            "citizen_places",
            records=[
                (first + n + 1, "home", "집", lat, lon, rule["dong"], rule["district"], now)
                for n, (lat, lon) in enumerate(points_in(rule["dong"], citizens))
            ],
            columns=["citizen_id", "kind", "label", "lat", "lon", "dong", "district", "created_at"],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        headers = {"Authorization": f"Bearer {token}"}
        for m in range(5):  # five minutes at 30 cm: the rule's duration is not yet held
            body = {"readings": [{"sensor_id": sensor, "at": (t0 + timedelta(minutes=m)).isoformat(), "value": 30}]}
            assert (await client.post("/v1/sensors/readings", json=body, headers=headers)).json()["alerts_raised"] == []
        body = {"readings": [{"sensor_id": sensor, "at": (t0 + timedelta(minutes=5)).isoformat(), "value": 30}]}
        t = time.perf_counter()
        answer = (await client.post("/v1/sensors/readings", json=body, headers=headers)).json()
        to_outbox = time.perf_counter() - t
    (alert_id,) = answer["alerts_raised"]
    pool = await create_pool(DatabaseSettings(url=db_url, pool_max=2))  # with the app's json codecs
    try:
        conn = await pool.acquire()
        rows = await conn.fetchval(
            "SELECT count(*) FROM outbox o JOIN notices n ON n.id = o.notice_id WHERE n.dedupe_key LIKE $1",
            f"alert:{alert_id}:%",
        )
        # The alert's own work, in-process, for the same place: the same CAP a moment later (a new identifier).
        cap = alerting.trip_alert(rule, at=t0 + timedelta(minutes=5, seconds=1), measure=30)
        t = time.perf_counter()
        async with conn.transaction():
            direct = await alerts.ingest(
                conn, cap, source=AlertSource.sensor, notifier=Notifier(NotifySettings()), now=datetime.now(UTC)
            )
        alone = time.perf_counter() - t
        await pool.release(conn)
    finally:
        await pool.close()
    return {
        "citizens_in_dong": citizens,
        "outbox_rows_for_the_dong": rows,
        "crossing_to_outbox_ms": round(to_outbox * 1000, 1),
        "simplest_alert_ingest_alone_ms": round(alone * 1000, 1),
        "simplest_outbox_rows": direct.deliveries,
        "ratio": round(to_outbox / alone, 2),
    }


async def prepare(server_url: str) -> tuple[str, list[str]]:
    url = await fresh_database(server_url, DATABASE)
    conn = await asyncpg.connect(url)
    try:
        roads = await register(conn, datetime.now(UTC))
    finally:
        await conn.close()
    return url, roads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--gateways", type=int, default=20)
    parser.add_argument("--dong-citizens", type=int, default=5000)
    args = parser.parse_args()
    configure_logging(LogSettings(level="WARNING"), process="bench")
    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    api = None
    try:
        db_url, roads = asyncio.run(prepare(server_url))
        ids = [f"s{n:05d}" for n in range(1, SENSORS + 1)]
        token = TokenIssuer(Settings.from_env({"JWT_SECRET": SECRET})).issue(
            Principal(subject="service:bench-gw", role=Role.service, scopes=(Scope.sensors_write,)), ttl_s=3600
        )
        port = free_port()
        env = {**os.environ, "DATABASE_URL": db_url, "PORT": str(port), "JWT_SECRET": SECRET, "DB_POOL_MAX": "20"}
        env["LOG_LEVEL"] = "WARNING"
        api = subprocess.Popen([sys.executable, "-m", "api.cli", "api"], env=env, stdout=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/ready")
        load_before = os.getloadavg()
        ingest = asyncio.run(
            post_minutes(base, token, ids, minutes=args.minutes, batch=args.batch, gateways=args.gateways)
        )
        raw = asyncio.run(raw_baselines(db_url, ids, minutes=args.minutes, batch=args.batch, gateways=args.gateways))
        cross = asyncio.run(crossing(base, db_url, token, roads[0], citizens=args.dong_citizens))
        load_after = os.getloadavg()
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=15)
        if embedded is not None:
            embedded.stop()
    needed = SENSORS / 60
    print(
        json.dumps(
            {
                "benchmark": "sensors",
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "load": [load_before, load_after],
                },
                "setup": {"sensors": SENSORS, "minutes": args.minutes, "batch": args.batch, "gateways": args.gateways},
                "ingest_api": ingest,
                "needed_readings_per_s": round(needed),
                "headroom": round(ingest["readings_per_s"] / needed, 1),
                "simplest": raw,
                "ratio_api_to_copy": round(ingest["readings_per_s"] / raw["copy"]["readings_per_s"], 3),
                "ratio_api_to_insert": round(ingest["readings_per_s"] / raw["insert"]["readings_per_s"], 3),
                "p99_ratio_api_to_insert": round(ingest["batch_p99_ms"] / raw["insert"]["batch_p99_ms"], 2),
                "crossing": cross,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
