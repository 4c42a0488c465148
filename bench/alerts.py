"""Benchmark of a city-wide warning (issue 6): from ingest to the outbox, and from the outbox to the providers.

(1) Loads, in set-based SQL, 1,000,000 citizens over the 25 districts (800,000 with one device already on their
    district's topic, 200,000 with a phone only), 50,000 people in care with homes in Seoul, a guardian and a
    check-in plan (one in ten also a citizen with the app, by phone), about 3,500 SMS opt-outs, and the real
    shelter files of ../shared/data/shelters.
(2) Times one ``alerts.service.ingest`` of a CAP 호우경보 (heavy rain, Severe) over all 25 districts, from parse to
    commit, on a pooled connection with the default statement timeout, with where its time went and how
    PostgreSQL planned the two big fan-out statements beforehand; then the same message again (a re-delivery,
    which must create nothing). The load ends with VACUUM ANALYZE, as a maintained database would be, so the
    empty ``safety_checks`` table is known to be empty (relpages 0, reltuples 0), which the plans depend on.
(3) Then starts the fake FCM and Twilio servers (their own process) and one ``safecity worker --no-schedule``
    pointed at them, and times from the worker's start until the fakes have the 25 district topic pushes and
    the first 10,000 SMS; the worker is stopped there. Every row is urgent, so the SMS leave in id order: the
    JSON says how many citizen SMS are queued ahead of the first one to a person in care.

    .venv/bin/python -m bench.alerts [--citizens 1000000] [--without-app 200000] [--care 50000]
                                     [--opt-outs 3000] [--sms-target 10000] [--ingest-only]

Uses its own embedded PostgreSQL (var/bench-pgdata) or BENCH_DATABASE_URL, in a fresh database
``safecity_bench_alerts``. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import msgspec

import api.alerts.fanout
import api.alerts.repository
import care.repository
import care.safety.repository
import notifications.recipients_repository
import notifications.repository
from api.alerts import messages, service
from api.alerts.cap import parse_cap
from api.platform.db.embedded import EmbeddedPostgres
from api.platform.db.pool import create_pool
from api.platform.logging import configure_logging
from api.platform.settings import PROJECT_ROOT, DatabaseSettings, LogSettings, NotifySettings
from bench.alerts_city import CITY, facts, load
from bench.care import timed
from bench.common import SECRET, fresh_database, start_fakes
from bench.evacuation import SHELTERS
from notifications.service import Notifier
from tests.alerts import cap_xml

DATABASE = "safecity_bench_alerts"
CARE_TEMPLATES = (messages.PERSONAL, messages.ARE_YOU_SAFE)

# Where an ingest's time goes: these are wrapped (in this process only) to add up their time. Nested: "topics"
# is the first transaction's fan-out (with "nearest_shelters" from the offices); "parts" holds the three parts
# after it, each in its own transaction with its commit: "care" (holding "care_recipients_sql",
# "safety_checks_sql", the homes' "nearest_shelters" and "care_enqueue", which holds the four after it), then
# "district_sms" (holding "fan_out_sql"), then "places".
PHASES = {
    "insert_alert_sql": (api.alerts.repository, "insert_alert"),
    "topics": (api.alerts.fanout, "start"),
    "parts": (service, "finish_fanout"),
    "nearest_shelters": (api.alerts.fanout, "_nearest"),
    "care": (api.alerts.fanout, "_tell_care"),
    "care_recipients_sql": (care.repository, "people_in"),
    "safety_checks_sql": (care.safety.repository, "open_checks"),
    "care_enqueue": (Notifier, "enqueue_many"),
    "insert_notices_sql": (notifications.repository, "insert_notices"),
    "devices_of_sql": (notifications.recipients_repository, "devices_of"),
    "opted_out_sql": (notifications.recipients_repository, "opted_out"),
    "insert_rows_sql": (notifications.repository, "insert_rows"),
    "district_sms": (Notifier, "to_district_citizens"),
    "fan_out_sql": (notifications.repository, "fan_out_to_districts"),
    "places": (Notifier, "to_places"),
}


async def outbox_summary(conn: asyncpg.Connection) -> dict[str, object]:
    """The outbox grouped the ways that matter here: by channel and state, and who got which priority."""
    by_state: dict[str, dict[str, int]] = {}
    for r in await conn.fetch("SELECT channel, state, count(*) AS n FROM outbox GROUP BY 1, 2 ORDER BY 1, 2"):
        by_state.setdefault(r["channel"], {})[r["state"]] = r["n"]
    groups = await conn.fetch(
        """
        SELECT channel, topic, template, priority, critical, fallback, overrides_opt_out, count(*) AS n
        FROM outbox GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2 DESC, 3, 4, 5, 6, 7
        """
    )
    return {
        "rows": sum(sum(s.values()) for s in by_state.values()),
        "by_channel_state": by_state,
        "groups": [
            {**dict(g), "priority": {0: "0 urgent", 1: "1 routine"}.get(g["priority"], g["priority"])} for g in groups
        ],
        "notices": await conn.fetchval("SELECT count(*) FROM notices"),
        "safety_checks": await conn.fetchval("SELECT count(*) FROM safety_checks"),
    }


class _Recorder:
    """Stands in for a connection to catch the SQL and arguments a repository function would send."""

    async def fetch(self, sql: str, *args: object) -> list[object]:
        self.sql, self.args = sql, args
        return []

    async def execute(self, sql: str, *args: object) -> str:
        self.sql, self.args = sql, args
        return "INSERT 0 0"


async def plans(conn: asyncpg.Connection) -> dict[str, object]:
    """How PostgreSQL means to run the two big fan-out statements, as the ingest will send them (EXPLAIN only)."""
    now = datetime.now(UTC)
    ids = [r["id"] for r in await conn.fetch("SELECT id FROM care_recipients ORDER BY id")]
    checks = _Recorder()
    await care.safety.repository.open_checks(
        checks, alert_id=1, recipient_ids=ids, replaced=[], now=now, first_due=timedelta(minutes=15)
    )
    sms = _Recorder()
    texts = {district: {lang: ("t", "b", "b") for lang in ("ko", "en")} for district in CITY}
    fan = notifications.repository.FanOut(
        notice_id=1, template="t", texts=texts, data={}, priority=0, max_attempts=1, now=now, due=now
    )
    await notifications.repository.fan_out_to_districts(sms, fan, districts=CITY, to_devices=False)
    out: dict[str, object] = {
        "safety_checks_stats": dict(
            await conn.fetchrow("SELECT relpages, reltuples FROM pg_class WHERE relname = 'safety_checks'")
        )
    }
    for name, caught in (("open_checks", checks), ("fan_out_city", sms)):
        lines = [r[0] for r in await conn.fetch("EXPLAIN " + caught.sql, *caught.args)]
        out[name] = [line.strip(" ->") for line in lines if "Join" in line or "Scan" in line]
    return out


_COPY_ALERT = """
    INSERT INTO alerts (source, sender, identifier, sent, status, msg_type, scope, event, hazard, urgency, severity,
                        certainty, onset, expires, texts, areas, districts, incidents, cap, received_at)
    SELECT source, sender, identifier || ':copy', sent, status, msg_type, scope, event, hazard, urgency, severity,
           certainty, onset, expires, texts, areas, districts, incidents, cap, received_at
    FROM alerts WHERE id = $1
    RETURNING id
