"""Benchmark of flood partner dispatch (issue 20): a city-wide heavy-rain warning over 5,000 flood-risk households.

(1) Registers ``--households`` households (default 5,000) at random homes in Seoul, each with one to three
    동행파트너 (two on average), straight into the registry.
(2) Ingests a KMA-style 호우경보 over all 25 districts through ``api.alerts.service.ingest``, as the poller does:
    the alert stored, fanned out, and every household's check opened with its "are you safe?" and each partner's
    ask written to the outbox, in one transaction. The time to its commit is the time to all partner messages
    queued. Also ``care.flood.dispatch.dispatch`` alone, in-process (the flood part of that transaction).
(3) Beside it, in the same run, the simplest thing that writes the same outbox rows: one hand-written
    INSERT … SELECT (a notice per message, and its SMS row with its text made in SQL), and the ratios.

Each run is rolled back, so every one starts from the same registry; each figure is the median of ``--runs``.

    nice -n 10 .venv/bin/python -m bench.flood_partners [--households 5000] [--runs 5]

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
import statistics
import time
from datetime import UTC, datetime, timedelta

import asyncpg

from api.alerts import service as alerts
from api.alerts.cap import parse_cap
from api.platform.db.embedded import EmbeddedPostgres
from api.platform.db.pool import create_pool
from api.platform.districts import DISTRICTS
from api.platform.logging import configure_logging
from api.platform.settings import PROJECT_ROOT, DatabaseSettings, LogSettings, NotifySettings
from bench.common import fresh_database
from bench.targeting import homes
from care.flood import dispatch
from notifications.service import Notifier

DATABASE = "safecity_bench_flood"

# The simplest thing: every partner's ask and every household's question as a notice and one SMS row, with the
# text put together in SQL. No checks, no dedupe against open ones, no EUC-KR check, no opt-outs.
SIMPLEST = """
    WITH people AS (
        SELECT 'p:' || p.id AS key, 'flood.partner_ask' AS template, p.phone, p.language,
               '[안전서울] [동행파트너] 호우경보. ' || h.name || '님 댁(' || left(h.address, 40)
               || ')에 가서 확인해 주세요. 답장: 도착 / 대피완료 / 도움필요 (가구번호 ' || h.id || ')' AS body
        FROM flood_households h JOIN flood_partners p ON p.household_id = h.id
        WHERE h.withdrawn_at IS NULL AND h.district = ANY($1::text[])
        UNION ALL
        SELECT 'h:' || h.id || ':' || i, 'flood.household_ask', ph, h.language,
               '[안전서울] ' || h.name || '님, 호우경보. 댁에 침수 위험이 있습니다. 안전하시면 ''안전'', '
               || '도움이 필요하면 ''도움필요''라고 답장해 주세요. 동행파트너가 확인하러 갑니다.'
        FROM flood_households h, unnest(h.phones) WITH ORDINALITY AS u (ph, i)
        WHERE h.withdrawn_at IS NULL AND h.district = ANY($1::text[])
    ), n AS (
        INSERT INTO notices (dedupe_key, template, created_at)
        SELECT 'simple:' || key, template, $2 FROM people
        RETURNING id, dedupe_key
    )
    INSERT INTO outbox (notice_id, channel, recipient, template, language, body, data, priority, max_attempts, state,
                        created_at, updated_at, next_attempt_at)
    SELECT n.id, 'sms', p.phone, p.template, p.language, p.body, '{}', 0, 5, 'pending', $2, $2, $2
    FROM people p JOIN n ON n.dedupe_key = 'simple:' || p.key
