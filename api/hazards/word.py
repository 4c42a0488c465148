"""The reporter's word: "fixed?" after a resolve, "me too" (following), and how often a reporter hears.

The reopen rule: an answer is taken from the incident's reporters only (anyone else: 403), once per resolve;
a "no" reopens the incident (back to acknowledged, with the reporter's note as its reason and a fresh deadline)
when the incident is still resolved and was resolved at most ``REOPEN_WINDOW`` ago. A later "no", or one after
the incident was reopened already, is recorded and reopens nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from api.hazards import repository, service, telling
from api.hazards import word_repository as word
from api.hazards.schemas import (
    OPEN_STATUSES,
    FeedbackIn,
    FeedbackRead,
    FollowRead,
    HazardReportRead,
    Status,
    Updates,
)
from api.platform.errors import Conflict, Forbidden, NotFound
from notifications.service import Notifier

REOPEN_WINDOW = timedelta(days=14)
DEFAULT_REOPEN_REASON = "신고자가 고쳐지지 않았다고 답했습니다. (A reporter says it is not fixed.)"


def why_not_reopened(*, fixed: bool, status: str, resolved_at: datetime, now: datetime) -> str | None:
    """None when the answer reopens the incident; otherwise why it does not."""
    if fixed:
        return "fixed"
    if status != Status.resolved.value:
        return "not_resolved_now"
    if now - resolved_at > REOPEN_WINDOW:
        return "after_14_days"
    return None


async def answer(
    conn: asyncpg.Connection, *, notifier: Notifier, incident_id: int, citizen_id: int, data: FeedbackIn, now: datetime
) -> FeedbackRead:
    """Record a reporter's "fixed?" answer, reopening the incident by the rule above."""
    async with conn.transaction():
        [row] = await repository.lock_incidents(conn, [incident_id]) or [None]
        if row is None:
            raise _no_incident(incident_id)
        if not await word.is_reporter(conn, incident_id=incident_id, citizen_id=citizen_id):
            raise Forbidden(
                f"Only the people who reported incident {incident_id} can say whether it is fixed; "
                "report it yourself, or follow it to hear how it ends.",
                code="not_a_reporter",
            )
        resolve = await word.last_resolve(conn, incident_id)
        if resolve is None:
            raise Conflict(
                f"Incident {incident_id} is {row['status']} and was never resolved; there is nothing to answer yet.",
                code="incident_not_resolved",
            )
        because = why_not_reopened(fixed=data.fixed, status=row["status"], resolved_at=resolve["at"], now=now)
        stored = await word.insert_feedback(
            conn,
            incident_id=incident_id,
            resolve_event_id=resolve["id"],
            citizen_id=citizen_id,
            fixed=data.fixed,
            note=data.note,
            reopened=because is None,
            now=now,
        )
        if stored is None:  # answered before: that answer stands, and nothing happens twice
            stored = await word.get_feedback(conn, resolve_event_id=resolve["id"], citizen_id=citizen_id)
            because = None if stored["reopened"] or stored["fixed"] else "already_answered"
        elif because is None:
            reason = data.note or DEFAULT_REOPEN_REASON
            await word.reopen(conn, incident_id=incident_id, reason=reason, now=now)
            event_id = await repository.insert_event(
                conn,
                incident_id=incident_id,
                kind="reopen",
                from_status=Status.resolved.value,
                to_status=Status.acknowledged.value,
                reason=reason,
                actor=f"citizen:{citizen_id}",
                now=now,
            )
            items = await telling.reopen_messages(
                conn,
                incident_id=incident_id,
                category=row["category"],
                note=data.note,
                event_id=event_id,
                by=citizen_id,
            )
            if items:
                await notifier.enqueue_many(conn, items=items, now=now)
        status = await word.status_of(conn, incident_id)
    return FeedbackRead(
        incident_id=incident_id,
        fixed=stored["fixed"],
        note=stored["note"],
        answered_at=stored["answered_at"],
        reopened=stored["reopened"],
        not_reopened_because=None if stored["fixed"] or stored["reopened"] else because,
        status=Status(status),
    )


async def follow(conn: asyncpg.Connection, *, incident_id: int, citizen_id: int, now: datetime) -> FollowRead:
    """ "Me too": follow an open incident (weight, not a second report); told when it ends. Again: no change."""
    async with conn.transaction():
        row = await repository.get_incident(conn, incident_id)
        if row is None:
            raise _no_incident(incident_id)
        if row["status"] == Status.merged.value:
            raise Conflict(
                f"Incident {incident_id} was merged into {row['merged_into']}; follow that one.",
                code="incident_merged",
                merged_into=row["merged_into"],
            )
        if Status(row["status"]) not in OPEN_STATUSES:
            raise Conflict(
                f"Incident {incident_id} is {row['status']}; only open incidents can be followed.",
                code="incident_not_open",
            )
        await word.follow(conn, incident_id=incident_id, citizen_id=citizen_id, updates="end", now=now)
        return await _follow_read(conn, incident_id, following=True)


async def unfollow(conn: asyncpg.Connection, *, incident_id: int, citizen_id: int) -> FollowRead:
    async with conn.transaction():
        if await repository.get_incident(conn, incident_id) is None:
            raise _no_incident(incident_id)
        await word.unfollow(conn, incident_id=incident_id, citizen_id=citizen_id)
        return await _follow_read(conn, incident_id, following=False)


async def choose_updates(
    conn: asyncpg.Connection, *, report_id: int, citizen_id: int, updates: Updates
) -> HazardReportRead:
    """Every change, or only the end, for one of the citizen's reports."""
    async with conn.transaction():
        if not await word.set_updates(conn, report_id=report_id, citizen_id=citizen_id, updates=updates.value):
            raise NotFound(f"You have no hazard report {report_id}.", code="report_not_found")
    return await service.get_report(conn, report_id=report_id, citizen_id=citizen_id, operator=False)


async def _follow_read(conn: asyncpg.Connection, incident_id: int, *, following: bool) -> FollowRead:
    people = await word.people_count(conn, incident_id)
    return FollowRead(
        incident_id=incident_id, following=following, followers=people["followers"], weight=people["weight"]
    )


def _no_incident(incident_id: int) -> NotFound:
    return NotFound(f"There is no incident {incident_id}.", code="incident_not_found")
