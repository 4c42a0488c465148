"""Scheduled care work: the minute-by-minute sweep of the escalation ladders, and the audit log's months."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.platform.db import partitions
from api.platform.jobs.registry import JobContext, PoolContext, job
from care import audit, on_duty
from care.ladder import sweep
from notifications.service import Notifier


@job("care.sweep", every=timedelta(minutes=1))
async def care_sweep(ctx: JobContext) -> dict[str, Any]:
    """Advance every check-in plan whose next step is due by exactly one step."""
    return await sweep(ctx.conn, notifier=Notifier(ctx.settings.notify), now=ctx.now)


@job("care.on-duty", every=timedelta(minutes=1))
async def on_duty_escalation(ctx: JobContext) -> dict[str, Any]:
    """Tell the next person on duty of every urgent case nobody has acknowledged within the escalation time."""
    every = timedelta(minutes=ctx.settings.care.escalate_after_min)
    told = await on_duty.escalate(ctx.conn, notifier=Notifier(ctx.settings.notify), now=ctx.now, every=every)
    return {"told": told}


# Access records of a system holding sensitive personal data are kept two years at least (개인정보의 안전성 확보조치
# 기준, art. 8); a month goes when the whole of it is that old.
AUDIT_KEEP = timedelta(days=2 * 365 + 1)
AUDIT_LOG = partitions.Retention(table="audit_log", keep=AUDIT_KEEP, purge_default=audit.purge_default)


@job("care.audit-log-partitions", every=timedelta(days=1), transaction=False)
async def audit_log_partitions(ctx: PoolContext) -> dict[str, Any]:
    """Make the audit log's months ahead and drop those older than two years."""
    return await partitions.maintain(ctx.pool, AUDIT_LOG, now=ctx.now)
