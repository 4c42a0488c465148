"""The sweep: every due plan advances one step of its escalation ladder, with its messages and cases.

Reminder at the start of the window, a second one when it closes, the first guardian, a case for the
district's social workers, then urgent (the case, and every guardian). Each step is written with its outbox
rows in the sweep's transaction, keyed by (plan, slot, step), so a step is taken and told exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog

from care import messages, repository
from care.addressing import in_quiet_hours, local, to_guardian, to_person
from care.cases import repository as cases_repository
from notifications.service import Notifier, Outgoing

log = structlog.get_logger(__name__)

REMINDER, REMINDER_AGAIN, GUARDIAN, CASE, URGENT = 1, 2, 3, 4, 5
SLA = {"urgent": timedelta(minutes=15), "high": timedelta(hours=1), "normal": timedelta(hours=24)}
BATCH = 20_000  # plans advanced per run at most; a backlog beyond that continues the next minute


async def sweep(conn: asyncpg.Connection, *, notifier: Notifier, now: datetime) -> dict[str, int]:
    """Advance every due plan by one step; counts of the steps taken."""
    taken = await repository.advance_due(conn, now=now, limit=BATCH)
    if not taken:
        return {}
    guardians: dict[int, list[asyncpg.Record]] = defaultdict(list)
    if any(t["step"] in (GUARDIAN, URGENT) for t in taken):
        for g in await repository.guardians_of_many(conn, [t["recipient_id"] for t in taken]):
            guardians[g["recipient_id"]].append(g)
    outgoing: list[Outgoing] = []
    counts: dict[str, int] = defaultdict(int)
    for step in taken:
        key = f"care:{step['recipient_id']}:{step['slot_at'].isoformat()}:{step['step']}"
        params: dict[str, object] = {"name": step["name"], "slot": local(step["slot_at"])}
        match step["step"]:
            case 1 | 2 if in_quiet_hours(now, step["quiet_start"], step["quiet_end"]):
                counts["quiet"] += 1
            case 1:
                outgoing.append(to_person(step, template=messages.REMINDER, key=key, params=params))
            case 2:
                outgoing.append(to_person(step, template=messages.REMINDER_AGAIN, key=key, params=params))
            case 3:
                first = guardians[step["recipient_id"]][:1]
                outgoing += [to_guardian(g, template=messages.GUARDIAN_ALERT, key=key, params=params) for g in first]
            case 5:
                everyone = guardians[step["recipient_id"]]
                outgoing += [
                    to_guardian(g, template=messages.GUARDIAN_URGENT, key=key, params=params) for g in everyone
                ]
        counts[f"step_{step['step']}"] += 1
    await _cases(conn, taken, now=now, counts=counts)
    counts["deliveries"] = await notifier.enqueue_many(conn, items=outgoing, now=now)
    log.info("care sweep", **counts)
    return dict(counts)


async def _cases(conn: asyncpg.Connection, taken: list[Any], *, now: datetime, counts: dict[str, int]) -> None:
    opened = [(t["recipient_id"], t["slot_at"]) for t in taken if t["step"] == CASE]
    if opened:
        rows = await cases_repository.open_missed_cases(conn, rows=opened, priority="high", now=now, sla=SLA["high"])
        counts["cases_opened"] = len(rows)
    urgent = [(t["recipient_id"], t["slot_at"]) for t in taken if t["step"] == URGENT]
    if urgent:
        rows = await cases_repository.make_urgent(conn, rows=urgent, now=now, sla=SLA["urgent"])
        counts["cases_urgent"] = len(rows)
