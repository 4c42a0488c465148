"""Business rules of care: enrolment and plans (staff), check-ins and signals, and calls for help."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

import asyncpg
import msgspec

from api.platform import boundaries
from api.platform.auth.tokens import Principal
from api.platform.db.transactions import atomic
from api.platform.errors import Conflict, Forbidden, NotFound, Unprocessable
from api.platform.geo import PRECISE_SCALE, polygon_literal
from care import audit, ladder, messages, on_duty, repository
from care.addressing import local, to_guardian, to_person
from care.cases import repository as cases_repository
from care.details import check_birth_date, locate_home
from care.ladder import SLA, Step
from care.passive import devices, inactivity
from care.safety import service as safety
from care.schemas import (
    CheckinRead,
    GuardianRead,
    HeartbeatIn,
    HeartbeatRead,
    HelpRead,
    Home,
    HomeRead,
    LadderRead,
    PauseIn,
    PlanIn,
    PlanRead,
    RecipientCreate,
    RecipientRead,
    StepsRead,
)
from care.slots import answers_slot, previous_slot
from care.steps import COLUMNS, Steps
from care.steps import of as steps_of
from notifications.service import Notifier, Outgoing


async def enroll(
    conn: asyncpg.Connection, *, data: RecipientCreate, principal: Principal, now: datetime
) -> RecipientRead:
    """Enrol a person, their guardians and their plan; staff enrol only in the districts they serve."""
    _check_serves(principal, data.district)
    born = check_birth_date(data.birth_date, now=now)
    home = locate_home(data.home)
    async with conn.transaction():
        recipient_id = await repository.insert_recipient(
            conn,
            name=data.name,
            phone=data.phone,
            language=data.language.value,
            district=data.district,
            address=data.address,
            contact_by=data.contact_by.value,
            consent_by=data.consent.by,
            consent_at=data.consent.at or now,
            consent_scope=data.consent.scope,
            reach_despite_opt_out=data.reach_despite_opt_out,
            enrolled_by=principal.subject,
            now=now,
            born=born,
            home=home,
        )
        if recipient_id is None:
            raise Conflict(f"{data.phone} is enrolled already.", code="recipient_exists")
        await repository.insert_guardians(
            conn,
            recipient_id=recipient_id,
            guardians=[(g.name, g.phone, g.relation, g.language.value) for g in data.guardians],
        )
        await _set_plan(conn, recipient_id=recipient_id, plan=data.plan, now=now)
        await audit.record(conn, actor=principal.subject, action="recipient.enroll", recipient_id=recipient_id, now=now)
        row = await repository.get_recipient(conn, recipient_id)
    return _read(row)


async def get(conn: asyncpg.Connection, *, recipient_id: int, principal: Principal, now: datetime) -> RecipientRead:
    async with conn.transaction():
        row = await _served(conn, recipient_id, principal)
        await audit.record(conn, actor=principal.subject, action="recipient.read", recipient_id=recipient_id, now=now)
    return _read(row)


async def replace_plan(
    conn: asyncpg.Connection, *, recipient_id: int, plan: PlanIn, principal: Principal, now: datetime
) -> RecipientRead:
    """A new plan; the ladder starts again from its next check-in time (an open case stays open)."""
    async with conn.transaction():
        await _served(conn, recipient_id, principal)
        await _set_plan(conn, recipient_id=recipient_id, plan=plan, now=now)
        await audit.record(conn, actor=principal.subject, action="plan.replace", recipient_id=recipient_id, now=now)
        row = await repository.get_recipient(conn, recipient_id)
    return _read(row)


async def pause(
    conn: asyncpg.Connection, *, recipient_id: int, data: PauseIn, principal: Principal, now: datetime
) -> RecipientRead:
    """No check-ins until ``until`` (a hospital stay, travel); the plan resumes by itself then."""
    if data.until <= now:
        raise Unprocessable("A pause must end in the future.", code="pause_in_past", field="until")
    async with conn.transaction():
        await _served(conn, recipient_id, principal)
        await repository.pause(conn, recipient_id=recipient_id, until=data.until, reason=data.reason, now=now)
        detail = {"until": data.until.isoformat(), "reason": data.reason}
        await audit.record(
            conn, actor=principal.subject, action="plan.pause", recipient_id=recipient_id, now=now, detail=detail
        )
        row = await repository.get_recipient(conn, recipient_id)
    return _read(row)


async def resume(conn: asyncpg.Connection, *, recipient_id: int, principal: Principal, now: datetime) -> RecipientRead:
    async with conn.transaction():
        await _served(conn, recipient_id, principal)
        await repository.resume(conn, recipient_id=recipient_id, now=now)
        await audit.record(conn, actor=principal.subject, action="plan.resume", recipient_id=recipient_id, now=now)
        row = await repository.get_recipient(conn, recipient_id)
    return _read(row)


# A sensor's report of life counts only when it is recent: a replayed or misdated one (``at: 0`` is 1970)
# must not silence a ladder. A clock a little ahead is taken as now.
SIGNAL_MAX_AGE = timedelta(days=1)
SIGNAL_MAX_AHEAD = timedelta(minutes=5)


def signal_time(at: datetime | None, *, now: datetime) -> datetime:
    """When a sensor saw life: its own time if within the last day (or a few minutes ahead), else refused."""
    if at is None:
        return now
    if not now - SIGNAL_MAX_AGE <= at <= now + SIGNAL_MAX_AHEAD:
        earliest, latest = (now - SIGNAL_MAX_AGE).isoformat(), (now + SIGNAL_MAX_AHEAD).isoformat()
        raise Unprocessable(
            f"`at` must be between {earliest} and {latest} (the last 24 hours, or up to 5 minutes ahead of the "
            f"server's clock); {at.isoformat()} is outside.",
            code="signal_time_out_of_range",
            field="at",
            earliest=earliest,
            latest=latest,
        )
    return min(at, now)


# Where a check-in gets a short confirmation back: the app shows its own, a call says it back before hanging up,
# and a sensor is not a person.
CONFIRMED_CHANNELS = frozenset({"sms", "chat", "kakao"})


async def check_in(
    conn: asyncpg.Connection,
    *,
    notifier: Notifier,
    recipient_id: int | None = None,
    citizen_id: int | None = None,
    channel: str,
    kind: str,
    at: datetime,
    body: str | None = None,
    device_id: str | None = None,
) -> CheckinRead:
    """Record a sign of life; it closes the ladder of the current slot, and whoever was told gets an all-clear.

    Of ``recipient_id``, or of the recipient a signed-in ``citizen_id`` is (by phone; a 404 ``not_enrolled`` when
    none). A check-in shortly before a check-in time (within the window) answers that check-in.
    """
    async with atomic(conn):
        plan = await _locked_plan(conn, recipient_id=recipient_id, citizen_id=citizen_id)
        recipient_id = plan["recipient_id"]
        if channel == "sensor" and device_id is not None:
            await devices.seen(conn, device_id=device_id, recipient_id=recipient_id, at=at)
        counted = kind != "signal" or plan["accept_signals"]
        closed = counted and answers_slot(plan, at)
        if not counted:
            await repository.insert_checkin(
                conn, recipient_id=recipient_id, channel=channel, kind=kind, body=body, device_id=device_id, at=at
            )
            return _checkin_read(recipient_id, channel, kind, at, counted=False, closed=False)
        # The check-in's row with the ladder closed or the contact noted; then the missed check-ins' cases it
        # clears, whose ladders it quiets with the current slot's.
        await repository.insert_answering_checkin(
            conn,
            recipient_id=recipient_id,
            channel=channel,
            kind=kind,
            body=body,
            device_id=device_id,
            at=at,
            closes=closed,
        )
        note = f"{local(at)} 안부 확인됨 (checked in)"
        missed = await cases_repository.clear_missed(conn, recipient_id=recipient_id, now=at, note=note)
        why = f"answered by {channel} {kind}"
        await _quiet_ladders(conn, notifier, plan=plan, slots=missed.open_slots, closed=closed, why=why, at=at)
        if kind == "checkin" and channel in CONFIRMED_CHANNELS:
            # Said once per slot, however many times they text "괜찮아요": the slot this answered, or else the
            # one they last had (a second text after answering comes when the next slot is already set).
            slot = plan["slot_at"] if closed else previous_slot(plan["times"], plan["days"], plan["slot_at"])
            key = f"care:{recipient_id}:{slot.astimezone(UTC).isoformat()}:confirm"
            params: dict[str, object] = {"name": plan["name"]}
            confirmation = to_person(plan, template=messages.CHECKIN_CONFIRMED, key=key, params=params)
            await notifier.enqueue_many(conn, items=[confirmation], now=at)
        await _all_clear(conn, notifier, plan=plan, cleared_cases=missed.cleared, at=at)
        await safety.answered(conn, notifier=notifier, recipient=plan, via=channel, at=at)
        await inactivity.answered(conn, notifier=notifier, recipient=plan, via=channel, at=at)
    return _checkin_read(recipient_id, channel, kind, at, counted=True, closed=closed)


async def _locked_plan(conn: asyncpg.Connection, *, recipient_id: int | None, citizen_id: int | None) -> Any:
    if recipient_id is not None:
        plan = await repository.lock_plan(conn, recipient_id)
        if plan is None:
            raise NotFound(f"No one with id {recipient_id} is enrolled in check-ins.", code="recipient_not_found")
        return plan
    if citizen_id is None:
        raise TypeError("check_in needs a recipient_id or a citizen_id")
    plan = await repository.lock_plan_of_citizen(conn, citizen_id)
    if plan is None:
        raise NotFound(NOT_ENROLLED, code="not_enrolled")
    return plan


def _checkin_read(
    recipient_id: int, channel: str, kind: str, at: datetime, *, counted: bool, closed: bool
) -> CheckinRead:
    return CheckinRead(
        recipient_id=recipient_id, channel=channel, kind=kind, at=at, counted=counted, closed_escalation=closed
    )


async def _quiet_ladders(
    conn: asyncpg.Connection,
    notifier: Notifier,
    *,
    plan: Any,
    slots: list[datetime],
    closed: bool,
    why: str,
    at: datetime,
) -> None:
    """Nothing of an answered ladder leaves after the answer: the current slot's when it is answered, and those
    of earlier slots whose cases (``slots``) are still open (this sign of life clears them)."""
    if closed:
        slots = [*slots, plan["slot_at"]]
    ladders = sorted({s.isoformat() for s in slots})
    await ladder.quiet(
        conn,
        notifier=notifier,
        recipient_id=plan["recipient_id"],
        ladders=ladders,
        why=why,
        now=at,
        guardian_positions=plan["guardian_positions"],
    )


async def _all_clear(
    conn: asyncpg.Connection, notifier: Notifier, *, plan: Any, cleared_cases: list[int], at: datetime
) -> None:
    """Tell whoever was alarmed: the guardians once a guardian step was taken, the cases' social workers."""
    recipient_id = plan["recipient_id"]
    told_guardian = plan["step"] >= Step.GUARDIAN or bool(cleared_cases)
    if not told_guardian:
        return
    guardians = await repository.guardians_of(conn, recipient_id)
    # Every guardian heard the urgent step (of this slot, or of an earlier one whose case is still open).
    everyone = plan["step"] >= Step.URGENT or (plan["step"] == 0 and bool(cleared_cases))
    if not everyone:
        guardians = guardians[:1]
    key = f"care:{recipient_id}:all-clear:{at.isoformat()}"
    params: dict[str, object] = {"name": plan["name"], "at": local(at)}
    items = [to_guardian(g, template=messages.ALL_CLEAR, key=key, params=params) for g in guardians]
    await notifier.enqueue_many(conn, items=items, now=at)