"""


async def load(conn: asyncpg.Connection, count: int, now: datetime) -> dict[str, int]:
    """``count`` households at random homes with one to three partners each (two on average)."""
    rng = random.Random(41)
    places = homes(count, seed=41)
    await conn.execute(
        """
        INSERT INTO flood_households (name, address, housing, home_lat, home_lon, dong, district, phones, language,
                                      consent, created_by, created_at, updated_at)
        SELECT '가구' || n, '서울 반지하 ' || n, 'semi_basement', lat, lon, dong, left(dong, 5),
               ARRAY['+8210' || (20000000 + n)::text], 'ko', jsonb_build_object('by', 'self', 'at', $5::timestamptz),
               'bench', $5, $5
        FROM unnest($1::int[], $2::float8[], $3::float8[], $4::text[]) AS u (n, lat, lon, dong)
        """,
        [p[0] for p in places],
        [p[1] for p in places],
        [p[2] for p in places],
        [p[3] for p in places],
        now,
    )
    ids = [r["id"] for r in await conn.fetch("SELECT id FROM flood_households ORDER BY id")]
    partners = []
    for hid in ids:
        for position in range(1, rng.choice((1, 2, 2, 3)) + 1):
            partners.append((hid, position, f"파트너{position}", "neighbour", f"+8210{50000000 + len(partners)}", "ko"))
    await conn.copy_records_to_table(
        "flood_partners", records=partners, columns=["household_id", "position", "name", "role", "phone", "language"]
    )
    await conn.execute("VACUUM ANALYZE")
    return {"households": len(ids), "partners": len(partners)}


def _cap(identifier: str, at: datetime) -> bytes:
    """A 호우경보 over every district of Seoul, in Korean, as a CAP 1.2 message."""
    codes = "".join(f"<geocode><valueName>KR_ADMIN</valueName><value>{d}</value></geocode>" for d in DISTRICTS)
    return (
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
        f"<identifier>{identifier}</identifier><sender>bench@safecity.test</sender><sent>{at.isoformat()}</sent>"
        "<status>Actual</status><msgType>Alert</msgType><scope>Public</scope>"
        "<info><language>ko-KR</language><category>Met</category><event>호우경보</event>"
        "<responseType>Shelter</responseType><urgency>Immediate</urgency><severity>Severe</severity>"
        f"<certainty>Likely</certainty><expires>{(at + timedelta(hours=6)).isoformat()}</expires>"
        "<headline>서울 호우경보</headline><instruction>반지하와 지하 공간에서 높은 곳으로 대피하세요.</instruction>"
        f"<area><areaDesc>서울특별시</areaDesc>{codes}</area></info></alert>"
    ).encode()


async def timed_runs(pool: asyncpg.Pool, runs: int, now: datetime) -> dict[str, object]:
    notifier = Notifier(NotifySettings())
    ingest_s, dispatch_s, simplest_s = [], [], []
    counts: dict[str, int] = {}
    for run in range(runs):
        async with pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            t = time.perf_counter()
            told = await alerts.ingest(
                conn, parse_cap(_cap(f"bench-rain-{run}", now)), source="kma", notifier=notifier, now=now
            )
            ingest_s.append(time.perf_counter() - t)
            counts["ingest_outbox_rows"] = await conn.fetchval("SELECT count(*) FROM outbox")
            counts["flood_checks"] = told.flood_checks
            counts["partner_asks"] = await conn.fetchval("SELECT count(*) FROM flood_partner_asks")
            await tx.rollback()

            tx = conn.transaction()
            await tx.start()
            alert_id = await conn.fetchval(
                """
                INSERT INTO alerts (source, sender, identifier, sent, status, msg_type, scope, event, hazard, urgency,
                                    severity, certainty, texts, areas, districts, cap, received_at)
                VALUES ('kma', 'bench', $1, $2, 'Actual', 'Alert', 'Public', '호우경보', 'heavy_rain', 'Immediate',
                        'Severe', 'Likely', '{}', '[]', $3, '{}', $2)
                RETURNING id
                """,
                f"bench-dispatch-{run}",
                now,
                list(DISTRICTS),
            )
            t = time.perf_counter()
            done = await dispatch.dispatch(
                conn,
                alert_id=alert_id,
                districts=list(DISTRICTS),
                polygons=(),
                dongs=(),
                expires=now + timedelta(hours=6),
                event_ko="서울 호우경보",
                event_en="Heavy rain warning for Seoul",
                notifier=notifier,
                now=now,
            )
            dispatch_s.append(time.perf_counter() - t)
            counts["dispatch_outbox_rows"] = done.deliveries
            await tx.rollback()

            tx = conn.transaction()
            await tx.start()
            t = time.perf_counter()
            status = await conn.execute(SIMPLEST, list(DISTRICTS), now)
            simplest_s.append(time.perf_counter() - t)
            counts["simplest_outbox_rows"] = int(status.split()[-1])
            await tx.rollback()
    ingest, alone, simplest = (statistics.median(v) for v in (ingest_s, dispatch_s, simplest_s))
    return {
        **counts,
        "ingest_to_all_partner_messages_queued_ms": round(ingest * 1000, 1),
        "flood_dispatch_alone_ms": round(alone * 1000, 1),
        "simplest_insert_select_ms": round(simplest * 1000, 1),
        "ratio_ingest_to_simplest": round(ingest / simplest, 2),
        "ratio_dispatch_to_simplest": round(alone / simplest, 2),
        "runs_ms": {
            "ingest": [round(s * 1000, 1) for s in ingest_s],
            "dispatch": [round(s * 1000, 1) for s in dispatch_s],
            "simplest": [round(s * 1000, 1) for s in simplest_s],
        },
    }


async def run(server_url: str, households: int, runs: int) -> dict[str, object]:
    url = await fresh_database(server_url, DATABASE)
    now = datetime.now(UTC).replace(microsecond=0)
    pool = await create_pool(DatabaseSettings(url=url, pool_max=2))  # with the app's json codecs
    try:
        async with pool.acquire() as conn:
            loaded = await load(conn, households, now - timedelta(days=1))
        return {**loaded, **await timed_runs(pool, runs, now)}
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    configure_logging(LogSettings(level="WARNING"), process="bench")
    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    try:
        load_before = os.getloadavg()
        result = asyncio.run(run(server_url, args.households, args.runs))
        load_after = os.getloadavg()
    finally:
        if embedded is not None:
            embedded.stop()
    print(
        json.dumps(
            {
                "benchmark": "flood_partners",
                **result,
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "load_average": {"before": load_before[0], "after": load_after[0]},
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
