"""The outbox by month: months made ahead, a month past retention dropped whole, unless something still needs it.

The test database was migrated today, so its partitions run from this month to three months ahead; each test
picks its months from there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from api.platform.jobs.runner import run_job
from api.worker import JOBS
from notifications import voice_repository
from notifications.jobs import KEEP

JOB = JOBS["notifications.purge-old"]


def month(offset: int) -> datetime:
    """The first instant (UTC) of the month ``offset`` months from this one."""
    today = datetime.now(UTC)
    index = today.year * 12 + today.month - 1 + offset
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


async def partitions(pool: asyncpg.Pool, table: str = "outbox") -> list[str]:
    rows = await pool.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = $1::text::regclass ORDER BY c.relname",
        table,
    )
    return [r["relname"] for r in rows]


def name(table: str, at: datetime) -> str:
    return f"{table}_p{at:%Y_%m}"


async def send(pool, notifier, *, at: datetime, phone: str, state: str = "sent") -> tuple[int, int]:
    """One SMS enqueued at ``at`` and brought to ``state``; its notice id and outbox id."""
    async with pool.acquire() as conn, conn.transaction():
        notice = await notifier.to_phone(
            conn, phone=phone, language="ko", template="notice.test", params={"text": "a"}, now=at
        )
        outbox_id = await conn.fetchval(
            "UPDATE outbox SET state = $2 WHERE notice_id = $1 RETURNING id", notice.notice_id, state
        )
    return notice.notice_id, outbox_id


async def test_the_job_makes_three_months_ahead_of_the_day_it_runs(pool, settings):
    result = await run_job(pool, JOB, now=month(2) + timedelta(days=3), settings=settings)
    assert result.result["outbox"]["created"] == [name("outbox", month(4)), name("outbox", month(5))]
    assert {name("outbox", month(i)) for i in range(6)} <= set(await partitions(pool))
    assert "outbox_default" in await partitions(pool)


async def test_a_month_past_retention_goes_whole_with_its_notices_and_calls(pool, settings, notifier):
    old_notice, old_id = await send(pool, notifier, at=month(1) + timedelta(days=10), phone="01011110000")
    new_notice, new_id = await send(pool, notifier, at=month(2) + timedelta(days=10), phone="01011110001")
    async with pool.acquire() as conn, conn.transaction():
        await voice_repository.lock_call(
            conn, call_sid="CA" + "0" * 32, outbox_id=old_id, phone="+821011110000", purpose="message",
            status="completed", now=month(1) + timedelta(days=10),
        )  # fmt: skip
    # The first day on which all of month 1 is older than the retention.
    now = month(2) + KEEP
    result = await run_job(pool, JOB, now=now, settings=settings)

    assert result.result["outbox"]["dropped"] == [name("outbox", month(0)), name("outbox", month(1))]
    assert name("outbox", month(1)) not in await partitions(pool)
    assert [r["id"] for r in await pool.fetch("SELECT id FROM outbox")] == [new_id]
    assert await pool.fetchval("SELECT count(*) FROM voice_calls") == 0
    assert [r["id"] for r in await pool.fetch("SELECT id FROM notices")] == [new_notice]
    assert result.result["notices"] == 1
    assert old_notice != new_notice


async def test_a_month_is_kept_a_day_short_of_retention(pool, settings, notifier):
    await send(pool, notifier, at=month(1) + timedelta(days=30), phone="01011110000")
    result = await run_job(pool, JOB, now=month(2) + KEEP - timedelta(days=1), settings=settings)
    assert name("outbox", month(1)) in await partitions(pool)
    assert result.result["outbox"]["dropped"] == [name("outbox", month(0))]
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1


async def test_a_month_with_a_message_still_to_go_is_kept_until_it_has_gone(pool, settings, notifier):
    _, waiting = await send(pool, notifier, at=month(1) + timedelta(days=2), phone="01011110000", state="pending")
    now = month(2) + KEEP
    result = await run_job(pool, JOB, now=now, settings=settings)
    assert result.result["outbox"]["kept"] == [name("outbox", month(1))]
    assert [r["id"] for r in await pool.fetch("SELECT id FROM outbox")] == [waiting]

    await pool.execute("UPDATE outbox SET state = 'sent' WHERE id = $1", waiting)
    result = await run_job(pool, JOB, now=now + timedelta(days=1), settings=settings)
    assert result.result["outbox"]["dropped"] == [name("outbox", month(1))]
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_a_row_of_a_month_with_no_partition_lands_in_the_default_and_is_purged_there(pool, settings, notifier):
    far = month(8) + timedelta(days=5)
    notice, far_id = await send(pool, notifier, at=far, phone="01011110000")
    assert await pool.fetchval("SELECT tableoid::regclass::text FROM outbox WHERE id = $1", far_id) == "outbox_default"

    # Its month is not made while its rows sit in the default (moving them would fire the foreign keys).
    result = await run_job(pool, JOB, now=month(6), settings=settings)
    assert name("outbox", month(8)) not in result.result["outbox"]["created"]
    assert name("outbox", month(8)) not in await partitions(pool)
    assert name("outbox", month(9)) in await partitions(pool)

    result = await run_job(pool, JOB, now=far + KEEP + timedelta(seconds=1), settings=settings)
    assert result.result["outbox"]["default_purged"] == 1
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE id = $1", far_id) == 0
    assert await pool.fetchval("SELECT count(*) FROM notices WHERE id = $1", notice) == 0


async def test_a_partition_referenced_by_a_call_is_not_dropped_behind_its_back(pool, notifier):
    _, outbox_id = await send(pool, notifier, at=month(1) + timedelta(days=1), phone="01011110000")
    async with pool.acquire() as conn, conn.transaction():
        await voice_repository.lock_call(
            conn, call_sid="CA" + "1" * 32, outbox_id=outbox_id, phone="+821011110000", purpose="message",
            status="completed", now=month(1) + timedelta(days=1),
        )  # fmt: skip
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await pool.execute("SELECT month_partition_drop('outbox', $1)", name("outbox", month(1)))
    with pytest.raises(asyncpg.RaiseError, match="not a partition of outbox"):
        await pool.execute("SELECT month_partition_drop('outbox', 'notices')")


async def test_the_audit_log_keeps_two_years(pool, settings):
    at = month(1) + timedelta(days=3)
    await pool.execute("INSERT INTO audit_log (actor, action, at) VALUES ('staff:1', 'case.read', $1)", at)
    job = JOBS["care.audit-log-partitions"]
    result = await run_job(pool, job, now=month(2) + timedelta(days=365), settings=settings)
    assert result.result["dropped"] == []
    assert await pool.fetchval("SELECT count(*) FROM audit_log") == 1

    result = await run_job(pool, job, now=month(2) + timedelta(days=2 * 365 + 1), settings=settings)
    assert name("audit_log", month(1)) in result.result["dropped"]
    assert await pool.fetchval("SELECT count(*) FROM audit_log") == 0
    assert name("audit_log", month(27)) in await partitions(pool, "audit_log")
