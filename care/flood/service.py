"""The flood registry: households registered with their consent, their partners, reads, changes and withdrawal;
the answers from the app and from staff, and the operators' board per dong.

Staff act within their districts (operators city-wide); every read and change is in the audit log.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from api.platform import boundaries
from api.platform.auth.tokens import Principal, Role
from api.platform.errors import Conflict, Forbidden, NotFound, Unprocessable
from care import audit
from care.flood import answers, board_repository, checks_repository, dispatch, repository
from care.flood.repository import PartnerRow
from care.flood.schemas import (
    HOUSEHOLD_ANSWERS,
    PARTNER_ANSWERS,
    Answer,
    CheckRead,
    DongCount,
    HouseholdCreate,
    HouseholdIn,
    HouseholdRead,
    HouseholdUpdate,
    WithdrawIn,
)
from notifications.service import Notifier

CLOCK_SKEW = timedelta(minutes=5)


async def register(
    conn: asyncpg.Connection, *, data: HouseholdCreate, principal: Principal, now: datetime
) -> HouseholdRead:
    """Register a flood-risk household with its consent and partners; its dong is found from its home."""
    at = data.consent.at or now
    if at > now + CLOCK_SKEW:
        raise Unprocessable("Consent cannot be given in the future.", code="consent_in_future", field="consent.at")
    async with conn.transaction():
        row = await _row(conn, data, principal, household_id=None, now=now)
        consent = msgspec.to_builtins(msgspec.structs.replace(data.consent, at=at))
        household_id = await repository.insert_household(
            conn, row | {"consent": consent, "created_by": principal.subject}
        )
        await repository.replace_partners(conn, household_id, _partners(data))
        await audit.record(
            conn, actor=principal.subject, action="flood.household.create", now=now, detail={"household": household_id}
        )
        found = await repository.get_household(conn, household_id)
    assert found is not None
    return _read(found)


async def get(conn: asyncpg.Connection, *, household_id: int, principal: Principal, now: datetime) -> HouseholdRead:
    async with conn.transaction():
        found = await repository.get_household(conn, household_id)
        if found is None or not principal.serves(found["district"]):
            raise NotFound(f"No flood household {household_id} in your districts.", code="household_not_found")
        await audit.record(
            conn, actor=principal.subject, action="flood.household.read", now=now, detail={"household": household_id}
        )
    return _read(found)


async def list_households(conn: asyncpg.Connection, *, dong: str | None, principal: Principal) -> list[HouseholdRead]:
    districts = None if principal.role is Role.operator else list(principal.districts)
    return [_read(r) for r in await repository.list_households(conn, dong=dong, districts=districts)]


async def update(
    conn: asyncpg.Connection, *, household_id: int, data: HouseholdUpdate, principal: Principal, now: datetime
) -> HouseholdRead:
    """Replace a household's details and partners; a partner kept (same phone) keeps its open asks."""
    async with conn.transaction():
        await _locked(conn, household_id, principal)
        row = await _row(conn, data, principal, household_id=household_id, now=now)
        await repository.update_household(conn, household_id, row)
        await repository.replace_partners(conn, household_id, _partners(data))
        await audit.record(
            conn, actor=principal.subject, action="flood.household.update", now=now, detail={"household": household_id}
        )
        found = await repository.get_household(conn, household_id)
    assert found is not None
    return _read(found)


async def withdraw(
    conn: asyncpg.Connection,
    *,
    household_id: int,
    data: WithdrawIn,
    principal: Principal,
    notifier: Notifier,
    now: datetime,
) -> HouseholdRead:
    """Consent withdrawn: nothing more is sent to or about the household; its messages not yet sent are cancelled."""
    async with conn.transaction():
        current = await _locked(conn, household_id, principal)
        if current["withdrawn_at"] is not None:
            raise Conflict(f"Household {household_id} withdrew its consent already.", code="consent_withdrawn")
        closed = await repository.withdraw(conn, household_id, why=f"{data.by}: {data.reason}", now=now)
        keys = [dispatch.household_key(c["check_id"], i) for c in closed for i in range(3)]
        keys += [dispatch.partner_key(c["check_id"], p) for c in closed for p in c["partner_ids"]]
        keys += [f"flood:{c['check_id']}:{kind}" for c in closed for kind in ("silent", "help")]
        if keys:
            await notifier.cancel(conn, dedupe_keys=keys, reason="flood consent withdrawn", now=now)
        await audit.record(
            conn,
            actor=principal.subject,
            action="flood.household.withdraw",
            now=now,
            detail={"household": household_id},
        )
        found = await repository.get_household(conn, household_id)
    assert found is not None
    return _read(found)


