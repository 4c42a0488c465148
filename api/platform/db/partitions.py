"""Monthly partitions of a table partitioned by time: made ahead, and dropped once past retention.

The owner of a table says how long it keeps it, what still needs a month that has ended, and what must go
before the month does (``Retention``); ``maintain`` does the rest, each step in a short transaction of its own.
The DDL is in SQL functions (migration 0032), so that no table name is ever written into a statement here.

Dropping reads each partition's own bounds, so ``drop_ended`` serves any range partitions by time, whatever their
length: the sensors' daily readings use it (their days are made by ``sensor_readings_ensure``, not here).

Creating, detaching and dropping a partition lock the parent table. A step waits at most ``LOCK_WAIT`` for that
lock (a long transaction holding the table would otherwise queue every reader behind the waiting DDL), and one
that could not have it is tried again at the next run: partitions are made three months ahead, so a run or two
missed changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import asyncpg
import structlog

log = structlog.get_logger(__name__)

LOCK_WAIT = "5s"
AHEAD = timedelta(days=92)

# (conn, lower bound, upper bound) of an ended month → a count: rows that still need it, or rows deleted first.
MonthCheck = Callable[[asyncpg.Connection, datetime, datetime], Awaitable[int]]
# (conn, before) → rows deleted from the default partition.
DefaultPurge = Callable[[asyncpg.Connection, datetime], Awaitable[int]]


class Ended(NamedTuple):
    """A partition whose every row is older than the retention, and its bounds."""

    partition: str
    lower: datetime
    upper: datetime


@dataclass(frozen=True, slots=True)
class Retention:
    """How the owner of ``table`` keeps it.

    ``still_needed`` counts the rows of an ended month that must not go yet (messages still to be sent); a month
    with any is kept. ``before_drop`` deletes what references the month's rows, in the drop's transaction.
    ``purge_default`` deletes rows past retention from the default partition, where rows of a month that had no
    partition landed.
    """

    table: str
    keep: timedelta
    purge_default: DefaultPurge | None = None  # None: the table has no default partition
    still_needed: MonthCheck | None = None
    before_drop: MonthCheck | None = None
    ahead: timedelta = AHEAD


async def create_ahead(conn: asyncpg.Connection, *, table: str, now: datetime, through: datetime) -> list[str]:
    """Make the missing monthly partitions of ``table`` from ``now``'s month through ``through``'s; their names.

    A month whose rows already sit in the default partition is left there, and said so in the log.
    """
    rows = await conn.fetch(
        "SELECT partition, outcome FROM month_partitions_create($1::text::regclass, $2, $3)", table, now, through
    )
    for row in rows:
        if row["outcome"] != "created":
            log.warning("partition not made", table=table, partition=row["partition"], outcome=row["outcome"])
    return [r["partition"] for r in rows if r["outcome"] == "created"]


async def ended_by(conn: asyncpg.Connection, *, table: str, before: datetime) -> list[Ended]:
    """The partitions of ``table`` whose upper bound is at or before ``before``, oldest first."""
    rows = await conn.fetch(
        "SELECT partition, lower_bound, upper_bound FROM month_partitions_ended_by($1::text::regclass, $2)",
        table,
        before,
    )
    return [Ended(r["partition"], r["lower_bound"], r["upper_bound"]) for r in rows]


async def drop(conn: asyncpg.Connection, *, table: str, partition: str) -> None:
    """Detach and drop one partition of ``table``; refused while a foreign key references a row of it."""
    await conn.execute("SELECT month_partition_drop($1::text::regclass, $2)", table, partition)


async def _bound_lock_wait(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT set_config('lock_timeout', $1, true)", LOCK_WAIT)


async def maintain(pool: asyncpg.Pool, retention: Retention, *, now: datetime) -> dict[str, Any]:
    """Make the months ahead, drop those past retention unless still needed, purge the default partition."""
    table, before = retention.table, now - retention.keep
    result: dict[str, Any] = {"created": [], "dropped": [], "kept": [], "busy": [], "default_purged": 0}
    async with pool.acquire() as conn:
        try:
            async with conn.transaction():
                await _bound_lock_wait(conn)
                result["created"] = await create_ahead(conn, table=table, now=now, through=now + retention.ahead)
        except asyncpg.LockNotAvailableError:
            log.warning("partitions not made: the table was busy", table=table)
            result["busy"].append("create")
    for outcome, names in (await drop_ended(pool, retention, now=now)).items():
        result[outcome] += names
    if retention.purge_default is not None:
        async with pool.acquire() as conn, conn.transaction():
            result["default_purged"] = await retention.purge_default(conn, before)
    return result


async def drop_ended(pool: asyncpg.Pool, retention: Retention, *, now: datetime) -> dict[str, list[str]]:
    """Drop the partitions of the table whose every row is older than its retention, unless still needed; each
    in a transaction of its own. The partitions ``dropped``, ``kept`` (still needed) and ``busy`` (locked)."""
    result: dict[str, list[str]] = {"dropped": [], "kept": [], "busy": []}
    async with pool.acquire() as conn:
        for month in await ended_by(conn, table=retention.table, before=now - retention.keep):
            result[await _drop_month(conn, retention, month)].append(month.partition)
    return result


async def _drop_month(conn: asyncpg.Connection, retention: Retention, month: Ended) -> str:
    """Drop one ended month in its own transaction; which list of the result it goes to."""
    try:
        async with conn.transaction():
            await _bound_lock_wait(conn)
            if retention.still_needed is not None:
                needed = await retention.still_needed(conn, month.lower, month.upper)
                if needed:
                    log.warning("partition kept: rows still need it", partition=month.partition, rows=needed)
                    return "kept"
            if retention.before_drop is not None:
                await retention.before_drop(conn, month.lower, month.upper)
            await drop(conn, table=retention.table, partition=month.partition)
    except asyncpg.LockNotAvailableError:
        log.warning("partition not dropped: the table was busy", partition=month.partition)
        return "busy"
    except asyncpg.ForeignKeyViolationError as e:
        # A row referencing the month came between before_drop and the detach; the next run takes it.
        log.warning("partition kept: still referenced", partition=month.partition, error=str(e))
        return "kept"
    log.info("partition dropped", partition=month.partition)
    return "dropped"
