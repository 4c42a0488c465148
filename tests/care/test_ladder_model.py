"""A model check of the missed check-in ladder: random plans and random days, checked after every step (hypothesis).

Hypothesis draws a plan (check-in times, days, window, quiet hours, ladder delays) and a program of a few simulated
days: the worker sweeping on time or a little late, outages after which it catches up, two sweepers racing, signs
of life of every kind (app and SMS check-ins, other texts, help by SMS and app, home sensors), pauses, resumes and
plan changes in the middle of a window. After every step these invariants are checked against the database:

1. Each (plan, slot, step) happens once, and a slot's steps are taken in order, 1, 2, …, each no earlier than its
   due time (the slot, then the window, the guardian, case and urgent delays after it), and, where the worker was
   running, within a few minutes of it.
2. Every slot whose ladder started is, once its last step is due, either answered by a sign of life under the
   slot rule (docs/care.md, "Which sign of life answers which slot"), set aside by a pause or a new plan, or has
   climbed through all five steps.
3. Nothing postpones or skips a slot: the next check-in moves only when a sign of life answers the slot (to the
   first planned time after it and after the slot), when the urgent step is taken (to the first planned time
   after then: a check-in time that passes while an earlier slot climbs is covered by that slot's urgent case),
   or when a pause, a resume or a new plan sets it (to the first planned time after that moment; for a new plan,
   the first whose window does not already hold a sign of life).
4. Nothing of a ladder leaves after its answer: no step of an answered slot is taken afterwards, and every
   message of its steps still waiting is cancelled.
5. Quiet hours hold for the person, not for the guardian: no reminder or check-in call to the person is written in
   their quiet hours, while the ladder goes on climbing and its guardian steps are written whenever they fall due.
6. Each step reaches its people the way the plan says (a random ``contact_by`` and random per-step ways, some left
   to ``contact_by``; docs/care.md, "How each step reaches them"): an ask is a call exactly where the plan calls
   at it, else a text; the first guardian is texted, called or both as the plan says, and at the urgent step
   every guardian is texted and the first called too where the plan says so; no other step calls or texts.

SAFECITY_MODEL_EXAMPLES sets the number of programs (default 25) for a long run.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.platform.auth.tokens import Principal, Role
from api.platform.settings import NotifySettings
from care import ladder, service
from care.addressing import in_quiet_hours
from care.inbound import handle_sms
from care.schemas import ContactBy, GuardianIn, Ladder, LadderSteps, PauseIn, PlanIn, QuietHours, RecipientCreate
from care.steps import AskBy, GuardianBy, UrgentBy
from notifications.inbound import InboundSms
from notifications.service import Notifier

SEOUL = ZoneInfo("Asia/Seoul")
WORKER = Principal(subject="staff:1", role=Role.social_worker, districts=("11110",))
GUARDIAN = "+821098760000"
START = datetime(2026, 11, 23, 0, 10, tzinfo=SEOUL)  # a Monday, before any check-in time
EXAMPLES = int(os.environ.get("SAFECITY_MODEL_EXAMPLES", "25"))
ON_TIME = timedelta(minutes=3)  # how late a running worker's sweep may take a step (it runs every minute)
KINDS = ("app", "sms_checkin", "sms_text", "sms_help", "help_app", "sensor")
PERSON_TEMPLATES = ("care.reminder", "care.reminder_again", "care.voice_checkin")
# ladder.step_key, and its copies to guardians (a text, or a call)
STEP_KEY = re.compile(r"care:\d+:([0-9T:+-]+?):([1-5])(:guardian:\d+)?(:call)?")
# How each step reaches people when the plan says nothing, by contact_by (docs/care.md): first ask, ask again,
# the first guardian, the urgent step.
BY_CONTACT = {
    "voice": ("call", "call", "message", "message+call"),
    "sms+voice": ("message", "call", "message", "message+call"),
}


def next_planned(times: list[time], days: list[int], after: datetime) -> datetime:
    """The first check-in time strictly after ``after`` on one of ``days`` (ISO weekdays), in Seoul."""
    local = after.astimezone(SEOUL)
    for back in range(0, 9):
        day = local.date() + timedelta(days=back)
        if day.isoweekday() not in days:
            continue
        for t in sorted(times):
            candidate = datetime.combine(day, t, tzinfo=SEOUL)
            if candidate > after:
                return candidate
    raise AssertionError("no planned time within 8 days")


@st.composite
def plans(draw: st.DrawFn) -> dict:
    hours = sorted(draw(st.sets(st.integers(6, 21), min_size=1, max_size=3)))
    minutes = [h * 60 + draw(st.sampled_from([0, 15, 30])) for h in hours]
    times = [f"{m // 60:02d}:{m % 60:02d}" for m in minutes]
    gaps = [b - a for a, b in itertools.pairwise(minutes)] + [minutes[0] + 1440 - minutes[-1]]
    window = draw(st.integers(10, min(180, min(gaps))))
    days = sorted(draw(st.sets(st.integers(1, 7), min_size=1, max_size=7)))
    quiet = draw(st.sampled_from([None, ("22:00", "06:00"), ("23:30", "05:00")]))
    delays = draw(st.tuples(st.integers(5, 90), st.integers(5, 90), st.integers(10, 180)))
    contact_by = draw(st.sampled_from([c.value for c in ContactBy]))
    steps = {
        name: draw(st.sampled_from([None, *(b.value for b in kind)]))
        for name, kind in (("first_ask", AskBy), ("ask_again", AskBy), ("guardian", GuardianBy), ("urgent", UrgentBy))
    }
    plan = {"times": times, "days": days, "window": window, "quiet": quiet, "delays": delays}
    return {**plan, "contact_by": contact_by, "steps": steps}


operation = st.one_of(
    # The worker runs for so many minutes, sweeping when due: often a few steps' worth, sometimes most of a day.
    st.tuples(st.just("run"), st.one_of(st.integers(1, 120), st.integers(120, 900))),
    st.tuples(st.just("outage"), st.integers(30, 900)),  # no sweep for so long, then the worker catches up
    st.tuples(st.just("race"), st.integers(0, 5)),  # two sweepers at once, so many minutes on
    st.tuples(st.just("signal"), st.sampled_from(KINDS)),
    st.tuples(st.just("signal"), st.sampled_from(KINDS)),  # twice as likely as the rest
    st.tuples(st.just("pause"), st.integers(1, 30)),  # hours
    st.tuples(st.just("resume"), st.just(0)),
    st.tuples(st.just("replan"), st.integers(0, 2)),  # one of three other plans
)

NOTIFIER = Notifier(NotifySettings())
# At minutes the drawn plans never use, so that no slot of a new plan is one of the old plan's.
OTHER_PLANS = (["08:05"], ["10:35", "20:35"], ["07:20", "13:20", "19:20"])


@dataclass
class World:
    """What the test knows besides the database: the clock, the plan as set, and what must have happened."""

    recipient_id: int
    now: datetime
    times: list[time]
    days: list[int]
    window: timedelta
    delays: tuple[int, int, int]
    quiet: tuple[time, time] | None
    answered: dict[datetime, datetime] = field(default_factory=dict)  # slot → when it was answered
    set_aside: set[datetime] = field(default_factory=set)  # slots a pause, resume or new plan replaced
    running: list[tuple[datetime, datetime]] = field(default_factory=list)  # when the worker swept every minute
    windows: dict[datetime, timedelta] = field(default_factory=dict)  # each slot's window, as it was planned
    ways: tuple[str, str, str, str] = ("message", "message", "message", "message")  # how steps 1, 2, 3, 5 reach

    def calls_person(self, step: int) -> bool:
        return step in (1, 2) and self.ways[step - 1] == "call"

    def calls_guardian(self, step: int) -> bool:
        return (step == 3 and self.ways[2] in ("call", "message+call")) or (step == 5 and self.ways[3] != "message")

    def texts_guardian(self, step: int) -> bool:
        return step == 5 or (step == 3 and self.ways[2] != "call")

    def due(self, slot: datetime, step: int) -> datetime:
        g, c, u = self.delays
        window = self.windows.get(slot, self.window)
        offsets = [0, 0, int(window.total_seconds() // 60), g, c, u]
        return slot + timedelta(minutes=sum(offsets[1 : step + 1]))

    def ran_through(self, start: datetime, end: datetime) -> bool:
        return any(a <= start and end <= b for a, b in self.running)


async def plan_row(conn: asyncpg.Connection, world: World) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT slot_at, step, due_at, paused_until, window_min FROM checkin_plans WHERE recipient_id = $1",
        world.recipient_id,
    )
    world.windows.setdefault(row["slot_at"], timedelta(minutes=row["window_min"]))
    return row


async def sweep_once(pool: asyncpg.Pool, at: datetime) -> list[int]:
    async with pool.acquire() as conn, conn.transaction():
        counts = await ladder.sweep(conn, notifier=NOTIFIER, now=at)
    return [int(k.removeprefix("step_")) for k in counts if k.startswith("step_")]


async def step_taken_moves(pool: asyncpg.Pool, world: World, at: datetime, *, racing: bool = False) -> None:
    """One sweep (or two racing), with invariant 3 for what it did to the slot."""
    async with pool.acquire() as conn:
        before = await plan_row(conn, world)
    if racing:
        await asyncio.gather(sweep_once(pool, at), sweep_once(pool, at))
    else:
        await sweep_once(pool, at)
    async with pool.acquire() as conn:
        after = await plan_row(conn, world)
        urgent = await conn.fetchval(
            "SELECT count(*) FROM care_steps WHERE recipient_id = $1 AND slot_at = $2 AND step = 5",
            world.recipient_id,
            before["slot_at"],
        )
    if after["slot_at"] != before["slot_at"]:
        # 3: a sweep moves the slot only by taking its urgent step, and then to the next planned time.
        assert urgent == 1, f"a sweep at {at} moved the slot without the urgent step"
        assert after["slot_at"] == next_planned(world.times, world.days, max(at, before["slot_at"]))


async def run_worker(pool: asyncpg.Pool, world: World, minutes: int, *, late: int = 0) -> None:
    """The worker sweeping every minute from now for ``minutes``: swept at each due time (``late`` minutes after)."""
    until = world.now + timedelta(minutes=minutes)
    world.running.append((world.now, until))
    while True:
        async with pool.acquire() as conn:
            due = (await plan_row(conn, world))["due_at"]
        at = max(due + timedelta(minutes=late), world.now)
        if at > until:
            break
        await step_taken_moves(pool, world, at)
        world.now = at
    world.now = until


async def sign_of_life(pool: asyncpg.Pool, world: World, kind: str, n: int) -> None:
    """A sign of life now, with invariants 3 and 4 for the slot it answers, if any."""
    at = world.now
    async with pool.acquire() as conn:
        before = await plan_row(conn, world)
        paused = before["paused_until"] is not None and before["paused_until"] > at
        answers = not paused and (before["step"] > 0 or at >= before["slot_at"] - world.window)
        if kind.startswith("sms"):
            body = {"sms_checkin": "괜찮아요", "sms_text": "오늘 병원 다녀왔어요", "sms_help": "도와주세요"}[kind]
            sms = InboundSms(message_sid=f"SMm{n}", phone="+821012340000", to=None, body=body, received_at=at)
            async with conn.transaction():
                await handle_sms(conn, sms, NOTIFIER)
        elif kind == "help_app":
            await service.ask_for_help(conn, notifier=NOTIFIER, recipient_id=world.recipient_id, channel="app", at=at)
        else:
            channel, what = ("app", "checkin") if kind == "app" else ("sensor", "signal")
            await service.check_in(
                conn,
                notifier=NOTIFIER,
                recipient_id=world.recipient_id,
                channel=channel,
                kind=what,
                at=at,
            )
        after = await plan_row(conn, world)
    slot = before["slot_at"]
    if answers:
        world.answered[slot] = at
        assert after["slot_at"] == next_planned(world.times, world.days, max(at, slot)), f"{kind} at {at}"
    else:
        assert after["slot_at"] == slot, f"{kind} at {at} moved a slot it did not answer"


async def check(pool: asyncpg.Pool, world: World) -> None:
    """Invariants 1, 2, 4 and 5 over everything so far."""
    async with pool.acquire() as conn:
        steps = await conn.fetch(
            "SELECT slot_at, step, taken_at FROM care_steps WHERE recipient_id = $1 ORDER BY slot_at, step",
            world.recipient_id,
        )
        rows = await conn.fetch(
            "SELECT n.dedupe_key, o.template, o.state, o.created_at, o.recipient, o.channel FROM outbox o"
            " JOIN notices n ON n.id = o.notice_id WHERE n.dedupe_key LIKE 'care:%' ORDER BY o.id"
        )
    by_slot: dict[datetime, list[asyncpg.Record]] = {}
    for s in steps:
        by_slot.setdefault(s["slot_at"], []).append(s)
    for slot, taken in by_slot.items():
        # 1: once each, in order, never early, on time where the worker ran.
        assert [s["step"] for s in taken] == list(range(1, len(taken) + 1)), (
            f"slot {slot}: {[s['step'] for s in taken]}"
        )
        assert all(a["taken_at"] <= b["taken_at"] for a, b in itertools.pairwise(taken))
        for s in taken:
            due = world.due(slot, s["step"])
            assert s["taken_at"] >= due, f"slot {slot} step {s['step']} taken before it was due"
            if world.ran_through(due, due + ON_TIME):
                assert s["taken_at"] - due <= ON_TIME, f"slot {slot} step {s['step']} taken late by a running worker"
        # 4: nothing after the answer.
        answer = world.answered.get(slot)
        if answer is not None:
            assert all(s["taken_at"] <= answer for s in taken), f"slot {slot}: a step after its answer at {answer}"
    # 2: every slot whose urgent step is due, with the worker running since, was answered, set aside or climbed
    # all five steps.
    for slot, taken in by_slot.items():
        if slot in world.answered or slot in world.set_aside:
            continue
        if world.ran_through(world.due(slot, 5), world.due(slot, 5) + ON_TIME):
            assert len(taken) == 5, f"slot {slot} was neither answered nor escalated to the end"
    for r in rows:
        step_of = STEP_KEY.fullmatch(r["dedupe_key"])
        if step_of is not None:
            answer = world.answered.get(datetime.fromisoformat(step_of[1]))
            if answer is not None:
                # 4: what the slot's steps still had to send was cancelled, and nothing was written after.
                assert r["created_at"] <= answer, f"{r['dedupe_key']} written after the answer"
                assert r["state"] == "cancelled", f"{r['dedupe_key']} still {r['state']} after the answer"
        if r["template"] in PERSON_TEMPLATES and world.quiet is not None:
            # 5: the person is never asked in their quiet hours.
            assert not in_quiet_hours(r["created_at"], *world.quiet), f"{r['template']} in quiet hours"
    check_ways(world, steps, rows)


def check_ways(world: World, steps: list[asyncpg.Record], rows: list[asyncpg.Record]) -> None:
    """Invariant 6: every delivery of a step is one the plan's ways make, and each guardian step made them all."""
    made: dict[tuple[datetime, int], set[tuple[str, str]]] = {}
    for r in rows:
        step_of = STEP_KEY.fullmatch(r["dedupe_key"])
        if step_of is None:
            continue
        step, to_guardian, call = int(step_of[2]), step_of[3] is not None, step_of[4] is not None
        where = f"{r['dedupe_key']} ({r['channel']}, ways {world.ways})"
        if to_guardian:
            assert step in (3, 5), where
            assert r["channel"] == ("voice" if call else "sms"), where
            assert world.calls_guardian(step) if call else world.texts_guardian(step), where
        else:
            assert step in (1, 2), where
            assert (r["channel"] == "voice") == world.calls_person(step), where
        made.setdefault((datetime.fromisoformat(step_of[1]), step), set()).add((r["channel"], r["recipient"]))
    for s in steps:
        if s["step"] not in (3, 5):
            continue
        told = made.get((s["slot_at"], s["step"]), set())
        expected = {("voice", GUARDIAN)} if world.calls_guardian(s["step"]) else set()
        expected |= {("sms", GUARDIAN)} if world.texts_guardian(s["step"]) else set()
        assert told == expected, f"step {s['step']} of {s['slot_at']} told {told}, ways {world.ways}"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(plan=plans(), program=st.lists(operation, min_size=3, max_size=20))
