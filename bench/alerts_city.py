"""The city before a warning, for bench/alerts.py: citizens, devices, people in care, opt-outs and shelters.

Everything is loaded in a few set-based statements; ``facts`` says what came of it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg

from api.alerts.areas import DISTRICT_CENTROIDS
from api.platform.districts import DISTRICTS
from bench.evacuation import import_shelters

CITY = sorted(DISTRICTS)


async def load(conn: asyncpg.Connection, *, citizens: int, without_app: int, care: int, opt_outs: int) -> dict:
    """The city before the warning, in a few set-based statements; seconds per part."""
    seconds: dict[str, float] = {}
    now = datetime.now(UTC)

    @contextlib.contextmanager
    def part(name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        seconds[name] = round(time.perf_counter() - started, 2)

    with part("citizens"):
        await conn.execute(
            """
            INSERT INTO citizens (phone, language, district)
            SELECT '+8210' || (10000000 + g)::text, CASE WHEN g % 20 = 7 THEN 'en' ELSE 'ko' END,
                   ($2::text[])[1 + g % cardinality($2::text[])]
            FROM generate_series(1, $1::int) g
            """,
            citizens,
            CITY,
        )
    with part("devices"):
        # Already on their district's topic, as the dispatcher's upkeep leaves them.
        await conn.execute(
            """
            INSERT INTO devices (citizen_id, platform, fcm_token, subscribed_topics, topic_pending)
            SELECT id, CASE WHEN id % 3 = 0 THEN 'ios' ELSE 'android' END, 'bench-token-' || id,
                   ARRAY['district-' || district], false
            FROM citizens WHERE id <= $1
            """,
            citizens - without_app,
        )
    with part("care_recipients"):
        # Homes within about a kilometre of their district office. Every tenth is also a citizen with the app
        # (same phone, same district), half reached by app and half by both app and SMS; the rest by SMS.
        await conn.execute(
            """
            INSERT INTO care_recipients (name, phone, language, district, address, contact_by, consent_by, consent_at,
                                         consent_scope, enrolled_by, home_lat, home_lon, created_at, updated_at)
            SELECT '어르신 ' || g,
                   '+8210' || (CASE WHEN citizen THEN 10000000 ELSE 30000000 END + g)::text,
                   CASE WHEN g % 20 = 7 THEN 'en' ELSE 'ko' END,
                   ($3::text[])[d], '서울특별시 ' || g || '번지',
                   CASE WHEN NOT citizen THEN 'sms' WHEN g % 20 = 0 THEN 'app' ELSE 'both' END,
                   '본인', $6, '안부 확인 문자, 미응답 시 보호자 연락과 사례 개입', 'staff:1',
                   ($4::float8[])[d] + ((g::bigint * 7919) % 2001 - 1000) / 100000.0,
                   ($5::float8[])[d] + ((g::bigint * 104729) % 2001 - 1000) / 80000.0,
                   $6, $6
            FROM (SELECT g, 1 + g % 25 AS d, g % 10 = 0 AND g <= $2 AS citizen
                  FROM generate_series(1, $1::int) g) s
            """,
            care,
            citizens - without_app,
            CITY,
            [DISTRICT_CENTROIDS[d][0] for d in CITY],
            [DISTRICT_CENTROIDS[d][1] for d in CITY],
            now - timedelta(days=30),
        )
    with part("guardians_and_plans"):
        await conn.execute(
            """
            INSERT INTO guardians (recipient_id, position, name, phone, relation)
            SELECT id, 1, '보호자 ' || id, '+8210' || (60000000 + id)::text, '자녀' FROM care_recipients
            """
        )
        # Everyone checked in on time; the next check-in is hours away.
        await conn.execute(
            """
            INSERT INTO checkin_plans (recipient_id, times, days, window_min, slot_at, step, due_at, updated_at)
            SELECT id, '{09:00,19:00}', '{1,2,3,4,5,6,7}', 120, $1, 0, $1, $2 FROM care_recipients
            """,
            now + timedelta(hours=6),
            now - timedelta(hours=3),
        )
    with part("sms_opt_outs"):
        # Spread over the citizens without the app, and 1% of the people in care (whose consent overrides it).
        await conn.execute(
            """
            INSERT INTO sms_opt_outs (phone, keyword, source, opted_out_at)
            SELECT phone, 'STOP', 'sms', $4 FROM (
                (SELECT phone FROM citizens WHERE id > $1 AND id % $3 = 0 ORDER BY id LIMIT $2)
                UNION
                SELECT phone FROM care_recipients WHERE id % 100 = 1
            ) p
            """,
            citizens - without_app,
            opt_outs,
            max(without_app // max(opt_outs, 1), 1),
            now - timedelta(days=7),
        )
    with part("shelters"):
        reports = await import_shelters(conn)
    with part("vacuum_analyze"):
        await conn.execute("VACUUM ANALYZE")
    return {"seconds": seconds, "shelter_files": len(reports)}


async def facts(conn: asyncpg.Connection) -> dict[str, object]:
    rows = await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM citizens) AS citizens, (SELECT count(*) FROM devices) AS devices,
               (SELECT count(*) FROM care_recipients) AS care_recipients,
               (SELECT count(*) FROM guardians) AS guardians, (SELECT count(*) FROM checkin_plans) AS checkin_plans,
               (SELECT count(*) FROM sms_opt_outs) AS sms_opt_outs
        """
    )
    return {
        "postgres": await conn.fetchval("SHOW server_version"),
        "shared_buffers": await conn.fetchval("SHOW shared_buffers"),
        "rows": dict(rows),
        "citizens_without_app": await conn.fetchval(
            "SELECT count(*) FROM citizens c WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.citizen_id = c.id)"
        ),
        "care_recipients_also_citizens": await conn.fetchval(
            "SELECT count(*) FROM care_recipients r JOIN citizens c ON c.phone = r.phone"
        ),
        "care_contact_by": dict(await conn.fetch("SELECT contact_by, count(*) FROM care_recipients GROUP BY 1")),
        "shelters_active_by_kind": dict(
            await conn.fetch("SELECT kind, count(*) FROM shelters WHERE active GROUP BY 1 ORDER BY 1")
        ),
        "database_size": await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))"),
    }
