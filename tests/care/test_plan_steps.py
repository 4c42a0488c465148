"""A plan that says how each step of its ladder reaches someone: kept and read back, bad ways refused with the ways
allowed, and the ladder taking each step the way it says (or as ``contact_by`` says, where it says nothing)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from api.platform.auth.tokens import Principal, Role
from api.platform.jobs.runner import run_job
from api.platform.settings import Settings
from api.worker import JOBS
from care import service
from care.schemas import ContactBy, GuardianIn, Ladder, LadderSteps, PlanIn, RecipientCreate
from care.steps import AskBy, GuardianBy, UrgentBy
from tests.care.test_care_api import body, enrolled, worker
from tests.conftest import problem

__all__ = ["worker"]  # the fixture, used by name

SEOUL = ZoneInfo("Asia/Seoul")
STAFF = Principal(subject="staff:7", role=Role.social_worker, districts=("11110",))
PERSON, GUARDIAN, SECOND = "+821012340000", "+821098760000", "+821055550000"
STEP = re.compile(r"care:\d+:[0-9T:+-]+?:([1-5])(:|$)")  # ladder.step_key, and its copies to guardians


def kst(hhmm: str) -> datetime:
    return datetime(2026, 11, 24, int(hhmm[:2]), int(hhmm[3:]), tzinfo=SEOUL)


async def test_a_plan_s_steps_are_kept_read_back_and_replaced(client, worker):
    steps = {"first_ask": "message", "ask_again": "call", "guardian": "message+call", "urgent": "message"}
    person = await enrolled(client, worker, plan={"times": ["09:00"], "ladder": {"steps": steps}})
    assert person["plan"]["ladder"]["steps"] == steps
    assert person["plan"]["ladder"]["steps_in_effect"] == steps
    # Half a plan's steps: the rest follow contact_by (voice: called at both asks, the first guardian called too).
    replaced = await client.put(
        f"/v1/care/recipients/{person['id']}/plan",
        json={"times": ["09:00"], "ladder": {"steps": {"guardian": "call"}}},
        headers=worker,
    )
    assert replaced.status_code == 200, replaced.text
    ladder = replaced.json()["plan"]["ladder"]
    assert ladder["steps"] == {"first_ask": None, "ask_again": None, "guardian": "call", "urgent": None}
    assert ladder["steps_in_effect"] == {
        "first_ask": "message",
        "ask_again": "message",
        "guardian": "call",
        "urgent": "message",
    }


@pytest.mark.parametrize(
    ("steps", "field", "allowed"),
    [
        ({"first_ask": "fax"}, "plan.ladder.steps.first_ask", ["message", "call"]),
        ({"ask_again": "message+call"}, "plan.ladder.steps.ask_again", ["message", "call"]),
        ({"guardian": "visit"}, "plan.ladder.steps.guardian", ["message", "call", "message+call"]),
        ({"urgent": "call"}, "plan.ladder.steps.urgent", ["message", "message+call"]),
    ],
)
async def test_a_way_a_step_cannot_take_is_refused_with_the_ways_it_can(client, worker, steps, field, allowed):
    response = await client.post(
        "/v1/care/recipients", json=body(plan={"times": ["09:00"], "ladder": {"steps": steps}}), headers=worker
    )
    assert response.status_code == 400
    [error] = problem(response)["errors"]
    assert error["field"] == field
    assert error["allowed"] == allowed


async def test_a_step_the_ladder_does_not_have_is_refused(client, worker):
    response = await client.post(
        "/v1/care/recipients",
        json=body(plan={"times": ["09:00"], "ladder": {"steps": {"case": "call"}}}),
        headers=worker,
    )
    assert response.status_code == 400
    assert "case" in problem(response)["detail"]


async def enroll(pool: asyncpg.Pool, *, contact_by: ContactBy, steps: LadderSteps) -> int:
    data = RecipientCreate(
        name="김순자",
        phone="010-1234-0000",
        district="11110",
        address="서울 종로구 세종대로 1",
        contact_by=contact_by,
        guardians=[
            GuardianIn(name="김민수", phone="010-9876-0000", relation="아들"),
            GuardianIn(name="김민지", phone="010-5555-0000", relation="딸"),
        ],
        plan=PlanIn(times=["09:00"], window_minutes=60, ladder=Ladder(steps=steps)),
    )
    async with pool.acquire() as conn:
        return (await service.enroll(conn, data=data, principal=STAFF, now=kst("07:00"))).id


async def climb(pool: asyncpg.Pool, settings: Settings) -> dict[int, list[tuple[str, str, str]]]:
    """The whole ladder of 09:00, unanswered; each step's deliveries as (channel, to, template)."""
    for hhmm in ("09:00", "10:00", "10:30", "11:00", "13:00"):
        await run_job(pool, JOBS["care.sweep"], now=kst(hhmm), settings=settings)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT n.dedupe_key, o.channel, o.recipient, o.template FROM outbox o"
            " JOIN notices n ON n.id = o.notice_id WHERE n.dedupe_key LIKE 'care:%' ORDER BY o.id"
        )
    by_step: dict[int, list[tuple[str, str, str]]] = {}
    for r in rows:
        step = int(STEP.match(r["dedupe_key"])[1])  # type: ignore[index]
        by_step.setdefault(step, []).append((r["channel"], r["recipient"], r["template"]))
    return by_step


async def test_a_reminder_by_sms_then_a_call_then_the_guardian_called(pool, settings):
    await enroll(
        pool,
        contact_by=ContactBy.sms,
        steps=LadderSteps(ask_again=AskBy.call, guardian=GuardianBy.call, urgent=UrgentBy.message_call),
    )
    steps = await climb(pool, settings)
    assert steps[1] == [("sms", PERSON, "care.reminder")]
    assert steps[2] == [("voice", PERSON, "care.voice_checkin")]
    assert steps[3] == [("voice", GUARDIAN, "care.guardian_alert")]  # called, not texted
    assert sorted(steps[5]) == sorted(
        [
            ("sms", GUARDIAN, "care.guardian_urgent"),
            ("sms", SECOND, "care.guardian_urgent"),
            ("voice", GUARDIAN, "care.guardian_urgent"),
        ]
    )


async def test_a_plan_that_says_no_steps_follows_contact_by_as_before(pool, settings):
    await enroll(pool, contact_by=ContactBy.sms_voice, steps=LadderSteps())
    steps = await climb(pool, settings)
    assert steps[1] == [("sms", PERSON, "care.reminder")]
    assert steps[2] == [("voice", PERSON, "care.voice_checkin")]
    assert steps[3] == [("sms", GUARDIAN, "care.guardian_alert")]
    assert ("voice", GUARDIAN, "care.guardian_urgent") in steps[5]


async def test_a_plan_s_own_steps_override_contact_by(pool, settings):
    # Called for check-ins by contact_by, but this plan texts at both asks and never calls a guardian.
    await enroll(
        pool,
        contact_by=ContactBy.voice,
        steps=LadderSteps(first_ask=AskBy.message, ask_again=AskBy.message, urgent=UrgentBy.message),
    )
    steps = await climb(pool, settings)
    assert [s[0] for n in (1, 2, 3, 5) for s in steps[n]] == ["sms", "sms", "sms", "sms", "sms"]
