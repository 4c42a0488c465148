"""The operators' workflow on incidents: status changes that tell every reporter, merges and splits."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import msgspec

from api.hazards import repository, routing, telling
from api.hazards import word_repository as word
from api.hazards.schemas import (
    OPEN_STATUSES,
    Category,
    IncidentDetail,
    IncidentReportRead,
    LocationRead,
    Status,
    StatusChange,
)
from api.hazards.service import cell_keys
from api.platform.errors import Conflict, NotFound, Problem
from notifications.service import Notifier

# Where an incident may go from each status; anything else is a 409.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.submitted: frozenset({Status.acknowledged, Status.rejected}),
    Status.acknowledged: frozenset({Status.in_progress, Status.rejected}),
    Status.in_progress: frozenset({Status.resolved, Status.rejected}),
    Status.resolved: frozenset(),
    Status.rejected: frozenset(),
    Status.merged: frozenset(),
}


async def get_incident(conn: asyncpg.Connection, *, incident_id: int) -> IncidentDetail:
    row = await repository.get_incident(conn, incident_id)
    if row is None:
        raise _no_incident(incident_id)
    return await _incident_detail(conn, row)


async def change_status(
    conn: asyncpg.Connection, *, notifier: Notifier, incident_id: int, change: StatusChange, actor: str, now: datetime
) -> IncidentDetail:
    """Move an incident along its workflow and tell each of its reporters, in their language, in this transaction."""
    async with conn.transaction():
        [row] = await repository.lock_incidents(conn, [incident_id]) or [None]
        if row is None:
            raise _no_incident(incident_id)
        current = Status(row["status"])
        if change.status not in TRANSITIONS[current]:
            allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "no other status"
            raise Conflict(
                f"Incident {incident_id} is {current.value}; it can go to {allowed}, not {change.status.value}.",
                code="illegal_status_transition",
            )
        await repository.set_status(
            conn, incident_id=incident_id, status=change.status.value, reason=change.reason, now=now
        )
        event_id = await repository.insert_event(
            conn,
            incident_id=incident_id,
            kind="status",
            from_status=current.value,
            to_status=change.status.value,
            reason=change.reason,
            actor=actor,
            now=now,
        )
        items = await telling.status_messages(
            conn,
            incident_id=incident_id,
            category=row["category"],
            status=change.status.value,
            reason=change.reason,
            event_id=event_id,
        )
        if items:
            await notifier.enqueue_many(conn, items=items, now=now)
        return await get_incident(conn, incident_id=incident_id)


async def merge(conn: asyncpg.Connection, *, incident_id: int, into: int, actor: str, now: datetime) -> IncidentDetail:
    """Fold an open incident into another open one: its reports move there; it stays, marked merged."""
    if incident_id == into:
        raise Problem("An incident cannot be merged into itself.", code="merge_into_self")
    async with conn.transaction():
        rows = {r["id"]: r for r in await repository.lock_incidents(conn, [incident_id, into])}
        for wanted in (incident_id, into):
            if wanted not in rows:
                raise _no_incident(wanted)
            if Status(rows[wanted]["status"]) not in OPEN_STATUSES:
                raise Conflict(
                    f"Incident {wanted} is {rows[wanted]['status']}; only open incidents can be merged.",
                    code="incident_not_open",
                )
        await repository.merge_into(conn, source=incident_id, target=into, now=now)
        await word.move_follows(conn, source=incident_id, target=into)
        await repository.refresh_incidents(conn, [incident_id, into], now=now)
        await repository.insert_event(
            conn,
            incident_id=incident_id,
            kind="merge",
            from_status=rows[incident_id]["status"],
            to_status=Status.merged.value,
            other_incident=into,
            actor=actor,
            now=now,
        )
        return await get_incident(conn, incident_id=into)


async def split(
    conn: asyncpg.Connection, *, incident_id: int, report_ids: list[int], actor: str, now: datetime
) -> IncidentDetail:
    """Move some of an incident's reports to a new incident, placed where the earliest of them was."""
    async with conn.transaction():
        if await repository.get_incident(conn, incident_id) is None:
            raise _no_incident(incident_id)
        points = await repository.report_points(conn, report_ids)
        _check_members(incident_id, report_ids, {p["id"] for p in points if p["incident_id"] == incident_id})
        first = points[0]
        # The new incident must be as race-safe as one a report opens: the same cell locks, taken first.
        await repository.lock_cells(conn, cell_keys(first["lat"], first["lon"]))
        [row] = await repository.lock_incidents(conn, [incident_id])
        if row["status"] == Status.merged.value:
            raise Conflict(f"Incident {incident_id} was merged; split the one it went into.", code="incident_merged")
        members = {r["id"] for r in await repository.incident_reports(conn, incident_id)}
        _check_members(incident_id, report_ids, members)
        if members <= set(report_ids):
            raise Conflict("A split must leave at least one report in the incident.", code="split_takes_all")
        new_id = await repository.insert_incident(
            conn,
            category=first["category"],
            lat=first["lat"],
            lon=first["lon"],
            district=routing.district_of(first["lat"], first["lon"]),
            now=now,
        )
        await repository.move_reports(conn, report_ids=report_ids, incident_id=new_id)
        await repository.refresh_incidents(conn, [incident_id, new_id], now=now)
        await repository.insert_event(
            conn,
            incident_id=incident_id,
            kind="split",
            other_incident=new_id,
            report_ids=report_ids,
            actor=actor,
            now=now,
        )
        return await get_incident(conn, incident_id=new_id)


def _check_members(incident_id: int, report_ids: list[int], members: set[int]) -> None:
    strangers = sorted(set(report_ids) - members)
    if strangers:
        listed = ", ".join(map(str, strangers))
        raise Problem(f"Reports {listed} are not in incident {incident_id}.", code="reports_not_in_incident")


async def _incident_detail(conn: asyncpg.Connection, row: asyncpg.Record) -> IncidentDetail:
    reports = [
        IncidentReportRead(
            id=r["id"],
            category=Category(r["category"]),
            description=r["description"],
            location=LocationRead(lat=r["lat"], lon=r["lon"], address=r["address"]),
            observed_at=r["observed_at"],
            reported_at=r["reported_at"],
            source=r["source"],
            photos=r["photos"],
        )
        for r in await repository.incident_reports(conn, row["id"])
    ]
    people = await word.people_count(conn, row["id"])
    extra = {
        "reports": reports,
        "overdue": routing.overdue(row, datetime.now(UTC)),
        "followers": people["followers"],
        "weight": people["weight"],
    }
    return msgspec.convert({**dict(row), **extra}, IncidentDetail, from_attributes=True)


def _no_incident(incident_id: int) -> NotFound:
    return NotFound(f"There is no incident {incident_id}.", code="incident_not_found")
