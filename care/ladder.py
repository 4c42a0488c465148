"""One escalation ladder engine, and the missed check-in ladder that runs on it every minute.

Every ladder climbs the same five steps (ask, ask again, the first guardian, a case for the district's social
workers, urgent: the case, and every guardian); a kind of ladder is a table of what each step says, to whom,
and what it does to a case. Each kind's repository advances its due ladders in one statement and hands the
steps taken to ``climb``, which writes their outbox rows and cases in the caller's transaction, keyed by
(person, ladder, step), so a step is taken and told exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import Enum, IntEnum
from typing import Any, NamedTuple

import asyncpg
import structlog

from api.platform import metrics
from care import messages, on_duty, repository, steps
from care.addressing import (
    call_guardian,
    call_person,
    guardian_call_key,
    guardian_key,
    in_quiet_hours,
    local,
    to_guardian,
    to_person,
)
from care.cases import repository as cases_repository
from notifications.service import Notifier, Outgoing

log = structlog.get_logger(__name__)

SLA = {"urgent": timedelta(minutes=15), "high": timedelta(hours=1), "normal": timedelta(hours=24)}
BATCH = 20_000  # plans advanced per run at most; a backlog beyond that continues the next minute

Row = Mapping[str, Any]
CaseWrite = Callable[[asyncpg.Connection, list[tuple[Any, ...]], datetime], Awaitable[list[Any]]]


class Step(IntEnum):
    """The steps of every ladder, as stored in the ``step`` columns."""

    FIRST_ASK = 1  # the reminder at the check-in time; the "are you safe?" sent with the warning
    ASK_AGAIN = 2
    GUARDIAN = 3
    CASE = 4
    URGENT = 5


class Tell(Enum):
    """Who hears of a step."""

    PERSON = "person"
    FIRST_GUARDIAN = "first_guardian"
    EVERY_GUARDIAN = "every_guardian"


class CaseAction(Enum):
    """What a step does to the ladder's case; the value is the key of its count."""

    OPEN = "cases_opened"
    URGENT = "cases_urgent"


class Rung(NamedTuple):
    """One step of a kind of ladder: the message it sends, to whom, and its case action."""

    template: str | None = None
    tell: Tell | None = None
    case: CaseAction | None = None


class Cases(NamedTuple):
    """How a kind's steps reach its cases: the row naming the case, and one statement per action over a batch."""

    of: Callable[[Row], tuple[Any, ...]]
    open: CaseWrite
    urgent: CaseWrite


class Kind(NamedTuple):
    """What differs between two kinds of ladder; everything else is ``climb``."""

    name: str
    steps: Mapping[Step, Rung]
    ladder_of: Callable[[Row], str]  # names the ladder in the idempotency key care:{recipient}:{ladder}:{step}
    params: Callable[[Row], dict[str, object]]
    cases: Cases
    quiet_hours: bool = False  # messages to the person are held back in their quiet hours
    count_idle_cases: bool = False  # both case counts in every result, 0 when no step had that action
    # What a call says at an ask, for people whose plan calls them there (``care.steps``); None: never a call to
    # the person (guardians are still called where the plan says).
    call_template: str | None = None

    def rung(self, taken: Row) -> Rung:
        return self.steps[Step(taken["step"])]


def step_key(recipient_id: int, ladder: str, step: int) -> str:
    """The dedupe key of a step's messages: each (person, ladder, step) is told once."""
    return f"care:{recipient_id}:{ladder}:{step}"


async def quiet(
    conn: asyncpg.Connection,
    *,
    notifier: Notifier,
    recipient_id: int,
    ladders: Sequence[str],
    why: str,
    now: datetime,
    guardian_positions: Sequence[int] | None = None,
) -> int:
    """An answer: whatever these ladders still had to send is cancelled, in the caller's transaction.

    ``guardian_positions``: the recipient's guardians' positions when the caller has them (the locked plan's row),
    else read here.
    """
    if not ladders:
        return 0
    steps = [step_key(recipient_id, ladder, step) for ladder in ladders for step in Step]
    guardians = guardian_positions
    if guardians is None:
        guardians = [g["position"] for g in await repository.guardians_of(conn, recipient_id)]
    keys = steps + [k(key, g) for key in steps for g in guardians for k in (guardian_key, guardian_call_key)]
    return await notifier.cancel(conn, dedupe_keys=keys, reason=why, now=now)