async def test_the_ladder_keeps_its_invariants_over_random_days(pool, plan, program) -> None:
    await run_program(pool, plan, program)


ONE_DAILY = {
    "times": ["09:00"],
    "days": [1, 2, 3, 4, 5, 6, 7],
    "window": 60,
    "quiet": None,
    "delays": (30, 30, 60),
    "contact_by": "sms",
    "steps": {},
}


async def test_an_answer_mid_ladder_quiets_it_and_the_next_day_is_asked_again(pool) -> None:
    # 00:10 → 10:30: the reminder at 09:00, asked again at 10:00, the guardian at 10:30; a text at 10:31 answers.
    world = await run_program(pool, ONE_DAILY, [("run", 620), ("signal", "sms_checkin")])
    async with pool.acquire() as conn:
        states = await conn.fetch(
            "SELECT o.template, o.state FROM outbox o JOIN notices n ON n.id = o.notice_id"
            " WHERE n.dedupe_key ~ '^care:[0-9]+:2026-11-23T00:00:00\\+00:00:[1-5]' ORDER BY o.id"
        )
    assert [(r["template"], r["state"]) for r in states] == [
        ("care.reminder", "cancelled"),
        ("care.reminder_again", "cancelled"),
        ("care.guardian_alert", "cancelled"),
    ]
    assert datetime(2026, 11, 24, 9, 0, tzinfo=SEOUL) not in world.answered  # each later day climbed on its own