"""
_COPY_OUTBOX = """
    INSERT INTO outbox (notice_id, channel, recipient, topic, citizen_id, device_id, template, language, title, body,
                        data, priority, critical, fallback, overrides_opt_out, max_attempts, state, last_error,
                        created_at, updated_at, next_attempt_at)
    SELECT notice_id, channel, recipient, topic, citizen_id, device_id, template, language, title, body, data,
           priority, critical, fallback, overrides_opt_out, max_attempts, state, last_error, created_at, updated_at,
           next_attempt_at
    FROM outbox
"""


async def bare_copy(conn: asyncpg.Connection, *, alert_id: int | None) -> dict[str, float]:
    """The simplest thing that writes the same rows: one INSERT … SELECT each copying the ingest's own notices,
    outbox rows and safety checks (under a copy of the alert), into the same tables with the same indexes and
    checks, in one transaction, rolled back. What is left of the ingest is choosing the people and the texts."""
    seconds: dict[str, float] = {}
    tx = conn.transaction()
    await tx.start()
    try:
        copy = await conn.fetchval(_COPY_ALERT, alert_id)
        for name, sql, args in (
            (
                "notices",
                "INSERT INTO notices (dedupe_key, template, created_at)"
                " SELECT dedupe_key || ':copy', template, created_at FROM notices",
                (),
            ),
            ("outbox", f"{_COPY_OUTBOX} ORDER BY id", ()),
            (
                "safety_checks",
                "INSERT INTO safety_checks (alert_id, recipient_id, asked_at, step, due_at)"
                " SELECT $1, recipient_id, asked_at, step, due_at FROM safety_checks",
                (copy,),
            ),
        ):
            started = time.perf_counter()
            await conn.execute(sql, *args)
            seconds[f"{name}_s"] = round(time.perf_counter() - started, 3)
    finally:
        await tx.rollback()
    seconds["total_s"] = round(sum(seconds.values()), 3)
    return seconds


# The bare copy split as the ingest's two lanes are: the people in care's notices, deliveries and checks on one
# connection, everyone else's deliveries on another, side by side (each in its own transaction, rolled back).
_CARE_NOTICES = "SELECT id FROM notices WHERE dedupe_key LIKE 'care:%'"
_LANE_COPIES = (
    (
        "notices",
        "INSERT INTO notices (dedupe_key, template, created_at)"
        " SELECT dedupe_key || ':copy', template, created_at FROM notices",
    ),
    ("care_outbox", f"{_COPY_OUTBOX} WHERE notice_id IN ({_CARE_NOTICES}) ORDER BY id"),
    (
        "safety_checks",
        "INSERT INTO safety_checks (alert_id, recipient_id, asked_at, step, due_at)"
        " SELECT $1, recipient_id, asked_at, step, due_at FROM safety_checks",
    ),
)
_OTHER_LANE = (("citizens_outbox", f"{_COPY_OUTBOX} WHERE notice_id NOT IN ({_CARE_NOTICES}) ORDER BY id"),)


async def bare_copy_two_lanes(pool: asyncpg.Pool, *, alert_id: int | None) -> dict[str, float]:
    """The same copy as ``bare_copy``, in two lanes on two connections at once, as the ingest writes its parts."""

    async def lane(copies: tuple[tuple[str, str], ...], copy_alert: bool) -> dict[str, float]:
        seconds: dict[str, float] = {}
        async with pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            try:
                copy = await conn.fetchval(_COPY_ALERT, alert_id) if copy_alert else None
                for name, sql in copies:
                    started = time.perf_counter()
                    await conn.execute(sql, *((copy,) if "$1" in sql else ()))
                    seconds[f"{name}_s"] = round(time.perf_counter() - started, 3)
            finally:
                await tx.rollback()
        return seconds

    started = time.perf_counter()
    care_lane, other_lane = await asyncio.gather(lane(_LANE_COPIES, True), lane(_OTHER_LANE, False))
    return {**care_lane, **other_lane, "total_s": round(time.perf_counter() - started, 3)}


async def sms_ahead_of_care(conn: asyncpg.Connection) -> int | None:
    """Pending SMS the dispatcher claims (priority, next_attempt_at, id) before the first one to a person in care."""
    return await conn.fetchval(
        """
        SELECT count(*) FROM outbox o, (
            SELECT priority, next_attempt_at, id FROM outbox
            WHERE channel = 'sms' AND state = 'pending' AND template = ANY($1::text[])
            ORDER BY priority, next_attempt_at, id LIMIT 1
        ) f
        WHERE o.channel = 'sms' AND o.state = 'pending'
          AND (o.priority, o.next_attempt_at, o.id) < (f.priority, f.next_attempt_at, f.id)
        """,
        list(CARE_TEMPLATES),
    )


async def ingest_twice(url: str) -> dict[str, object]:
    """The city-wide warning ingested once (timed, by phase) and then delivered again."""
    xml = cap_xml("bench-city-wide-heavy-rain", severity="Severe", event="호우경보", geocodes=tuple(CITY))
    notifier = Notifier(NotifySettings())
    # The default statement timeout, as the API and worker use; a second connection for the second lane of parts,
    # and, for the two lanes of the bare copy, two beside the one held here.
    settings = DatabaseSettings(url=url, pool_max=3)
    pool = await create_pool(settings)
    try:
        async with pool.acquire() as conn:
            planned = await plans(conn)
            # Each timed step starts from a checkpoint: loading a million citizens leaves PostgreSQL a checkpoint
            # every few seconds for minutes after, whose fsyncs would fall in one step's window and not another's.
            await conn.execute("CHECKPOINT")
            with timed(PHASES) as (spent, ended):
                started = time.perf_counter()
                cap = parse_cap(xml)
                parsed = time.perf_counter()
                first = await service.ingest(
                    conn, cap, source="feed", notifier=notifier, now=datetime.now(UTC), pool=pool
                )
                done = time.perf_counter()
            after_first = await outbox_summary(conn)
            ahead = await sms_ahead_of_care(conn)
            await conn.execute("CHECKPOINT")
            ceiling = await bare_copy(conn, alert_id=first.alert_id)
            await conn.execute("CHECKPOINT")
            ceiling_two_lanes = await bare_copy_two_lanes(pool, alert_id=first.alert_id)
            again_started = time.perf_counter()
            again = await service.ingest(
                conn, parse_cap(xml), source="feed", notifier=notifier, now=datetime.now(UTC), pool=pool
            )
            again_s = time.perf_counter() - again_started
            after_again = await outbox_summary(conn)
    finally:
        await pool.close()
    phases = {name: round(spent.get(name, 0.0), 3) for name in PHASES}
    phases = {"parse": round(parsed - started, 3), **phases}
    # The alert and its topics are committed (everyone with the app told) when the first part starts.
    topics_committed = round(ended["topics"] - started, 3) if "topics" in ended else None
    enqueue_sql = sum(phases[n] for n in ("insert_notices_sql", "devices_of_sql", "opted_out_sql", "insert_rows_sql"))
    phases["care_enqueue_python"] = round(phases["care_enqueue"] - enqueue_sql, 3)  # rendering, building rows
    phases["commits_and_rest"] = round(
        (done - started) - phases["parse"] - phases["topics"] - phases["parts"] - phases["insert_alert_sql"], 3
    )
    return {
        "cap_bytes": len(xml),
        "statement_timeout_s": settings.command_timeout,
        "ingest_s": round(done - started, 3),
        "topics_committed_s": topics_committed,
        "ceiling": ceiling,
        "ratio_to_ceiling": round((done - started) / ceiling["total_s"], 2),
        "ceiling_two_lanes": ceiling_two_lanes,
        "ratio_to_ceiling_two_lanes": round((done - started) / ceiling_two_lanes["total_s"], 2),
        "result": msgspec.to_builtins(first),
        "phases_s": phases,
        "plans_before_ingest": planned,
        "outbox": after_first,
        "sms_queued_ahead_of_first_care_sms": ahead,
        "redelivery": {
            "ingest_s": round(again_s, 3),
            "outcome": str(again.outcome),
            "result": msgspec.to_builtins(again),
            "created_nothing": after_again == after_first,
        },
    }


def dispatch(url: str, info: dict[str, Any], *, sms_target: int, timeout_s: float) -> dict[str, object]:
    """One worker against the fakes: seconds from its start to the topic pushes and to ``sms_target`` SMS."""
    for fake in (info["fcm"], info["twilio"]):
        httpx.post(f"{fake}/_fake/control", json={"reset": True}, timeout=10).raise_for_status()
    env = {
        **os.environ,
        **info["env"],
        "DATABASE_URL": url,
        "JWT_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
    }
    marks: dict[str, float] = {}
    topics: set[str] = set()
    pushes = texts = 0
    started = time.perf_counter()
    worker = subprocess.Popen([sys.executable, "-m", "api.cli", "worker", "--no-schedule"], env=env)
    try:
        with httpx.Client(timeout=60) as http:
            while True:
                page = http.get(f"{info['fcm']}/_fake/sent", params={"offset": pushes, "limit": 20000})
                got = page.json()["messages"]
                new_texts = len(http.get(f"{info['twilio']}/_fake/sent", params={"after": texts}).json())
                at = time.perf_counter() - started
                pushes += len(got)
                texts += new_texts
                topics.update(m["topic"] for m in got if m.get("topic"))
                for mark, reached in (
                    ("first_push", pushes > 0),
                    ("first_topic_push", bool(topics)),
                    ("all_topic_pushes", len(topics) >= len(CITY)),
                    ("first_sms", texts > 0),
                    ("sms_target", texts >= sms_target),
                ):
                    if reached and mark not in marks:
                        marks[mark] = round(at, 2)
                if ("all_topic_pushes" in marks and "sms_target" in marks) or at > timeout_s:
                    break
                if worker.poll() is not None:
                    raise SystemExit(f"the worker exited ({worker.returncode}) during the benchmark")
                time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    sms_s = marks.get("sms_target")
    first_sms = marks.get("first_sms")
    return {
        "worker": "1 × safecity worker --no-schedule, default NOTIFY_* settings, LOG_LEVEL=WARNING",
        "seconds_from_worker_start": marks,
        "timed_out": "sms_target" not in marks or "all_topic_pushes" not in marks,
        "topics_received": len(topics),
        "received_when_stopped": {"fcm": pushes, "twilio": texts},
        "sms_per_s_after_first": round((texts - 1) / (sms_s - first_sms), 1) if sms_s and sms_s > first_sms else None,
    }


async def sent_by_template(url: str) -> dict[str, dict[str, int]]:
    """What the worker had recorded as sent when it was stopped, by channel and template."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            """
            SELECT channel || CASE WHEN topic THEN ' (topic)' ELSE '' END AS channel, template, state, count(*) AS n
            FROM outbox WHERE state IN ('sent', 'sending', 'delivered') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """
        )
    finally:
        await conn.close()
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(f"{r['channel']} {r['template']}", {})[r["state"]] = r["n"]
    return out


async def prepare(server_url: str, args: argparse.Namespace) -> tuple[str, dict[str, object]]:
    url = await fresh_database(server_url, DATABASE)
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        loaded = await load(
            conn, citizens=args.citizens, without_app=args.without_app, care=args.care, opt_outs=args.opt_outs
        )
        loaded["total_s"] = round(time.perf_counter() - started, 2)
        return url, {"load": loaded, **await facts(conn)}
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citizens", type=int, default=1_000_000)
    parser.add_argument("--without-app", type=int, default=200_000, help="of the citizens, with a phone only")
    parser.add_argument("--care", type=int, default=50_000, help="people in care")
    parser.add_argument("--opt-outs", type=int, default=3_000, help="of the citizens without the app")
    parser.add_argument("--sms-target", type=int, default=10_000, help="stop the worker once the fake has these")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the dispatch targets")
    parser.add_argument("--ingest-only", action="store_true", help="(1) and (2) only: no fakes, no worker")
    args = parser.parse_args()
    if not SHELTERS.is_dir():
        raise SystemExit(f"{SHELTERS} is missing: this benchmark imports the real shelter files from there")
    configure_logging(LogSettings(level="WARNING"), process="bench")  # stdout carries the JSON alone

    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    fakes = None
    try:
        url, city = asyncio.run(prepare(server_url, args))
        load_before = os.getloadavg()
        ingested = asyncio.run(ingest_twice(url))
        dispatched: dict[str, Any] = {}
        if not args.ingest_only:
            fakes, info = start_fakes()
            dispatched = dispatch(url, info, sms_target=args.sms_target, timeout_s=args.timeout)
            dispatched["sent_by_template_when_stopped"] = asyncio.run(sent_by_template(url))
            rate, ahead = dispatched["sms_per_s_after_first"], ingested["sms_queued_ahead_of_first_care_sms"]
            dispatched["first_care_sms_after_s_at_this_rate"] = round(ahead / rate) if rate and ahead else None
    finally:
        if fakes is not None:
            fakes.terminate()
            fakes.wait(timeout=10)
        if embedded is not None:
            embedded.stop()
    print(
        msgspec.json.format(
            msgspec.json.encode(
                {
                    "benchmark": "alerts",
                    "machine": {
                        "cpus": os.cpu_count(),
                        "python": platform.python_version(),
                        "postgres": city.pop("postgres"),
                        "shared_buffers": city.pop("shared_buffers"),
                        "load_average_before_ingest": [round(x, 2) for x in load_before],
                    },
                    "warning": "CAP 호우경보, Severe, Actual/Public, all 25 district codes; shelters for flooding",
                    "city": city,
                    "ingest": ingested,
                    "dispatch": dispatched,
                }
            ),
            indent=2,
        ).decode()
    )


if __name__ == "__main__":
    main()
