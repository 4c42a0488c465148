"""Business rules for cases: who may see which, how a case moves, and the audit of every look and change."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from api.platform.auth.tokens import Principal, Role
from api.platform.errors import Conflict, Forbidden, NotFound
from care import audit
from care.cases import repository
from care.cases.schemas import Called119, CaseDetail, CaseRead, CaseResolve, CaseState, NoteCreate, NoteRead

RECENT_CHECKINS = 10


async def list_cases(
    conn: asyncpg.Connection,
    *,
    principal: Principal,
    district: str | None,
    state: CaseState | None,
    limit: int,
    now: datetime,
) -> list[CaseRead]:
    """The caller's queue: their districts' cases (an operator's: the city's), or one district's."""
    districts = _visible_districts(principal, district)
    async with conn.transaction():
        rows = await repository.list_cases(
            conn, districts=districts, state=state.value if state else None, limit=limit, now=now
        )
        await audit.record(
            conn, actor=principal.subject, action="case.list", now=now, detail={"case_ids": [r["id"] for r in rows]}
        )
    return [_case(r) for r in rows]


def _visible_districts(principal: Principal, district: str | None) -> list[str] | None:
    """The districts to list; None is the whole city."""
    if district is not None:
        if not principal.serves(district):
            raise Forbidden(f"Your account does not serve district {district}.", code="district_not_served")
        return [district]
    if principal.role is Role.operator:
        return None
    return list(principal.districts)


async def get_case(conn: asyncpg.Connection, *, principal: Principal, case_id: int, now: datetime) -> CaseDetail:
    """A case with its notes and the recipient's latest check-ins."""
    async with conn.transaction():
        row = await repository.get_case(conn, case_id, now=now)
        row = _visible(principal, case_id, row)
        notes = await repository.list_notes(conn, case_id)
        checkins = await repository.recent_checkins(conn, row["recipient"]["id"], limit=RECENT_CHECKINS)
        await audit.record(
            conn,
            actor=principal.subject,
            action="case.read",
            now=now,
            recipient_id=row["recipient"]["id"],
            case_id=case_id,
        )
    return msgspec.convert(
        {**dict(row), "notes": [dict(n) for n in notes], "checkins": [dict(c) for c in checkins]}, CaseDetail
    )


async def acknowledge(conn: asyncpg.Connection, *, principal: Principal, case_id: int, now: datetime) -> CaseRead:
    """Open → acknowledged by the caller; an acknowledged case stays as it is; a resolved one is a conflict."""
    async with conn.transaction():
        current = await _lock_visible(conn, principal, case_id)
        if current["state"] == CaseState.resolved:
            raise _resolved(case_id)
        changed = await repository.acknowledge(conn, case_id, actor=principal.subject, now=now)
        await audit.record(
            conn,
            actor=principal.subject,
            action="case.acknowledge",
            now=now,
            recipient_id=current["recipient_id"],
            case_id=case_id,
            detail={"changed": changed},
        )
        row = await repository.get_case(conn, case_id, now=now)
    return _case(row)


async def add_note(
    conn: asyncpg.Connection, *, principal: Principal, case_id: int, data: NoteCreate, now: datetime
) -> NoteRead:
    """A note by the caller; a resolved case still takes notes (what happened afterwards)."""
    async with conn.transaction():
        current = await _lock_visible(conn, principal, case_id)
        note = await repository.add_note(conn, case_id=case_id, author=principal.subject, body=data.body, now=now)
        await audit.record(
            conn,
            actor=principal.subject,
            action="case.note",
            now=now,
            recipient_id=current["recipient_id"],
            case_id=case_id,
            detail={"note_id": note["id"]},
        )
    return msgspec.convert(dict(note), NoteRead)


async def resolve(
    conn: asyncpg.Connection, *, principal: Principal, case_id: int, data: CaseResolve, now: datetime
) -> CaseRead:
    """Close the case with its outcome and, if given, a note; a resolved case is a conflict."""
    async with conn.transaction():
        current = await _lock_visible(conn, principal, case_id)
        if not await repository.resolve(conn, case_id, actor=principal.subject, outcome=data.outcome.value, now=now):
            raise _resolved(case_id)
        detail: dict[str, object] = {"outcome": data.outcome.value}
        if data.note is not None:
            note = await repository.add_note(conn, case_id=case_id, author=principal.subject, body=data.note, now=now)
            detail["note_id"] = note["id"]
        await audit.record(
            conn,
            actor=principal.subject,
            action="case.resolve",
            now=now,
            recipient_id=current["recipient_id"],
            case_id=case_id,
            detail=detail,
        )
        row = await repository.get_case(conn, case_id, now=now)
    return _case(row)


async def record_119(
    conn: asyncpg.Connection, *, principal: Principal, case_id: int, data: Called119, now: datetime
) -> CaseRead:
    """119 was called for this case: recorded once (the first record stands), noted, audited, and an open case is
    acknowledged by the caller, which stops the on-duty chain. Recording it again changes nothing."""
    async with conn.transaction():
        current = await _lock_visible(conn, principal, case_id)
        recorded = await repository.record_119(conn, case_id, actor=principal.subject, now=now)
        detail: dict[str, object] = {"recorded": recorded}
        if recorded:
            body = "119 신고함 (119 called)" + (f": {data.note}" if data.note else "")
            note = await repository.add_note(conn, case_id=case_id, author=principal.subject, body=body, now=now)
            detail["note_id"] = note["id"]
            if current["state"] == CaseState.open:
                detail["acknowledged"] = await repository.acknowledge(conn, case_id, actor=principal.subject, now=now)
        await audit.record(
            conn,
            actor=principal.subject,
            action="case.called_119",
            now=now,
            recipient_id=current["recipient_id"],
            case_id=case_id,
            detail=detail,
        )
        row = await repository.get_case(conn, case_id, now=now)
    return _case(row)


async def _lock_visible(conn: asyncpg.Connection, principal: Principal, case_id: int) -> asyncpg.Record:
    return _visible(principal, case_id, await repository.lock_case(conn, case_id))


def _visible(principal: Principal, case_id: int, row: asyncpg.Record | None) -> asyncpg.Record:
    # Another district's case is "not found", not "forbidden": its existence is itself personal data.
    if row is None or not principal.serves(row["district"]):
        raise NotFound(f"You have no case {case_id}.", code="case_not_found")
    return row


def _resolved(case_id: int) -> Conflict:
    return Conflict(f"Case {case_id} is resolved already; add a note instead.", code="case_resolved")


def _case(row: asyncpg.Record) -> CaseRead:
    return msgspec.convert(dict(row), CaseRead)
