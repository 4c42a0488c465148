"""The people on duty: who hears of an urgent case, in what order, until one of them acknowledges it.

An urgent case (a call for help, a ladder's urgent step, a safety check's) tells the first person on its
district's shift at once, by SMS through the outbox, in the transaction that made it urgent. Every
``escalate_after`` without an acknowledgement, the job tells the next: the rest of the district's shift in
order, then the city night desk's. Each (case, step) is told once (its outbox key is ``oncall:{case}:{step}``),
and nothing more goes once the case is acknowledged: in the console, by the API, or by replying to the SMS.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg
import structlog

from api.platform.auth.tokens import Principal, Role
from api.platform.districts import DISTRICTS
from api.platform.errors import Forbidden, NotFound, Unprocessable
from care import messages, rota
from care import on_duty_repository as repository
from care.cases import repository as cases_repository
from care.schemas import AckWeek, RotaIn, RotaRead, ShiftRead
from notifications.inbound import InboundSms
from notifications.schemas import Priority
from notifications.service import Notifier, Outgoing

log = structlog.get_logger(__name__)

ESCALATE_AFTER = timedelta(minutes=5)


async def begin(conn: asyncpg.Connection, *, notifier: Notifier, case_ids: Sequence[int], now: datetime) -> int:
    """These cases became urgent now: tell the first person on duty for each, in the caller's transaction."""
    if not case_ids:
        return 0
    await repository.start(conn, case_ids=case_ids, now=now)
    return await escalate(conn, notifier=notifier, now=now, every=ESCALATE_AFTER, case_ids=case_ids)


async def escalate(
    conn: asyncpg.Connection,
    *,
    notifier: Notifier,
    now: datetime,
    every: timedelta,
    case_ids: Sequence[int] | None = None,
) -> int:
    """Take every due step of every open urgent case (only these, when given); how many people were told."""
    cases = await repository.due(conn, now=now, every=every, case_ids=case_ids)
    if not cases:
        return 0
    shifts = await repository.rotas(conn, sorted({c["district"] for c in cases}))
    chains = {c["id"]: rota.chain(shifts.get(c["district"], []), shifts.get(None, []), now) for c in cases}
    reachable = await repository.contacts(conn, sorted({s for chain in chains.values() for s in chain}))
    told: list[tuple[int, int, int, str]] = []
    next_at: list[tuple[int, datetime | None]] = []
    items: list[Outgoing] = []
    for case in cases:
        people = [s for s in chains[case["id"]] if s in reachable]
        step = case["step"]
        if not people:
            # Nobody on duty can be reached: try again at the next step's time, and say so loudly.
            log.warning("urgent case with nobody on duty to tell", case_id=case["id"], district=case["district"])
            next_at.append((case["id"], now))
            continue
        if step >= len(people):
            next_at.append((case["id"], None))  # everyone named has been told; the console and alerts remain
            continue
        person = reachable[people[step]]
        told.append((case["id"], step, person["id"], person["phone"]))
        next_at.append((case["id"], now))
        items += _messages(case, step, person)
    await repository.record(conn, told=told, next_at=next_at, now=now)
    await notifier.enqueue_many(conn, items=items, now=now)
    return len(items)


def _messages(case: asyncpg.Record, step: int, person: asyncpg.Record) -> list[Outgoing]:
    """An SMS to the worker's phone and, at the same time, a push to their app if they have one."""
    district = DISTRICTS[case["district"]].name_ko if case["district"] in DISTRICTS else case["district"]
    reason_ko, _ = messages.REASONS.get(case["reason"], (case["reason"], case["reason"]))
    params: dict[str, object] = {"district": district, "case": case["id"], "reason": reason_ko}
    key = f"oncall:{case['id']}:{step}"
    # Both at once, not the push first with the SMS held back: whoever is on duty must hear of it now.
    sms = Outgoing(
        dedupe_key=key,
        template=messages.ON_DUTY,
        params=params,
        phone=person["phone"],
        priority=Priority.urgent,
        critical=True,
        overrides_opt_out=True,  # a worker on duty is told whatever they once replied to other texts
    )
    if person["app"] is None:
        return [sms]
    push = Outgoing(
        dedupe_key=f"{key}:push",
        template=messages.ON_DUTY,
        params=params,
        citizen_id=person["app"],
        priority=Priority.urgent,
        critical=True,
    )
    return [sms, push]


