"""What the console's pages show and do, built on the care and cases services (their district checks, their audit)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from api.alerts import service as alerts
from api.alerts.schemas import AlertRead
from api.console import repository
from api.platform.auth.tokens import Principal, Role
from api.platform.errors import NotFound
from care import audit
from care import service as care
from care.cases import repository as cases_repository
from care.cases import service as cases
from care.cases.schemas import CaseDetail, CaseRead, CaseState, Priority
from care.schemas import Home, Ladder, PauseIn, PlanIn, RecipientCreate, RecipientRead
from notifications import deliveries as views
from notifications.schemas import DeliverySummary

QUEUE_LIMIT = 200
PEOPLE_LIMIT = 100


class CasePage(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the case page shows: the case, the person, how the case came about, and what was done."""

    case: CaseDetail
    person: RecipientRead
    steps: list[dict[str, Any]]
    # For a case a warning's safety check opened: the warning and how far the check climbed.
    safety: dict[str, Any] | None
    deliveries: list[dict[str, Any]]
    calls: list[dict[str, Any]]
    names: dict[str, str]


def visible_districts(principal: Principal, district: str | None) -> list[str] | None:
    """The districts a page covers: the one asked for if served, else all of the caller's (None: the city)."""
    if district is not None and principal.serves(district):
        return [district]
    return None if principal.role is Role.operator else list(principal.districts)


async def queue(
    conn: asyncpg.Connection,
    *,
    principal: Principal,
    district: str | None,
    priority: Priority | None,
    state: CaseState | None,
    now: datetime,
) -> list[CaseRead]:
    """The queue as the cases service lists it (audited there), narrowed to a priority if asked."""
    served = district if district is not None and principal.serves(district) else None
    rows = await cases.list_cases(conn, principal=principal, district=served, state=state, limit=QUEUE_LIMIT, now=now)
    return [r for r in rows if priority is None or r.priority is priority]


async def queue_version(conn: asyncpg.Connection, *, principal: Principal, district: str | None) -> str:
    """A fingerprint of the caller's unresolved cases; no personal data, so polling it is not audited."""
    return await repository.queue_version(conn, districts=visible_districts(principal, district))


async def case_page(conn: asyncpg.Connection, *, principal: Principal, case_id: int, now: datetime) -> CasePage:
    """A case and its person (both reads audited by their services), the ladder's history and the calls made."""
    async with conn.transaction():
        case = await cases.get_case(conn, principal=principal, case_id=case_id, now=now)
        person = await care.get(conn, recipient_id=case.recipient.id, principal=principal, now=now)
        steps = []
        if case.slot_at is not None:
            steps = await repository.steps_of_slot(conn, recipient_id=person.id, slot_at=case.slot_at)
        start = (case.slot_at or case.opened_at) - timedelta(hours=1)
        safety = None
        if case.alert_id is not None:
            found = await repository.safety_check_of(conn, recipient_id=person.id, alert_id=case.alert_id)
            if found is not None:
                safety = dict(found)
                start = min(start, found["asked_at"])
        deliveries = await repository.care_deliveries(
            conn, recipient_id=person.id, since=start, until=case.resolved_at or now
        )
        calls = await repository.list_calls(conn, case_id)
        authors = {n.author for n in case.notes} | {c["author"] for c in calls}
        authors |= {a for a in (case.acknowledged_by, case.resolved_by, case.called_119_by) if a}
        names = await repository.staff_names(conn, sorted(authors))
    return CasePage(
        case=case,
        person=person,
        steps=[dict(s) for s in steps],
        safety=safety,
        deliveries=[dict(d) for d in deliveries],
        calls=[dict(c) for c in calls],
        names=names,
    )


