"""Scheduled housekeeping for sign-in and request bookkeeping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.auth import repository as auth_repository
from api.idempotency import repository as idempotency_repository
from api.worker import runs
from api.worker.registry import JobContext, job

# Stored responses are replayed for a day: long past any client's retry window.
IDEMPOTENCY_KEEP = timedelta(hours=24)
OTP_KEEP = timedelta(days=1)
JOB_RUNS_KEEP = timedelta(days=30)


@job("platform.purge-expired", every=timedelta(hours=1))
async def purge_expired(ctx: JobContext) -> dict[str, Any]:
    """Delete old sign-in codes, stored idempotent responses and job-run rows."""
    return {
        "otp_challenges": await auth_repository.purge_challenges(ctx.conn, before=ctx.now - OTP_KEEP),
        "idempotency_keys": await idempotency_repository.purge(ctx.conn, before=ctx.now - IDEMPOTENCY_KEEP),
        "job_runs": await runs.purge(ctx.conn, before=ctx.now - JOB_RUNS_KEEP),
    }