async def ask_for_help(
    conn: asyncpg.Connection,
    *,
    notifier: Notifier,
    recipient_id: int,
    channel: str,
    at: datetime,
    body: str | None = None,
) -> HelpRead:
    """Open an urgent case at once, whatever the schedule, and tell the person and every guardian."""
    async with conn.transaction():
        plan = await repository.lock_plan(conn, recipient_id)
        if plan is None:
            raise NotFound(f"No one with id {recipient_id} is enrolled in check-ins.", code="recipient_not_found")
        await repository.insert_checkin(
            conn, recipient_id=recipient_id, channel=channel, kind="help", body=body, device_id=None, at=at
        )
        case_id, new = await cases_repository.open_help_case(conn, recipient_id=recipient_id, now=at, sla=SLA["urgent"])
        # A call for help is a sign of life like any other: it answers the slot whose window it falls in (or
        # whose ladder is climbing), and never a later one. They are still asked at their next check-in time.
        if answers_slot(plan, at):
            slots = await cases_repository.open_missed_slots(conn, recipient_id=recipient_id)
            why = f"answered by a {channel} help request"
            await _quiet_ladders(conn, notifier, plan=plan, slots=slots, closed=True, why=why, at=at)
            await repository.close_ladder(conn, recipient_id=recipient_id, at=at)
        else:
            await repository.note_contact(conn, recipient_id=recipient_id, at=at)
        await safety.pause_for_help(conn, recipient_id=recipient_id)
        await inactivity.answered(conn, notifier=notifier, recipient=plan, via=channel, at=at)
        if new:
            await on_duty.begin(conn, notifier=notifier, case_ids=[case_id], now=at)
            key = f"care:{recipient_id}:help:{case_id}"
            params: dict[str, object] = {"name": plan["name"], "at": local(at)}
            items: list[Outgoing] = [to_person(plan, template=messages.HELP_RECEIVED, key=key, params=params)]
            for g in await repository.guardians_of(conn, recipient_id):
                items.append(to_guardian(g, template=messages.GUARDIAN_HELP, key=key, params=params))
            await notifier.enqueue_many(conn, items=items, now=at)
        else:
            text = f"{local(at)} 다시 도움 요청 ({channel}): {body or ''}".strip()
            await cases_repository.add_note(conn, case_id=case_id, author="system", body=text, now=at)
    return HelpRead(case_id=case_id, new_case=new)