async def acknowledge_by_reply(conn: asyncpg.Connection, *, sms: InboundSms, notifier: Notifier) -> bool:
    """A reply from a phone told of an open case acknowledges the latest such case; False if it is not one."""
    since = sms.received_at - repository.ESCALATION_REPLY_WINDOW
    async with conn.transaction():
        case = await repository.case_told_to(conn, phone=sms.phone, since=since)
        if case is None:
            return False
        actor = f"staff:{case['staff_id']}:sms"
        await cases_repository.acknowledge(conn, case["id"], actor=actor, now=sms.received_at)
        reply = Outgoing(
            dedupe_key=f"oncall:{case['id']}:ack:{sms.message_sid}",
            template=messages.ON_DUTY_ACKNOWLEDGED,
            params={"case": case["id"]},
            phone=sms.phone,
            priority=Priority.urgent,
            overrides_opt_out=True,
        )
        await notifier.enqueue_many(conn, items=[reply], now=sms.received_at)
    return True


async def replace_rota(
    conn: asyncpg.Connection, *, district: str | None, data: RotaIn, principal: Principal
) -> RotaRead:
    """Replace a district's rota (None: the night desk's) after checking it covers the week once, with real staff."""
    if principal.role is not Role.operator:
        raise Forbidden("Only operators edit rotas.", code="operators_only")
    try:
        shifts = rota.shifts_of([(s.starts, s.ends, s.staff) for s in data.shifts])
    except rota.RotaError as exc:
        raise Unprocessable(str(exc), code="rota_invalid") from None
    async with conn.transaction():
        named = sorted({s for shift in shifts for s in shift.staff_ids})
        unknown = await repository.unknown_staff(conn, named)
        if unknown:
            raise Unprocessable(f"No staff account has id {', '.join(map(str, unknown))}.", code="staff_not_found")
        unreachable = sorted(set(named) - set(await repository.contacts(conn, named)))
        if unreachable:
            raise Unprocessable(
                f"Staff {', '.join(map(str, unreachable))} cannot be told of a case (inactive, or no phone).",
                code="staff_unreachable",
            )
        await repository.replace_rota(conn, district=district, shifts=shifts)
    return _read(district, shifts)


async def get_rota(conn: asyncpg.Connection, *, district: str | None, principal: Principal) -> RotaRead:
    if district is not None and not principal.serves(district):
        raise NotFound(f"There is no rota for {district} you may read.", code="rota_not_found")
    return _read(district, (await repository.rotas(conn, [district] if district else [])).get(district, []))


def _read(district: str | None, shifts: Sequence[rota.Shift]) -> RotaRead:
    return RotaRead(
        district=district,
        shifts=[
            ShiftRead(starts=rota.written(s.starts), ends=rota.written(s.ends), staff=list(s.staff_ids)) for s in shifts
        ],
    )


TSA_TARGET = 0.975  # the UK telecare standard (TSA): 97.5 % of alarm calls answered within 60 s
ACK_WEEKS = 8


async def acknowledgement_times(conn: asyncpg.Connection, *, now: datetime) -> list[AckWeek]:
    """Time to acknowledge urgent cases, per district and week, for the last ``ACK_WEEKS`` weeks."""
    rows = await cases_repository.time_to_acknowledge(conn, since=now - timedelta(weeks=ACK_WEEKS))
    return [
        AckWeek(
            district=r["district"],
            week=r["week"],
            cases=r["cases"],
            p50_s=r["p50_s"],
            p95_s=r["p95_s"],
            within_60s=r["within_60s"],
            meets_tsa=r["within_60s"] >= TSA_TARGET,
        )
        for r in rows
    ]
