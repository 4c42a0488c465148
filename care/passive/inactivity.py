"""The inactivity watch: a home that goes quiet starts a ladder of its own, even with no check-in scheduled.

Every sweep finds, in one statement, everyone whose home has been quiet for longer than their limit (default
24 h), or, with a week of history, whose last hours hold fewer than half their usual events for those hours;
each starts an episode that climbs like a missed check-in (asked, asked again, first guardian, a case that
says which rule fired, urgent). Any sign of life ends it, and whoever was alarmed hears the all-clear.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog

from care import messages as care_messages
from care import repository as care_repository
from care.addressing import local, to_guardian
from care.cases import repository as cases_repository
from care.ladder import SLA, CaseAction, Cases, Kind, Rung, Step, Tell, climb, quiet
from care.passive import messages, repository
from notifications.service import Notifier

log = structlog.get_logger(__name__)

ASK_AGAIN_AFTER = timedelta(minutes=30)
WINDOW_HOURS = 6  # the usual-pattern rule compares the last 6 whole hours with the same hours on other days
HISTORY_DAYS = 7  # and needs a week of history (enrolled a week ago) to have a pattern at all
MIN_USUAL_EVENTS = 4.0  # an average below this in the window is too little to call half of it silence
BATCH = 20_000


def ladder_name(fired_at: datetime) -> str:
    return f"inactivity:{fired_at.isoformat()}"


def _since(row: Any) -> datetime:
    detail = row["detail"] or {}
    if row["rule"] == "inactivity_limit" and detail.get("last_life_at"):
        return datetime.fromisoformat(detail["last_life_at"])
    return row["fired_at"] - timedelta(hours=int(detail.get("window_hours", WINDOW_HOURS)))


def _params(row: Any) -> dict[str, object]:
    return {"name": row["name"], "since": local(_since(row))}


INACTIVITY = Kind(
    name="inactivity",
    steps={
        Step.FIRST_ASK: Rung(messages.INACTIVE_ASK, Tell.PERSON),
        Step.ASK_AGAIN: Rung(messages.INACTIVE_ASK_AGAIN, Tell.PERSON),
        Step.GUARDIAN: Rung(messages.INACTIVE_GUARDIAN, Tell.FIRST_GUARDIAN),
        Step.CASE: Rung(case=CaseAction.OPEN),
        Step.URGENT: Rung(messages.INACTIVE_URGENT, Tell.EVERY_GUARDIAN, CaseAction.URGENT),
    },
    ladder_of=lambda t: ladder_name(t["fired_at"]),
    params=_params,
    cases=Cases(
        of=lambda t: (t["recipient_id"], t["fired_at"]),
        open=lambda conn, rows, now: cases_repository.open_inactivity_cases(conn, rows=rows, now=now, sla=SLA["high"]),
        urgent=lambda conn, rows, now: cases_repository.make_inactivity_urgent(
            conn, rows=rows, now=now, sla=SLA["urgent"]
        ),
    ),
    # Asked in the night, someone asleep would not answer: the asks wait out the quiet hours, the ladder does not.
    quiet_hours=True,
)


async def sweep(conn: asyncpg.Connection, *, notifier: Notifier, now: datetime) -> dict[str, int]:
    """Start an episode for every quiet home and advance every due one by a step, in one transaction."""
    async with conn.transaction():
        started = await repository.fire(
            conn,
            now=now,
            window_h=WINDOW_HOURS,
            history_days=HISTORY_DAYS,
            min_usual=MIN_USUAL_EVENTS,
            first_due=ASK_AGAIN_AFTER,
            limit=BATCH,
        )
        moved = await repository.advance_due(conn, now=now, ask_again=ASK_AGAIN_AFTER, limit=BATCH)
        counts = await climb(conn, INACTIVITY, [*started, *moved], notifier=notifier, now=now)
    rules = {"inactivity_limit": 0, "below_usual": 0}
    for row in started:
        rules[row["rule"]] += 1
    return {"started": len(started), **{f"rule_{k}": v for k, v in rules.items()}, **counts}


async def answered(conn: asyncpg.Connection, *, notifier: Notifier, recipient: Any, via: str, at: datetime) -> bool:
    """A sign of life ends a climbing episode: nothing more of it is sent, its case is marked all clear, and the
    guardians told of the silence hear the all-clear. ``recipient`` has ``recipient_id`` and ``name``."""
    recipient_id = recipient["recipient_id"]
    episode = await repository.answer(conn, recipient_id=recipient_id, at=at)  # and counts it in its hour
    if episode is None:
        return False
    ladders = [ladder_name(episode["fired_at"])]
    await quiet(conn, notifier=notifier, recipient_id=recipient_id, ladders=ladders, why=f"answered by {via}", now=at)
    note = f"{local(at)} 활동 확인됨 (active again, via {via})"
    await cases_repository.all_clear_reason(conn, recipient_id=recipient_id, reason="inactivity", now=at, note=note)
    if episode["step"] >= Step.GUARDIAN:
        guardians = await care_repository.guardians_of(conn, recipient_id)
        told = guardians if episode["step"] >= Step.URGENT else guardians[:1]
        key = f"care:{recipient_id}:active:{at.isoformat()}"
        params: dict[str, object] = {"name": recipient["name"], "at": local(at)}
        items = [to_guardian(g, template=care_messages.ALL_CLEAR, key=key, params=params) for g in told]
        await notifier.enqueue_many(conn, items=items, now=at)
    log.info("inactivity episode answered", recipient_id=recipient_id, step=episode["step"], via=via)
    return True


async def pause_for_case(conn: asyncpg.Connection, *, recipient_id: int) -> None:
    """A help or emergency case has taken over: the episode stops climbing."""
    await repository.pause(conn, recipient_id=recipient_id)
