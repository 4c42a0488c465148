"""Targeting by place: a polygon alert over three districts, with a million citizens who have home points.

    python -m bench.targeting [--citizens 1000000] [--check 10000]

Measures the ingest of the CAP alert (parse, store, choose the people, write their outbox rows, commit) and,
in the same run, the simplest statement that does the choosing and writing alone (the same GiST point <@
polygon test, an INSERT … SELECT of bare rows into a table like the outbox), and prints the ratio. Then
checks exactness: for ``--check`` citizens drawn at random, whether each was told is compared with shapely's
brute-force test of their home against the alert's polygons; it prints the mismatches (0 expected) and how
many homes lay within 1e-5 degrees of an edge, where PostgreSQL's tolerance may count them inside.

BENCH_DATABASE_URL points it at a server of your own; otherwise an embedded one under var/bench-pgdata.
Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import time
from datetime import UTC, datetime

import asyncpg
import msgspec
import numpy as np
import shapely
from shapely.geometry import Point, Polygon

from api.alerts.cap import parse_cap
from api.alerts.service import ingest
from api.platform import boundaries
from api.platform.db.embedded import EmbeddedPostgres
from api.platform.db.pool import create_pool
from api.platform.logging import configure_logging
from api.platform.settings import PROJECT_ROOT, DatabaseSettings, LogSettings, NotifySettings
from bench.common import fresh_database
from notifications.service import Notifier

DATABASE = "safecity_bench_targeting"
# A gas-leak style polygon over the corner where 중구, 용산구 and 성동구 meet, covering none of them half.
POLYGON = [(37.548, 126.995), (37.548, 127.035), (37.560, 127.035), (37.560, 126.995), (37.548, 126.995)]
SEOUL_BOX = (37.43, 37.70, 126.80, 127.17)


def cap(now: datetime) -> bytes:
    ring = " ".join(f"{lat},{lon}" for lat, lon in POLYGON)
    return (
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>bench-gas-1</identifier>'
        f"<sender>safety@seoul.go.kr</sender><sent>{now.isoformat()}</sent><status>Actual</status>"
        "<msgType>Alert</msgType><scope>Public</scope><info><language>ko-KR</language><category>Safety</category>"
        "<event>가스 누출</event><urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>"
        "<headline>가스 누출 경보</headline><instruction>창문을 닫고 실내에 머무르세요.</instruction>"
        f"<area><areaDesc>약수동 일대</areaDesc><polygon>{ring}</polygon></area></info></alert>"
    ).encode()


def homes(count: int, seed: int = 11) -> list[tuple[int, float, float, str]]:
    """``count`` random homes in Seoul, each with its dong, found with one vectorised STRtree query."""
    rng = np.random.default_rng(seed)
    found: list[tuple[float, float, str]] = []
    tree = shapely.STRtree([d.shape for d in boundaries.dongs().values()])
    codes = list(boundaries.dongs())
    while len(found) < count:
        lats = rng.uniform(SEOUL_BOX[0], SEOUL_BOX[1], count)
        lons = rng.uniform(SEOUL_BOX[2], SEOUL_BOX[3], count)
        points, dongs = tree.query(shapely.points(lons, lats), predicate="within")
        first = dict(zip(points.tolist(), dongs.tolist(), strict=True))
        found += [(float(lats[i]), float(lons[i]), codes[j]) for i, j in sorted(first.items())]
    return [(n + 1, lat, lon, dong) for n, (lat, lon, dong) in enumerate(found[:count])]


async def load(conn: asyncpg.Connection, people: list[tuple[int, float, float, str]], now: datetime) -> float:
    started = time.perf_counter()
    await conn.execute(
        """
        INSERT INTO citizens (phone, language, district)
        SELECT '+8210' || (10000000 + g)::text, 'ko', NULL FROM generate_series(1, $1::int) g
        """,
        len(people),
    )
    await conn.copy_records_to_table(
        "citizen_places",
        records=[(cid, "home", "집", lat, lon, dong, dong[:5], now) for cid, lat, lon, dong in people],
        columns=["citizen_id", "kind", "label", "lat", "lon", "dong", "district", "created_at"],
    )
    # Seven in ten have the app, on their home dong's topic as the dispatcher's upkeep leaves them.
    await conn.execute(
        "INSERT INTO devices (citizen_id, platform, fcm_token, subscribed_topics, topic_pending)"
        " SELECT c.id, 'android', 'tok-' || c.id, ARRAY['dong-' || p.dong], false"
        " FROM citizens c JOIN citizen_places p ON p.citizen_id = c.id WHERE c.id % 10 < 7"
    )
    await conn.execute("VACUUM ANALYZE")
    return round(time.perf_counter() - started, 2)


async def measure(url: str, now: datetime) -> dict[str, object]:
    pool = await create_pool(DatabaseSettings(url=url, pool_max=2))
    conn = await pool.acquire()
    try:
        notifier = Notifier(NotifySettings())
        started = time.perf_counter()
        result = await ingest(conn, parse_cap(cap(now)), source="post", notifier=notifier, now=now)
        ingest_s = time.perf_counter() - started
        literal = "(" + ",".join(f"({lon},{lat})" for lat, lon in POLYGON) + ")"
        await conn.execute("CREATE TABLE bare_outbox (LIKE outbox INCLUDING ALL)")
        started = time.perf_counter()
        async with conn.transaction():
            bare = await conn.execute(
                """
                INSERT INTO bare_outbox (notice_id, channel, recipient, citizen_id, template, language, body, priority,
                                         max_attempts, state, created_at, updated_at, next_attempt_at)
                SELECT 1, CASE WHEN d.id IS NULL THEN 'sms' ELSE 'push' END, coalesce(d.fcm_token, c.phone), c.id,
                       'alerts.warning', 'ko', '가스 누출 경보', 1, 5, 'pending', $2, $2, $2
                FROM citizen_places p JOIN citizens c ON c.id = p.citizen_id
                LEFT JOIN devices d ON d.citizen_id = c.id
                WHERE p.location <@ ($1::text)::polygon
                """,
                literal,
                now,
            )
        bare_s = time.perf_counter() - started
        plan = await conn.fetch(
            "EXPLAIN SELECT 1 FROM citizen_places p WHERE p.location <@ ($1::text)::polygon", literal
        )
        direct = {
            r["citizen_id"] for r in await conn.fetch("SELECT citizen_id FROM outbox WHERE citizen_id IS NOT NULL")
        }
        # Told by the topic of a dong wholly under the polygon: the citizens whose phones are on it.
        by_topic = {
            r["citizen_id"]
            for r in await conn.fetch(
                "SELECT d.citizen_id FROM devices d JOIN outbox o ON o.topic AND o.recipient = ANY(d.subscribed_topics)"
            )
        }
        dong_topics = await conn.fetchval("SELECT count(*) FROM outbox WHERE topic AND recipient LIKE 'dong-%'")
        told = direct | by_topic
        areas = await conn.fetchval("SELECT areas FROM alerts")
        return {
            "ingest_s": round(ingest_s, 3),
            "bare_select_insert_s": round(bare_s, 3),
            "ratio": round(ingest_s / bare_s, 2) if bare_s else None,
            "outbox_rows": result.deliveries,
            "bare_rows": int(bare.split()[-1]),
            "citizens_told": len(told),
            "told_by_dong_topic": len(by_topic),
            "dong_topic_pushes": dong_topics,
            "told_twice": len(direct & by_topic),
            "district_shares": areas[0]["shares"],
            "index_used": any("citizen_places_location_idx" in r[0] for r in plan),
            "told": told,
        }
    finally:
        await pool.release(conn)
        await pool.close()


def exactness(people: list[tuple[int, float, float, str]], told: set[int], sample: int) -> dict[str, int]:
    shape = Polygon([(lon, lat) for lat, lon in POLYGON])
    mismatches = near_edge = inside = 0
    for cid, lat, lon, _ in random.Random(5).sample(people, min(sample, len(people))):
        point = Point(lon, lat)
        within = shape.contains(point)
        inside += within
        if shape.exterior.distance(point) < 1e-5:
            near_edge += 1
            continue
        mismatches += within != (cid in told)
    return {"checked": min(sample, len(people)), "inside": inside, "mismatches": mismatches, "near_edge": near_edge}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citizens", type=int, default=1_000_000)
    parser.add_argument("--check", type=int, default=10_000, help="citizens checked against shapely's brute force")
    args = parser.parse_args()
    configure_logging(LogSettings(level="WARNING"), process="bench")
    now = datetime.now(UTC).replace(microsecond=0)
    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    try:
        started = time.perf_counter()
        people = homes(args.citizens)
        homes_s = round(time.perf_counter() - started, 2)
        url = asyncio.run(fresh_database(server_url, DATABASE))

        async def prepare() -> float:
            conn = await asyncpg.connect(url)
            try:
                return await load(conn, people, now)
            finally:
                await conn.close()

        load_s = asyncio.run(prepare())
        measured = asyncio.run(measure(url, now))
        told = measured.pop("told")
        assert isinstance(told, set)
        checked = exactness(people, told, args.check)
    finally:
        if embedded is not None:
            embedded.stop()
    print(
        msgspec.json.format(
            msgspec.json.encode(
                {
                    "benchmark": "targeting",
                    "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                    "citizens_with_home_points": args.citizens,
                    "setup_s": {"homes_and_dongs": homes_s, "load": load_s},
                    "polygon_alert": measured,
                    "exactness": checked,
                }
            )
        ).decode()
    )


if __name__ == "__main__":
    main()
