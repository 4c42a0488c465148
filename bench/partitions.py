"""Benchmark of the outbox's partitions: the same rows in a plain table (the outbox before 0032) and in the
partitioned outbox, measured in the same run.

(1) Inserts ``--rows`` deliveries (10 M by default) spread over four months, by the same INSERT … SELECT in
    chunks of a million, into each table in turn: rows per second.
(2) The dispatcher's churn: the newest month's first 500 k rows updated (sent → delivered), then VACUUM:
    seconds of VACUUM on each.
(3) Retention of a month (a quarter of the rows): DELETE + VACUUM on the plain table against dropping the
    partition; sizes after, bytes per live row (the plain table keeps its dead space).
(4) The dispatcher's claim of 500 due rows (10 k pending in the newest month) and a lookup of 500 claimed rows by
    id alone (what ``still_claimed`` does): milliseconds on each, and the claim's plan on the partitioned table.

    nice -n 10 .venv/bin/python -m bench.partitions [--rows 10000000]

Uses its own embedded PostgreSQL (var/bench-pgdata) or BENCH_DATABASE_URL. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from api.platform.db.embedded import EmbeddedPostgres
from api.platform.settings import PROJECT_ROOT
from bench.common import fresh_database

DATABASE = "safecity_bench_partitions"
PLAIN, PARTITIONED = "outbox_plain", "outbox"
CHUNK = 1_000_000
MONTHS = 4

# The outbox as migrations 0006, 0019 and 0026 left it: one table, its key (id), the same indexes.
PLAIN_TABLE = """
CREATE TABLE outbox_plain (LIKE outbox INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY);
ALTER TABLE outbox_plain ADD PRIMARY KEY (id);
ALTER TABLE outbox_plain ADD FOREIGN KEY (notice_id) REFERENCES notices (id) ON DELETE CASCADE;
CREATE INDEX ON outbox_plain (channel, priority, next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX ON outbox_plain (lease_until) WHERE state = 'sending';
CREATE INDEX ON outbox_plain (notice_id, citizen_id);
CREATE INDEX ON outbox_plain (provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX ON outbox_plain (recipient, created_at);
CREATE INDEX ON outbox_plain (created_at);
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox_plain FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
"""

# One chunk of rows, $1 the notice, rows $2 + 1 … $3 of $4, spread evenly over [$5, $5 + $6).
INSERT = """
INSERT INTO {table} (notice_id, channel, recipient, citizen_id, template, language, title, body, priority,
                     max_attempts, state, provider_id, created_at, updated_at, next_attempt_at, sent_at)
SELECT $1, CASE WHEN g % 4 = 0 THEN 'sms' ELSE 'push' END,
       CASE WHEN g % 4 = 0 THEN '+8210' || lpad((g % 100000000)::text, 8, '0') ELSE 'fcm-token-' || g END,
       g % 1000000, 'alert.warning', 'ko', '호우경보',
       '서울 전역 호우경보: 저지대와 지하 공간을 벗어나 가까운 대피소로 가세요.',
       1, 3, 'sent', CASE WHEN g % 4 = 0 THEN 'SM' || md5(g::text) END, t, t, t, t
FROM generate_series($2::int + 1, $3::int) g,
     LATERAL (SELECT $5::timestamptz + $6::interval * (g - 1)::float8 / $4::int AS t) s
"""

CHURN = """
UPDATE {table} SET state = 'delivered', delivered_at = created_at + interval '3 seconds'
WHERE id IN (SELECT id FROM {table} WHERE created_at >= $1 ORDER BY created_at LIMIT 500000)
"""

PENDING = """
UPDATE {table} SET state = 'pending', next_attempt_at = created_at
WHERE id IN (SELECT id FROM {table} WHERE created_at >= $1 ORDER BY created_at DESC LIMIT 10000)
"""

CLAIM = """
WITH due AS (
    SELECT id, created_at FROM {table}
    WHERE state = 'pending' AND channel = 'push' AND next_attempt_at <= $1
    ORDER BY priority, next_attempt_at, id LIMIT 500 FOR UPDATE SKIP LOCKED
)
UPDATE {table} o SET state = 'sending', attempts = o.attempts + 1, lease_until = $1, updated_at = $1
FROM due WHERE o.id = due.id AND o.created_at = due.created_at
RETURNING o.id, o.attempts
"""

BY_ID = """
SELECT o.id FROM {table} o JOIN unnest($1::int8[], $2::int4[]) AS r(id, attempts) ON o.id = r.id
WHERE o.attempts = r.attempts AND o.state = 'sending'
"""


def sql(template: str, table: str) -> str:
    # The two tables of this benchmark, never input.
    return template.format(table=table)


def first_of_month(at: datetime, offset: int = 0) -> datetime:
    index = at.year * 12 + at.month - 1 + offset
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


async def timed(conn: asyncpg.Connection, statement: str, *args: object) -> float:
    started = time.perf_counter()
    await conn.execute(statement, *args)
    return time.perf_counter() - started


async def size(conn: asyncpg.Connection, table: str) -> int:
    """Bytes of the table, its partitions, their indexes and TOAST."""
    return await conn.fetchval(
        """
        SELECT coalesce((SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree($1::text::regclass)),
                        pg_total_relation_size($1::text::regclass))::int8
        """,
        table,
    )


async def insert_both(conn: asyncpg.Connection, *, rows: int, notice: int, start: datetime) -> dict[str, Any]:
    """The same chunks into each table in turn (plain, partitioned, plain…), so that both see the same machine:
    it is shared, and its load moves during a run of many minutes."""
    span = first_of_month(start, MONTHS) - start
    seconds = dict.fromkeys((PLAIN, PARTITIONED), 0.0)
    for lo in range(0, rows, CHUNK):
        for table in (PLAIN, PARTITIONED):
            statement = sql(INSERT, table)
            seconds[table] += await timed(conn, statement, notice, lo, min(lo + CHUNK, rows), rows, start, span)
    out: dict[str, Any] = {}
    for table, name in ((PLAIN, "plain"), (PARTITIONED, "partitioned")):
        await conn.execute(f"ANALYZE {table}")
        out[name] = {
            "seconds": round(seconds[table], 1),
            "rows_per_s": round(rows / seconds[table]),
            "bytes": await size(conn, table),
        }
    out["ratio_partitioned_to_plain"] = round(out["partitioned"]["rows_per_s"] / out["plain"]["rows_per_s"], 2)
    return out


async def churn_and_vacuum(conn: asyncpg.Connection, table: str, *, newest: datetime) -> dict[str, float]:
    updated = await timed(conn, sql(CHURN, table), newest)
    vacuumed = await timed(conn, f"VACUUM {table}")
    return {"update_500k_s": round(updated, 2), "vacuum_s": round(vacuumed, 2)}


async def purge_plain(conn: asyncpg.Connection, *, before: datetime) -> dict[str, Any]:
    deleted = await timed(conn, "DELETE FROM outbox_plain WHERE created_at < $1", before)
    vacuumed = await timed(conn, "VACUUM outbox_plain")
    return {"delete_s": round(deleted, 2), "vacuum_s": round(vacuumed, 2), "seconds": round(deleted + vacuumed, 2)}


async def purge_partitioned(conn: asyncpg.Connection, *, month: datetime) -> dict[str, Any]:
    seconds = await timed(conn, "SELECT month_partition_drop('outbox', $1)", f"outbox_p{month:%Y_%m}")
    return {"seconds": round(seconds, 3)}


async def after_purge(conn: asyncpg.Connection, table: str) -> dict[str, Any]:
    live = await conn.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608 - the benchmark's own two tables
    total = await size(conn, table)
    return {"live_rows": live, "bytes": total, "bytes_per_live_row": round(total / live)}


async def claim_and_lookup(conn: asyncpg.Connection, table: str, *, now: datetime, rounds: int = 20) -> dict[str, Any]:
    """Claims of 500 due rows, then the same rows looked up by id alone; mean milliseconds of each, rolled back."""
    claim_s = lookup_s = 0.0
    for _ in range(rounds):
        tr = conn.transaction()
        await tr.start()
        try:
            started = time.perf_counter()
            rows = await conn.fetch(sql(CLAIM, table), now)
            claim_s += time.perf_counter() - started
            started = time.perf_counter()
            found = await conn.fetch(sql(BY_ID, table), [r["id"] for r in rows], [r["attempts"] for r in rows])
            lookup_s += time.perf_counter() - started
            assert len(rows) == len(found) == 500, (len(rows), len(found))
        finally:
            await tr.rollback()
    return {
        "claim_500_ms": round(claim_s / rounds * 1000, 2),
        "lookup_500_by_id_ms": round(lookup_s / rounds * 1000, 2),
    }


def plan_nodes(plan: dict[str, Any]) -> list[str]:
    """The plan's nodes, depth first: type and, for an index scan, the index."""
    node = plan["Node Type"] + (f" {plan['Index Name']}" if "Index Name" in plan else "")
    if "Relation Name" in plan and "Index Name" not in plan:
        node += f" {plan['Relation Name']}"
    return [node] + [n for child in plan.get("Plans", []) for n in plan_nodes(child)]


async def run(url: str, rows: int) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(PLAIN_TABLE)
        notice = await conn.fetchval("INSERT INTO notices (template) VALUES ('alert.warning') RETURNING id")
        start = first_of_month(datetime.now(UTC))
        newest = first_of_month(start, MONTHS - 1)
        out: dict[str, Any] = {
            "postgres": await conn.fetchval("SHOW server_version"),
            "rows": rows,
            "months": MONTHS,
            "partitions": await conn.fetchval("SELECT count(*) FROM pg_inherits WHERE inhparent = 'outbox'::regclass"),
        }
        out["insert"] = await insert_both(conn, rows=rows, notice=notice, start=start)
        out["churn"] = {
            "plain": await churn_and_vacuum(conn, PLAIN, newest=newest),
            "partitioned": await churn_and_vacuum(conn, PARTITIONED, newest=newest),
        }
        out["churn"]["vacuum_ratio_plain_to_partitioned"] = round(
            out["churn"]["plain"]["vacuum_s"] / out["churn"]["partitioned"]["vacuum_s"], 1
        )
        for table in (PLAIN, PARTITIONED):
            await conn.execute(sql(PENDING, table), newest)
            await conn.execute(f"ANALYZE {table}")
        plan_now = first_of_month(start, MONTHS)
        out["claim"] = {
            "plain": await claim_and_lookup(conn, PLAIN, now=plan_now),
            "partitioned": await claim_and_lookup(conn, PARTITIONED, now=plan_now),
        }
        out["claim"]["plan_partitioned"] = await explain_claim(conn, now=plan_now)
        out["purge_one_month"] = {
            "rows": await conn.fetchval(
                "SELECT count(*) FROM outbox_plain WHERE created_at < $1", first_of_month(start, 1)
            ),
            "plain_delete_vacuum": await purge_plain(conn, before=first_of_month(start, 1)),
            "partitioned_drop": await purge_partitioned(conn, month=start),
        }
        purge = out["purge_one_month"]
        purge["ratio_plain_to_partitioned"] = round(
            purge["plain_delete_vacuum"]["seconds"] / purge["partitioned_drop"]["seconds"]
        )
        out["after_purge"] = {
            "plain": await after_purge(conn, PLAIN),
            "partitioned": await after_purge(conn, PARTITIONED),
        }
        out["after_purge"]["bytes_per_row_ratio_plain_to_partitioned"] = round(
            out["after_purge"]["plain"]["bytes_per_live_row"] / out["after_purge"]["partitioned"]["bytes_per_live_row"],
            2,
        )
        return out
    finally:
        await conn.close()


async def explain_claim(conn: asyncpg.Connection, *, now: datetime) -> dict[str, Any]:
    """The claim's plan on the partitioned outbox (run, then rolled back): its nodes and time."""
    tr = conn.transaction()
    await tr.start()
    try:
        raw = await conn.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql(CLAIM, PARTITIONED), now)
    finally:
        await tr.rollback()
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
    return {
        "execution_ms": plan["Execution Time"],
        "planning_ms": plan["Planning Time"],
        "nodes": plan_nodes(plan["Plan"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    try:
        url = asyncio.run(fresh_database(server_url, DATABASE))
        result = asyncio.run(run(url, args.rows))
    finally:
        if embedded is not None:
            embedded.stop()
    print(
        json.dumps(
            {
                "benchmark": "partitions",
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                **result,
            },
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