async def heartbeat(conn: asyncpg.Connection, *, data: HeartbeatIn, now: datetime) -> HeartbeatRead:
    """A home device's heartbeat: it is alive (the person's life is told by signals, not by this)."""
    at = signal_time(data.at, now=now)
    async with conn.transaction():
        if await repository.lock_plan(conn, data.recipient_id) is None:
            raise NotFound(f"No one with id {data.recipient_id} is enrolled in care.", code="recipient_not_found")
        await devices.seen(conn, device_id=data.device_id, recipient_id=data.recipient_id, at=at)
        if data.silent_after_minutes is not None:
            await devices.expect_every(conn, device_id=data.device_id, minutes=data.silent_after_minutes)
    return HeartbeatRead(device_id=data.device_id, last_seen_at=at)


NOT_ENROLLED = "You are not enrolled in check-ins; your social worker can enrol you."


async def enrolled_citizen(conn: asyncpg.Connection, *, citizen_id: int) -> int | None:
    """The care recipient a citizen is (by phone), or None for someone not in care."""
    return await repository.recipient_id_for_citizen(conn, citizen_id)


async def recipient_for_citizen(conn: asyncpg.Connection, *, citizen_id: int) -> int:
    """The care recipient a signed-in citizen is (by phone), or a 404 saying they are not enrolled."""
    recipient_id = await repository.recipient_id_for_citizen(conn, citizen_id)
    if recipient_id is None:
        raise NotFound(NOT_ENROLLED, code="not_enrolled")
    return recipient_id