async def answer(
    conn: asyncpg.Connection, *, check_id: int, answer: Answer, principal: Principal, notifier: Notifier, now: datetime
) -> CheckRead:
    """An answer from the app (a partner or the household, by the phone they signed in with), or from staff."""
    async with conn.transaction():
        if principal.role is Role.citizen:
            # A citizen sees only the open checks that ask them: any other id is not theirs to know of.
            await _answer_as_citizen(conn, check_id, answer, principal, notifier, now)
            return _check_read(await _check(conn, check_id))
        check = await _check(conn, check_id)
        if not principal.serves(check["district"]):
            raise NotFound(f"No flood check {check_id} in your districts.", code="check_not_found")
        if check["closed_at"] is not None:
            closed = f"{check['closed_at']:%Y-%m-%d %H:%M} UTC"
            raise Conflict(f"Check {check_id} is closed ({closed}): nothing more is asked.", code="check_closed")
        await answers.by_staff(
            conn, notifier=notifier, check_id=check_id, answer=answer, actor=principal.subject, at=now
        )
        return _check_read(await _check(conn, check_id))


async def _answer_as_citizen(
    conn: asyncpg.Connection, check_id: int, answer: Answer, principal: Principal, notifier: Notifier, now: datetime
) -> None:
    phone = principal.phone or ""
    ask = next((a for a in await checks_repository.asks_of_partner(conn, phone) if a["check_id"] == check_id), None)
    if ask is not None:
        if answer not in PARTNER_ANSWERS:
            allowed = ", ".join(sorted(a.value for a in PARTNER_ANSWERS))
            raise Unprocessable(f"A partner answers one of: {allowed}.", code="answer_not_allowed", allowed=allowed)
        await answers.by_partner(conn, notifier=notifier, ask=ask, answer=answer, via="app", body=None, at=now)
        return
    mine = [c for c in await checks_repository.checks_of_household_phone(conn, phone) if c["check_id"] == check_id]
    if not mine:
        raise NotFound(f"No open check {check_id} asks you.", code="check_not_found")
    if answer not in HOUSEHOLD_ANSWERS:
        allowed = ", ".join(sorted(a.value for a in HOUSEHOLD_ANSWERS))
        raise Unprocessable(f"A household answers one of: {allowed}.", code="answer_not_allowed", allowed=allowed)
    await answers.by_household(conn, notifier=notifier, check=mine[0], answer=answer, via="app", body=None, at=now)


async def my_checks(conn: asyncpg.Connection, *, principal: Principal) -> list[CheckRead]:
    """The open checks that ask the signed-in citizen: as a partner, or as the household."""
    phone = principal.phone or ""
    ids = [a["check_id"] for a in await checks_repository.asks_of_partner(conn, phone)]
    ids += [c["check_id"] for c in await checks_repository.checks_of_household_phone(conn, phone)]
    reads = []
    for check_id in dict.fromkeys(ids):
        reads += [_check_read(r) for r in await board_repository.checks(conn, check_id=check_id)]
    return reads


async def resolve(conn: asyncpg.Connection, *, check_id: int, principal: Principal, now: datetime) -> CheckRead:
    """Staff have the household in hand: it counts as confirmed, and nothing more escalates."""
    async with conn.transaction():
        check = await _check(conn, check_id)
        if not principal.serves(check["district"]):
            raise NotFound(f"No flood check {check_id} in your districts.", code="check_not_found")
        await board_repository.resolve(conn, check_id=check_id, by=principal.subject, now=now)
        return _check_read(await _check(conn, check_id))