async def test_a_help_request_outside_the_window_moves_nothing(pool) -> None:
    # Help at 03:30, by SMS and by the app, long before the 09:00 window opens: the day's ladder climbs as planned.
    world = await run_program(pool, ONE_DAILY, [("run", 200), ("signal", "sms_help"), ("signal", "help_app")])
    assert not world.answered
    async with pool.acquire() as conn:
        steps = await conn.fetchval("SELECT count(*) FROM care_steps WHERE slot_at = '2026-11-23T00:00:00Z'")
    assert steps == 5


def ways_of(contact_by: str, steps: dict[str, str | None]) -> tuple[str, str, str, str]:
    """How steps 1, 2, 3 and 5 reach people: the plan's own way where it says one, else contact_by's."""
    default = BY_CONTACT.get(contact_by, ("message", "message", "message", "message"))
    names = ("first_ask", "ask_again", "guardian", "urgent")
    first, again, guardian, urgent = (steps.get(n) or d for n, d in zip(names, default, strict=True))
    return first, again, guardian, urgent


async def run_program(pool: asyncpg.Pool, plan: dict, program: list[tuple[str, object]]) -> World:
    async with pool.acquire() as conn:
        await conn.execute("TRUNCATE care_recipients, outbox, notices, sms_inbound CASCADE")
        quiet = QuietHours(start=plan["quiet"][0], end=plan["quiet"][1]) if plan["quiet"] else None
        g, c, u = plan["delays"]
        plan_in = PlanIn(
            times=plan["times"],
            days=plan["days"],
            window_minutes=plan["window"],
            quiet_hours=quiet,
            ladder=Ladder(
                guardian_after_minutes=g,
                case_after_minutes=c,
                urgent_after_minutes=u,
                steps=msgspec.convert(plan["steps"], LadderSteps),
            ),
        )
        data = RecipientCreate(
            name="김순자",
            phone="010-1234-0000",
            district="11110",
            address="서울 종로구 세종대로 1",
            contact_by=ContactBy(plan["contact_by"]),
            guardians=[GuardianIn(name="김민수", phone="010-9876-0000", relation="아들")],
            plan=plan_in,
        )
        recipient_id = (await service.enroll(conn, data=data, principal=WORKER, now=START)).id
    world = World(
        recipient_id=recipient_id,
        now=START,
        times=plan_in.local_times(),
        days=plan_in.days,
        window=timedelta(minutes=plan["window"]),
        delays=plan["delays"],
        quiet=(time.fromisoformat(plan["quiet"][0]), time.fromisoformat(plan["quiet"][1])) if plan["quiet"] else None,
        ways=ways_of(plan["contact_by"], plan["steps"]),
    )
    async with pool.acquire() as conn:
        assert (await plan_row(conn, world))["slot_at"] == next_planned(world.times, world.days, START)
    for n, (op, arg) in enumerate(program):
        if op == "run":
            await run_worker(pool, world, arg, late=n % 2)
        elif op == "outage":
            world.now += timedelta(minutes=arg)
            # Back up: it sweeps every minute, one step a sweep, catching up what fell due meanwhile.
            for _ in range(6):
                await step_taken_moves(pool, world, world.now)
                world.now += timedelta(minutes=1)
        elif op == "race":
            world.now += timedelta(minutes=arg)
            await step_taken_moves(pool, world, world.now, racing=True)
        elif op == "signal":
            await sign_of_life(pool, world, arg, n)
        elif op == "pause":
            until = world.now + timedelta(hours=arg)
            async with pool.acquire() as conn:
                world.set_aside.add((await plan_row(conn, world))["slot_at"])
                await service.pause(
                    conn,
                    recipient_id=recipient_id,
                    data=PauseIn(until=until, reason="입원"),
                    principal=WORKER,
                    now=world.now,
                )
                slot = (await plan_row(conn, world))["slot_at"]
            assert slot == next_planned(world.times, world.days, until), "a pause sets the first time after it"
        elif op == "resume":
            async with pool.acquire() as conn:
                world.set_aside.add((await plan_row(conn, world))["slot_at"])
                await service.resume(conn, recipient_id=recipient_id, principal=WORKER, now=world.now)
                slot = (await plan_row(conn, world))["slot_at"]
            assert slot == next_planned(world.times, world.days, world.now)
        elif op == "replan":
            other = PlanIn(
                times=OTHER_PLANS[arg],
                window_minutes=60,
                ladder=Ladder(
                    **dict(
                        zip(
                            ("guardian_after_minutes", "case_after_minutes", "urgent_after_minutes"),
                            plan["delays"],
                            strict=True,
                        )
                    ),
                    steps=msgspec.convert(plan["steps"], LadderSteps),
                ),
            )
            async with pool.acquire() as conn:
                world.set_aside.add((await plan_row(conn, world))["slot_at"])
                await service.replace_plan(conn, recipient_id=recipient_id, plan=other, principal=WORKER, now=world.now)
                slot = (await plan_row(conn, world))["slot_at"]
            world.times, world.days, world.window, world.quiet = (
                other.local_times(),
                other.days,
                timedelta(minutes=60),
                None,
            )
            async with pool.acquire() as conn:
                paused, contact = await conn.fetchrow(
                    "SELECT paused_until, last_contact_at FROM checkin_plans WHERE recipient_id = $1", recipient_id
                )
            starts = max(world.now, paused) if paused is not None else world.now
            first = next_planned(world.times, world.days, starts)
            if contact is not None and (paused is None or contact >= paused) and contact >= first - world.window:
                first = next_planned(world.times, world.days, first)  # already answered: not asked again
            assert slot == first, "a new plan starts at its first time not yet answered"
        world.now += timedelta(minutes=1)
        await check(pool, world)
    # Two days of the worker running, so that every slot's ladder has its end in view.
    await run_worker(pool, world, 2 * 24 * 60)
    await check(pool, world)
    return world