class Enrolment(NamedTuple):
    """What another domain may know of a phone number's enrolment in care: who, which language, where."""

    recipient_id: int
    language: str
    district: str
    home: tuple[float, float] | None
    home_dong: str | None = None  # the dong of the home, or the home itself when only the dong was given


async def enrolment_by_phone(conn: asyncpg.Connection, *, phone: str) -> Enrolment | None:
    """The care enrolment of a phone number (E.164), or None for someone not in care."""
    row = await repository.enrolment_by_phone(conn, phone)
    if row is None:
        return None
    home = (row["home_lat"], row["home_lon"]) if row["home_lat"] is not None else None
    return Enrolment(
        recipient_id=row["id"],
        language=row["language"],
        district=row["district"],
        home=home,
        home_dong=row["home_dong"],
    )


async def people_in(
    conn: asyncpg.Connection,
    *,
    districts: Sequence[str],
    polygons: Sequence[Sequence[tuple[float, float]]] = (),
    dongs: Sequence[str] = (),
) -> list[asyncpg.Record]:
    """Everyone in care in these districts, or whose home lies in one of the polygons ((lat, lon) rings), or was
    given only as one of these dongs (those the polygons overlap), once each, by id: what ``contact.to_person``
    needs, and their home.

    Each row has recipient_id, name, phone, language, district, contact_by, reach_despite_opt_out,
    home_lat and home_lon (None when not known, or given only as a dong), home_dong and citizen_id (their app
    account, or None).
    """
    shapes = [polygon_literal(ring) for ring in polygons]
    precise = [polygon_literal(ring, scale=PRECISE_SCALE) for ring in polygons]
    return await repository.people_in(conn, districts, shapes, precise, dongs)


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
    """Change a person's name, address, language, contact channel, birth date, home and guardians, audited.

    ``details`` holds name, address, language, contact_by and guardians (``GuardianIn``), as the console's
    form gives them; the guardians replace the ones stored. None for ``born`` or ``home`` clears it.
    """
    born = check_birth_date(born, now=now)
    located = locate_home(home)
    async with conn.transaction():
        current = await repository.lock_recipient(conn, recipient_id)
        if current is None or not principal.serves(current["district"]):
            raise NotFound(f"No recipient {recipient_id} in your districts.", code="recipient_not_found")
        await repository.update_details(
            conn,
            recipient_id=recipient_id,
            name=details["name"],
            address=details["address"],
            language=details["language"],
            contact_by=details["contact_by"],
            born=born,
            home=located,
            now=now,
        )
        await repository.delete_guardians(conn, recipient_id)
        await repository.insert_guardians(
            conn,
            recipient_id=recipient_id,
            guardians=[(g.name, g.phone, g.relation, g.language.value) for g in details["guardians"]],
        )
        await audit.record(conn, actor=principal.subject, action="recipient.update", recipient_id=recipient_id, now=now)


