"""Scheduled jobs: each slot runs once however many workers race for it, and a failed run can be retried."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from api.platform.jobs.registry import Job, JobContext, PoolContext
from api.platform.jobs.runner import run_job
from api.worker import JOBS

NOW = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)


def counting_job(calls: list[datetime], *, fail: bool = False) -> Job:
    async def work(ctx: JobContext) -> dict[str, int]:
        calls.append(ctx.slot)
        await asyncio.sleep(0.05)  # long enough for the other workers to arrive while this one holds the slot
        if fail:
            raise RuntimeError("provider down")
        return {"calls": len(calls)}

    return Job(name="test.counting", every=timedelta(minutes=1), run=work, description="counts")


def test_slots_are_aligned_to_the_jobs_period():
    job = counting_job([])
    assert job.slot(datetime(2026, 11, 24, 9, 59, 59, tzinfo=UTC)) == datetime(2026, 11, 24, 9, 59, tzinfo=UTC)
    hourly = JOBS["platform.purge-expired"]
    assert hourly.slot(datetime(2026, 11, 24, 9, 59, tzinfo=UTC)) == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


async def test_workers_racing_for_one_slot_run_it_once(pool, settings):
    calls: list[datetime] = []
    job = counting_job(calls)

    results = await asyncio.gather(*(run_job(pool, job, now=NOW, settings=settings) for _ in range(4)))

    assert calls == [datetime(2026, 11, 24, 0, 30, tzinfo=UTC)]
    assert sorted(r.ran for r in results) == [False, False, False, True]


async def test_the_next_slot_runs_again(pool, settings):
    calls: list[datetime] = []
    job = counting_job(calls)
    await run_job(pool, job, now=NOW, settings=settings)
    await run_job(pool, job, now=NOW + timedelta(seconds=59), settings=settings)
    await run_job(pool, job, now=NOW + timedelta(minutes=1), settings=settings)
    assert len(calls) == 2


async def test_a_failed_run_leaves_its_slot_free_for_a_retry(pool, settings, database_url):
    calls: list[datetime] = []
    with pytest.raises(RuntimeError, match="provider down"):
        await run_job(pool, counting_job(calls, fail=True), now=NOW, settings=settings)

    retried = await run_job(pool, counting_job(calls), now=NOW, settings=settings)
    assert retried.ran
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT finished_at, result FROM job_runs WHERE job = 'test.counting'")
    finally:
        await conn.close()
    assert row["finished_at"] is not None
    assert json.loads(row["result"]) == {"calls": 2}


async def test_purge_removes_only_what_is_old(pool, settings, database_url):
    conn = await asyncpg.connect(database_url)
    try:
        for n, created in enumerate((NOW - timedelta(days=2), NOW - timedelta(hours=1))):
            await conn.execute(
                "INSERT INTO otp_challenges (phone, code_hash, expires_at, created_at)"
                " VALUES ('+821012345678', '\\x00', $1, $1)",
                created,
            )
            await conn.execute(
                "INSERT INTO idempotency_keys"
                " (principal, key, method, path, request_hash, status_code, headers, body, created_at)"
                " VALUES ('citizen:1', $1, 'POST', '/x', '\\x00', 201, '[]', '', $2)",
                f"key-{n}",
                created,
            )
            # A revocation is kept while its token could still be honoured: until it expires.
            await conn.execute(
                "INSERT INTO revoked_tokens (jti, expires_at, revoked_at) VALUES ($1, $2, $3)",
                f"jti-{n}",
                created + timedelta(hours=2),
                created,
            )
        result = await run_job(pool, JOBS["platform.purge-expired"], now=NOW, settings=settings)
        assert result.result == {
            "otp_challenges": 1,
            "idempotency_keys": 1,
            "job_runs": 0,
            "revoked_tokens": 1,
            "signin_budget_alerts": 0,
        }
        assert await conn.fetchval("SELECT count(*) FROM otp_challenges") == 1
        assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == 1
        assert await conn.fetchval("SELECT array_agg(jti) FROM revoked_tokens") == ["jti-1"]
    finally:
        await conn.close()


# -- jobs run outside the slot's transaction ------------------------------------------------------------------------


def outside_job(calls: list[datetime], *, fail: bool = False, seen: list[object] | None = None) -> Job:
    async def work(ctx: PoolContext) -> dict[str, int]:
        calls.append(ctx.slot)
        if seen is not None:
            async with ctx.pool.acquire() as conn:
                seen.append(await conn.fetchrow(OTHERS_IN_TRANSACTION))
                seen.append(await conn.fetchrow("SELECT finished_at, error FROM job_runs WHERE job = 'test.outside'"))
        await asyncio.sleep(0.05)
        if fail:
            raise RuntimeError("provider down")
        return {"calls": len(calls)}

    return Job(name="test.outside", every=timedelta(minutes=1), run=work, description="outside", transaction=False)


# Sessions of this database, other than the one asking, that are inside a transaction.
OTHERS_IN_TRANSACTION = (
    "SELECT count(*) AS n, array_agg(state) AS states FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
)


async def test_a_job_outside_the_transaction_runs_once_however_many_workers_race(pool, settings):
    calls: list[datetime] = []
    job = outside_job(calls)
    results = await asyncio.gather(*(run_job(pool, job, now=NOW, settings=settings) for _ in range(4)))
    assert calls == [datetime(2026, 11, 24, 0, 30, tzinfo=UTC)]
    assert sorted(r.ran for r in results) == [False, False, False, True]
    assert next(r.result for r in results if r.ran) == {"calls": 1}


async def test_a_job_outside_the_transaction_runs_with_its_claim_committed_and_no_transaction_open(pool, settings):
    seen: list[object] = []
    await run_job(pool, outside_job([], seen=seen), now=NOW, settings=settings)
    others, claim = seen
    assert others["n"] == 0, others["states"]
    # Seen from another connection while the job runs: the claim was committed before it started.
    assert (claim["finished_at"], claim["error"]) == (None, None)


async def test_a_failed_job_outside_the_transaction_records_its_error_and_the_next_slot_runs(
    pool, settings, database_url
):
    calls: list[datetime] = []
    with pytest.raises(RuntimeError, match="provider down"):
        await run_job(pool, outside_job(calls, fail=True), now=NOW, settings=settings)
    again = await run_job(pool, outside_job(calls), now=NOW + timedelta(seconds=30), settings=settings)
    assert not again.ran  # the failed slot stays claimed: it is not run twice
    later = await run_job(pool, outside_job(calls), now=NOW + timedelta(minutes=1), settings=settings)
    assert later.ran and len(calls) == 2
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT slot, finished_at, result, error FROM job_runs WHERE job = 'test.outside'")
    finally:
        await conn.close()
    failed, succeeded = sorted(rows, key=lambda r: r["slot"])
    assert failed["finished_at"] is not None and failed["result"] is None
    assert failed["error"] == "RuntimeError: provider down"
    assert succeeded["error"] is None and json.loads(succeeded["result"]) == {"calls": 2}
