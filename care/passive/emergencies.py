"""Sensor emergencies: a home sensor's fire, smoke, gas or fall opens an urgent case at once, on the path of a
call for help (the person on duty, every guardian, the person), and the case says "119 신고 필요" until a worker
records that 119 was called."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from api.platform.errors import NotFound
from care import on_duty
from care import repository as care_repository
from care.addressing import local, to_guardian, to_person
from care.cases import repository as cases_repository
from care.ladder import SLA
from care.passive import devices, inactivity, messages, repository
from care.safety import service as safety
from care.schemas import EmergencyRead
from notifications.service import Notifier, Outgoing


async def report(
    conn: asyncpg.Connection,
    *,
    notifier: Notifier,
    recipient_id: int,
    device_id: str,
    kind: str,
    at: datetime,
    now: datetime,
) -> EmergencyRead:
    """Open (or add to) the person's urgent case for this kind of emergency; a resent event changes nothing."""
    async with conn.transaction():
        plan = await care_repository.lock_plan(conn, recipient_id)
        if plan is None:
            raise NotFound(f"No one with id {recipient_id} is enrolled in care.", code="recipient_not_found")
        await devices.seen(conn, device_id=device_id, recipient_id=recipient_id, at=at)
        known = await repository.event_case(conn, device_id=device_id, kind=kind, at=at)
        if known is not None:
            return EmergencyRead(case_id=known, new_case=False, duplicate=True, needs_119=True)
        case_id, new = await cases_repository.open_emergency_case(
            conn,
            recipient_id=recipient_id,
            rule=kind,
            device_id=device_id,
            detail={"kind": kind, "device_id": device_id, "at": at.isoformat()},
            now=at,
            sla=SLA["urgent"],
        )
        await repository.insert_event(
            conn, device_id=device_id, kind=kind, at=at, recipient_id=recipient_id, case_id=case_id, received_at=now
        )
        ko, en = messages.EVENT_NAMES[kind]
        if new:
            await safety.pause_for_help(conn, recipient_id=recipient_id)
            await inactivity.pause_for_case(conn, recipient_id=recipient_id)
            await on_duty.begin(conn, notifier=notifier, case_ids=[case_id], now=now)
            key = f"care:{recipient_id}:sensor:{case_id}"
            params: dict[str, object] = {"name": plan["name"], "at": local(at), "event_ko": ko, "event_en": en}
            items: list[Outgoing] = [to_person(plan, template=messages.EMERGENCY_PERSON, key=key, params=params)]
            for g in await care_repository.guardians_of(conn, recipient_id):
                items.append(to_guardian(g, template=messages.EMERGENCY_GUARDIAN, key=key, params=params))
            await notifier.enqueue_many(conn, items=items, now=now)
        else:
            text = f"{local(at)} 다시 감지: {ko} (device {device_id})"
            await cases_repository.add_note(conn, case_id=case_id, author="system", body=text, now=now)
    return EmergencyRead(case_id=case_id, new_case=new, duplicate=False, needs_119=True)