async def climb(
    conn: asyncpg.Connection, kind: Kind, taken: Sequence[Row], *, notifier: Notifier, now: datetime
) -> dict[str, int]:
    """Tell and act on each step taken, in the caller's transaction; counts of the steps, cases and deliveries."""
    if not taken:
        return {}
    guardians = await _guardians(conn, kind, taken)
    outgoing: list[Outgoing] = []
    counts: dict[str, int] = defaultdict(int)
    for row in taken:
        rung = kind.rung(row)
        if kind.quiet_hours and rung.tell is Tell.PERSON and in_quiet_hours(now, row["quiet_start"], row["quiet_end"]):
            counts["quiet"] += 1
        else:
            outgoing += _told(kind, rung, row, guardians[row["recipient_id"]])
        counts[f"step_{row['step']}"] += 1
        metrics.LADDER_STEPS.labels(kind=kind.name, step=Step(row["step"]).name.lower()).inc()
    for action in CaseAction:
        await _act(conn, kind, action, taken, notifier=notifier, now=now, counts=counts)
    counts["deliveries"] = await notifier.enqueue_many(conn, items=outgoing, now=now)
    log.info(f"{kind.name} sweep", **counts)
    return dict(counts)


async def _guardians(conn: asyncpg.Connection, kind: Kind, taken: Sequence[Row]) -> dict[int, list[Any]]:
    """The guardians of everyone in the batch, in order, fetched only when a step tells a guardian."""
    guardians: dict[int, list[Any]] = defaultdict(list)
    if any(kind.rung(t).tell in (Tell.FIRST_GUARDIAN, Tell.EVERY_GUARDIAN) for t in taken):
        for g in await repository.guardians_of_many(conn, [t["recipient_id"] for t in taken]):
            guardians[g["recipient_id"]].append(g)
    return guardians


def _told(kind: Kind, rung: Rung, row: Row, guardians: Sequence[Any]) -> list[Outgoing]:
    """The messages of one step taken, each by the way the plan's steps say (``care.steps``)."""
    if rung.template is None or rung.tell is None:
        return []
    key = step_key(row["recipient_id"], kind.ladder_of(row), row["step"])
    params = kind.params(row)
    how = steps.of(row)
    if rung.tell is Tell.PERSON:
        if kind.call_template is not None and how.calls_person(row["step"]):
            return [call_person(row, template=kind.call_template, key=key, params=params)]
        return [to_person(row, template=rung.template, key=key, params=params)]
    told = guardians[:1] if rung.tell is Tell.FIRST_GUARDIAN else guardians
    out = []
    if how.texts_guardian(row["step"]):
        out = [to_guardian(g, template=rung.template, key=key, params=params) for g in told]
    if how.calls_guardian(row["step"]):
        # One call, to the first guardian: the surer way to be heard; at the urgent step the others have the text.
        out += [call_guardian(g, template=rung.template, key=key, params=params) for g in told[:1]]
    return out


async def _act(
    conn: asyncpg.Connection,
    kind: Kind,
    action: CaseAction,
    taken: Sequence[Row],
    *,
    notifier: Notifier,
    now: datetime,
    counts: dict[str, int],
) -> None:
    rows = [kind.cases.of(t) for t in taken if kind.rung(t).case is action]
    if rows or kind.count_idle_cases:
        write = kind.cases.open if action is CaseAction.OPEN else kind.cases.urgent
        written = await write(conn, rows, now) if rows else []
        counts[action.value] = len(written)
        if action is CaseAction.URGENT and written:
            counts["on_duty_told"] = await on_duty.begin(
                conn, notifier=notifier, case_ids=[c["id"] for c in written], now=now
            )


MISSED_CHECKIN = Kind(
    name="care",
    steps={
        Step.FIRST_ASK: Rung(messages.REMINDER, Tell.PERSON),
        Step.ASK_AGAIN: Rung(messages.REMINDER_AGAIN, Tell.PERSON),
        Step.GUARDIAN: Rung(messages.GUARDIAN_ALERT, Tell.FIRST_GUARDIAN),
        Step.CASE: Rung(case=CaseAction.OPEN),
        Step.URGENT: Rung(messages.GUARDIAN_URGENT, Tell.EVERY_GUARDIAN, CaseAction.URGENT),
    },
    ladder_of=lambda t: t["slot_at"].isoformat(),
    params=lambda t: {"name": t["name"], "slot": local(t["slot_at"])},
    cases=Cases(
        of=lambda t: (t["recipient_id"], t["slot_at"]),
        open=lambda conn, rows, now: cases_repository.open_missed_cases(
            conn, rows=rows, priority="high", now=now, sla=SLA["high"]
        ),
        urgent=lambda conn, rows, now: cases_repository.make_urgent(conn, rows=rows, now=now, sla=SLA["urgent"]),
    ),
    quiet_hours=True,
    call_template=messages.VOICE_CHECKIN,
)


async def sweep(conn: asyncpg.Connection, *, notifier: Notifier, now: datetime) -> dict[str, int]:
    """Advance every due plan by one step; counts of the steps taken."""
    taken = await repository.advance_due(conn, now=now, limit=BATCH)
    return await climb(conn, MISSED_CHECKIN, taken, notifier=notifier, now=now)