async def _set_plan(conn: asyncpg.Connection, *, recipient_id: int, plan: PlanIn, now: datetime) -> None:
    quiet = (
        (time.fromisoformat(plan.quiet_hours.start), time.fromisoformat(plan.quiet_hours.end))
        if plan.quiet_hours
        else None
    )
    await repository.upsert_plan(
        conn,
        recipient_id=recipient_id,
        times=plan.local_times(),
        days=plan.days,
        window_min=plan.window_minutes,
        quiet=quiet,
        guardian_after_min=plan.ladder.guardian_after_minutes,
        case_after_min=plan.ladder.case_after_minutes,
        urgent_after_min=plan.ladder.urgent_after_minutes,
        accept_signals=plan.accept_signals,
        steps=[None if by is None else by.value for by in msgspec.structs.astuple(plan.ladder.steps)],
        inactivity_limit_min=plan.inactivity_hours * 60,
        now=now,
    )


async def _served(conn: asyncpg.Connection, recipient_id: int, principal: Principal) -> asyncpg.Record:
    row = await repository.get_recipient(conn, recipient_id)
    # Another district's recipient is answered as absent: its existence is personal data too.
    if row is None or not principal.serves(row["district"]):
        raise NotFound(f"No recipient {recipient_id} in your districts.", code="recipient_not_found")
    return row


def _check_serves(principal: Principal, district: str) -> None:
    if not principal.serves(district):
        raise Forbidden(f"You do not serve district {district}.", code="district_not_served")


def _read(row: asyncpg.Record) -> RecipientRead:
    quiet = (
        {"start": row["quiet_start"].strftime("%H:%M"), "end": row["quiet_end"].strftime("%H:%M")}
        if row["quiet_start"]
        else None
    )
    paused = row["paused_until"] is not None and row["paused_until"] > datetime.now(UTC)
    plan = PlanRead(
        times=[t.strftime("%H:%M") for t in row["times"]],
        days=list(row["days"]),
        window_minutes=row["window_min"],
        quiet_hours=quiet,
        ladder=LadderRead(
            guardian_after_minutes=row["guardian_after_min"],
            case_after_minutes=row["case_after_min"],
            urgent_after_minutes=row["urgent_after_min"],
            steps=StepsRead(**{name: row[column] for name, column in zip(Steps._fields, COLUMNS, strict=True)}),
            steps_in_effect=StepsRead(**{k: v.value for k, v in steps_of(row)._asdict().items()}),
        ),
        accept_signals=row["accept_signals"],
        inactivity_hours=row["inactivity_limit_min"] // 60,
        paused_until=row["paused_until"] if paused else None,
        pause_reason=row["pause_reason"] if paused else None,
        next_check_in=row["slot_at"],
        step=row["step"],
        last_contact_at=row["last_contact_at"],
    )
    return RecipientRead(
        id=row["id"],
        name=row["name"],
        phone=row["phone"],
        language=row["language"],
        district=row["district"],
        address=row["address"],
        birth_date=row["birth_date"],
        home=_home(row),
        contact_by=row["contact_by"],
        consent={"by": row["consent_by"], "at": row["consent_at"].isoformat(), "scope": row["consent_scope"]},
        reach_despite_opt_out=row["reach_despite_opt_out"],
        guardians=[msgspec.convert(g, GuardianRead) for g in row["guardians"]],
        plan=plan,
        created_at=row["created_at"],
    )


def _home(row: asyncpg.Record) -> HomeRead | None:
    if row["home_lat"] is None and row["home_dong"] is None:
        return None
    dong = boundaries.dongs().get(row["home_dong"]) if row["home_dong"] else None
    return HomeRead(
        lat=row["home_lat"],
        lon=row["home_lon"],
        dong=row["home_dong"],
        dong_name_ko=dong.name_ko if dong else None,
        dong_name_en=dong.name_en if dong else None,
    )
