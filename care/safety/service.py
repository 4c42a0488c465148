"""Safety checks: when a severe warning covers someone in care, they are asked "are you safe?", and silence
climbs their own escalation ladder (asked again, first guardian, a case tagged with the warning, urgent).

Any sign of life answers every open check (a reply by SMS, the app, the chatbot, a sensor); whoever was
alarmed hears that the person is safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog

from care import repository as care_repository
from care import steps
from care.addressing import call_person, local, to_guardian
from care.cases import repository as cases_repository
from care.ladder import SLA, CaseAction, Cases, Kind, Rung, Step, Tell, climb, quiet, step_key
from care.safety import messages, repository
from notifications.service import Notifier, Outgoing

log = structlog.get_logger(__name__)

# In a warning, the second question comes sooner than a check-in's window would allow.
ASK_AGAIN_AFTER = timedelta(minutes=15)
BATCH = 20_000


async def open_checks(
    conn: asyncpg.Connection, *, alert_id: int, recipient_ids: Sequence[int], replaced: Sequence[int], now: datetime
) -> set[int]:
    """Open a check for each recipient not already asked about an alert this one replaces; those opened."""
    opened = await repository.open_checks(
        conn, alert_id=alert_id, recipient_ids=recipient_ids, replaced=replaced, now=now, first_due=ASK_AGAIN_AFTER
    )
    return set(opened)


def first_call(person: Any, *, alert_id: int, headline_ko: str, headline_en: str) -> Outgoing | None:
    """The first "are you safe?" as a call, for someone whose plan calls at the first ask; None for the others,
    whom the warning's own text asks.

    ``person`` is a row of ``care.service.people_in``. Keyed as the ladder's first step, so an answer by any other
    way cancels a call not yet placed.
    """
    if not steps.of(person).calls_person(Step.FIRST_ASK):
        return None
    key = step_key(person["recipient_id"], _ladder(alert_id), Step.FIRST_ASK)
    params: dict[str, object] = {"name": person["name"], "event_ko": headline_ko, "event_en": headline_en}
    return call_person(person, template=messages.CALL, key=key, params=params)


def _ladder(alert_id: int) -> str:
    return f"safety:{alert_id}"


async def stand_down(conn: asyncpg.Connection, *, alert_ids: Sequence[int], now: datetime) -> int:
    """A warning was lifted: its unanswered checks stop climbing (cases already opened stay with their worker)."""
    if not alert_ids:
        return 0
    stopped = await repository.stand_down(conn, alert_ids=alert_ids)
    log.info("safety checks stood down", alert_ids=list(alert_ids), stopped=stopped, at=now.isoformat())
    return stopped


async def answered(
    conn: asyncpg.Connection, *, notifier: Notifier, recipient: Any, via: str, at: datetime
) -> list[int]:
    """A sign of life answers every open check of the recipient; guardians told of the silence hear they are safe.

    ``recipient`` is a row with ``recipient_id`` and ``name``. Runs in the caller's transaction.
    """
    checks = await repository.answer(conn, recipient_id=recipient["recipient_id"], via=via, at=at)
    if not checks:
        return []
    alert_ids = [c["alert_id"] for c in checks]
    ladders = [_ladder(a) for a in alert_ids]
    await quiet(
        conn, notifier=notifier, recipient_id=recipient["recipient_id"], ladders=ladders, why=f"safe, via {via}", now=at
    )
    note = f"{local(at)} 안전 확인됨 (safe, via {via})"
    await cases_repository.all_clear_safety(
        conn, recipient_id=recipient["recipient_id"], alert_ids=alert_ids, now=at, note=note
    )
    reached = max(c["step"] for c in checks)
    if reached >= Step.GUARDIAN:
        guardians = await care_repository.guardians_of(conn, recipient["recipient_id"])
        told = guardians if reached >= Step.URGENT else guardians[:1]
        key = f"care:{recipient['recipient_id']}:safe:{at.isoformat()}"
        params: dict[str, object] = {"name": recipient["name"], "at": local(at)}
        items = [to_guardian(g, template=messages.GUARDIAN_SAFE, key=key, params=params) for g in told]
        await notifier.enqueue_many(conn, items=items, now=at)
    return alert_ids


async def pause_for_help(conn: asyncpg.Connection, *, recipient_id: int) -> None:
    """A help case is open: the safety questions stop, the social worker has it."""
    await repository.pause_ladders(conn, recipient_id=recipient_id)


async def asked(conn: asyncpg.Connection, *, alert_id: int) -> set[int]:
    """The people in care asked "are you safe?" for this alert."""
    return await repository.asked(conn, alert_id=alert_id)


async def was_asked(conn: asyncpg.Connection, *, alert_id: int, recipient_id: int) -> bool:
    return await repository.was_asked(conn, alert_id=alert_id, recipient_id=recipient_id)


async def sweep(conn: asyncpg.Connection, *, notifier: Notifier, now: datetime) -> dict[str, int]:
    """Advance every due safety check by one step, with its messages and cases, in one transaction."""
    async with conn.transaction():
        taken = await repository.advance_due(conn, now=now, limit=BATCH)
        return await climb(conn, SAFETY_CHECK, taken, notifier=notifier, now=now)


def _params(step: Any) -> dict[str, object]:
    texts = step["texts"] or {}
    return {
        "name": step["name"],
        "event_ko": (texts.get("ko") or {}).get("headline") or step["event"],
        "event_en": (texts.get("en") or {}).get("headline") or step["event"],
    }


SAFETY_CHECK = Kind(
    name="safety",
    steps={
        Step.FIRST_ASK: Rung(),  # the question went out with the warning (api.alerts.fanout, and first_call)
        Step.ASK_AGAIN: Rung(messages.ASK_AGAIN, Tell.PERSON),
        Step.GUARDIAN: Rung(messages.GUARDIAN_SILENT, Tell.FIRST_GUARDIAN),
        Step.CASE: Rung(case=CaseAction.OPEN),
        Step.URGENT: Rung(messages.GUARDIAN_URGENT, Tell.EVERY_GUARDIAN, CaseAction.URGENT),
    },
    ladder_of=lambda t: _ladder(t["alert_id"]),  # answered() quiets the same names
    params=_params,
    cases=Cases(
        of=lambda t: (t["recipient_id"], t["alert_id"]),
        open=lambda conn, rows, now: cases_repository.open_safety_cases(conn, rows=rows, now=now, sla=SLA["high"]),
        urgent=lambda conn, rows, now: cases_repository.make_safety_urgent(conn, rows=rows, now=now, sla=SLA["urgent"]),
    ),
    count_idle_cases=True,
    call_template=messages.CALL,
)