async def board(conn: asyncpg.Connection, *, principal: Principal, district: str | None) -> list[DongCount]:
    """Per dong with households asked now: confirmed, not yet, needing help."""
    if district is not None and not principal.serves(district):
        raise Forbidden(f"District {district} is not one of yours.", code="district_not_yours")
    districts = [district] if district else None if principal.role is Role.operator else list(principal.districts)
    rows = await board_repository.dong_counts(conn, districts=districts)
    names = boundaries.dongs()
    return [
        DongCount(
            dong=r["dong"],
            dong_name_ko=names[r["dong"]].name_ko if r["dong"] in names else r["dong"],
            dong_name_en=names[r["dong"]].name_en if r["dong"] in names else r["dong"],
            district=r["district"],
            households=r["households"],
            confirmed=r["confirmed"],
            not_yet=r["not_yet"],
            need_help=r["need_help"],
        )
        for r in rows
    ]


async def dong_checks(conn: asyncpg.Connection, *, dong: str, principal: Principal) -> list[CheckRead]:
    if dong not in boundaries.dongs():
        raise NotFound(f"There is no dong {dong} in Seoul.", code="dong_not_found")
    if not principal.serves(dong[:5]):
        raise Forbidden(f"Dong {dong} is not in your districts.", code="district_not_yours")
    return [_check_read(r) for r in await board_repository.checks(conn, dong=dong)]


async def _check(conn: asyncpg.Connection, check_id: int) -> asyncpg.Record:
    found = await board_repository.checks(conn, check_id=check_id)
    if not found:
        raise NotFound(f"There is no flood check {check_id}.", code="check_not_found")
    return found[0]


async def _locked(conn: asyncpg.Connection, household_id: int, principal: Principal) -> asyncpg.Record:
    current = await repository.lock_household(conn, household_id)
    if current is None or not principal.serves(current["district"]):
        raise NotFound(f"No flood household {household_id} in your districts.", code="household_not_found")
    return current


async def _row(
    conn: asyncpg.Connection, data: HouseholdIn, principal: Principal, *, household_id: int | None, now: datetime
) -> dict[str, Any]:
    """The household's columns: its home's dong and district found, its person in care checked."""
    home = data.home
    if home.lat is not None and home.lon is not None:
        dong = boundaries.dong_at(home.lat, home.lon)
        if dong is None:
            raise Unprocessable(
                f"({home.lat}, {home.lon}) is not inside Seoul.", code="home_outside_seoul", field="home"
            )
    else:
        dong = boundaries.dongs()[home.dong or ""]
    if not principal.serves(dong.district):
        raise Forbidden(f"District {dong.district} is not one of yours.", code="district_not_yours")
    phones = list(data.phones)
    if data.recipient_id is not None:
        person = await repository.recipient(conn, data.recipient_id)
        if person is None or not principal.serves(person["district"]):
            raise Unprocessable(
                f"No person in care {data.recipient_id} in your districts.",
                code="recipient_not_found",
                field="recipient_id",
            )
        other = await repository.linked_elsewhere(conn, data.recipient_id, household_id)
        if other is not None:
            raise Conflict(f"Person {data.recipient_id} is household {other} already.", code="recipient_linked")
        phones = phones or [person["phone"]]
    if set(phones) & {p.phone for p in data.partners}:
        raise Unprocessable(
            "A partner must be someone else: their number is the household's own.", code="partner_is_household"
        )
    return {
        "name": data.name,
        "address": data.address,
        "housing": data.housing.value,
        "home_lat": home.lat,
        "home_lon": home.lon,
        "dong": dong.code,
        "district": dong.district,
        "phones": phones,
        "language": data.language.value,
        "recipient_id": data.recipient_id,
        "notes": data.notes,
        "now": now,
    }


def _partners(data: HouseholdIn) -> list[PartnerRow]:
    return [PartnerRow(i, p.name, p.role.value, p.phone, p.language.value) for i, p in enumerate(data.partners, 1)]


def _read(row: asyncpg.Record) -> HouseholdRead:
    names = boundaries.dongs()
    fields = dict(row)
    fields["lat"], fields["lon"] = fields.pop("home_lat"), fields.pop("home_lon")
    fields["dong_name_ko"] = names[row["dong"]].name_ko if row["dong"] in names else row["dong"]
    return msgspec.convert(fields, HouseholdRead, strict=False)


def _check_read(row: asyncpg.Record) -> CheckRead:
    fields = {k: v for k, v in dict(row).items() if k != "district"}
    return msgspec.convert(fields, CheckRead, strict=False)