async def log_call(
    conn: asyncpg.Connection, *, principal: Principal, case_id: int, call: dict[str, Any], now: datetime
) -> int:
    """Record a call made on a case of the caller's districts, with its audit row."""
    async with conn.transaction():
        current = await cases_repository.lock_case(conn, case_id)
        if current is None or not principal.serves(current["district"]):
            raise NotFound(f"You have no case {case_id}.", code="case_not_found")
        call_id = await repository.insert_call(conn, case_id=case_id, author=principal.subject, now=now, **call)
        await audit.record(
            conn,
            actor=principal.subject,
            action="case.call",
            now=now,
            recipient_id=current["recipient_id"],
            case_id=case_id,
            detail={"call_id": call_id, "result": call["result"]},
        )
    return call_id


async def people(
    conn: asyncpg.Connection, *, principal: Principal, query: str | None, district: str | None, now: datetime
) -> list[dict[str, Any]]:
    """Enrolled people of the caller's districts matching a search, with the list's audit row."""
    query = (query or "").strip()[:100] or None
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" if query else None
    digits = "".join(ch for ch in query or "" if ch.isdigit()).lstrip("0") or None
    async with conn.transaction():
        rows = await repository.search_people(
            conn,
            districts=visible_districts(principal, district),
            pattern=pattern,
            digits=digits if digits and len(digits) >= 3 else None,
            limit=PEOPLE_LIMIT,
        )
        await audit.record(
            conn,
            actor=principal.subject,
            action="recipient.list",
            now=now,
            detail={"recipient_ids": [r["id"] for r in rows], "query": query},
        )
    return [dict(r) for r in rows]


async def enroll(
    conn: asyncpg.Connection, *, principal: Principal, data: RecipientCreate, now: datetime
) -> RecipientRead:
    return await care.enroll(conn, data=data, principal=principal, now=now)


async def person(conn: asyncpg.Connection, *, principal: Principal, recipient_id: int, now: datetime) -> RecipientRead:
    """A person of the caller's districts, the read audited by the care service."""
    return await care.get(conn, recipient_id=recipient_id, principal=principal, now=now)


async def update_details(
    conn: asyncpg.Connection,
    *,
    principal: Principal,
    recipient_id: int,
    details: dict[str, Any],
    born: date | None,
    home: Home | None,
    now: datetime,
) -> None:
    """Change a person's details and guardians through the care service (its audit row, one transaction)."""
    await care.update_details(
        conn, principal=principal, recipient_id=recipient_id, details=details, born=born, home=home, now=now
    )


def plan_carry_over(person: RecipientRead) -> dict[str, Any]:
    """What an edit of times, days and windows keeps from the plan as it stands."""
    ladder = msgspec.to_builtins(person.plan.ladder)
    del ladder["steps_in_effect"]
    return {
        "ladder": msgspec.convert(ladder, Ladder),
        "accept_signals": person.plan.accept_signals,
        "inactivity_hours": person.plan.inactivity_hours,
    }


async def replace_plan(
    conn: asyncpg.Connection, *, principal: Principal, recipient_id: int, plan: PlanIn, now: datetime
) -> RecipientRead:
    return await care.replace_plan(conn, recipient_id=recipient_id, plan=plan, principal=principal, now=now)


async def pause(
    conn: asyncpg.Connection, *, principal: Principal, recipient_id: int, data: PauseIn, now: datetime
) -> RecipientRead:
    return await care.pause(conn, recipient_id=recipient_id, data=data, principal=principal, now=now)


async def resume(conn: asyncpg.Connection, *, principal: Principal, recipient_id: int, now: datetime) -> RecipientRead:
    return await care.resume(conn, recipient_id=recipient_id, principal=principal, now=now)


async def alerts_in_force(conn: asyncpg.Connection, *, now: datetime) -> list[AlertRead]:
    """The warnings in force now, newest first, as citizens see them."""
    return await alerts.list_alerts(conn, now=now, district=None, in_force=True, before_id=None, limit=100)


async def delivery_health(conn: asyncpg.Connection, *, now: datetime) -> DeliverySummary:
    """The outbox of the last day by state and channel, as the operators' API reports it."""
    return await views.summary(conn, since=now - timedelta(days=1), until=None)
