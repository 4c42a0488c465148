"""'Are you safe?': silence during a severe warning climbs the person's ladder into a case tagged with the warning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from api.alerts.cap import parse_cap
from api.alerts.service import ingest
from api.platform.auth.tokens import Principal, Role
from api.platform.jobs.runner import run_job
from api.platform.settings import Settings
from api.worker import JOBS
from care import service as care
from care.inbound import handle_sms
from care.schemas import GuardianIn, PlanIn, RecipientCreate
from notifications.inbound import InboundSms
from notifications.service import Notifier
from tests.alerts import cap_xml
from tests.conftest import bearer, sign_in

T0 = datetime(2026, 7, 14, 3, 0, tzinfo=UTC)
WORKER = Principal(subject="staff:1", role=Role.social_worker, districts=("11680",))
PERSON, SON, DAUGHTER = "+821044440001", "+821044440002", "+821044440003"


@pytest.fixture
def notifier(settings: Settings) -> Notifier:
    return Notifier(settings.notify)


async def enroll(pool: asyncpg.Pool, *, district: str = "11680") -> int:
    data = RecipientCreate(
        name="최말순",
        phone=PERSON,
        district=district,
        address="서울 강남구 일원로 1",
        guardians=[
            GuardianIn(name="최민호", phone=SON, relation="아들"),
            GuardianIn(name="최민지", phone=DAUGHTER, relation="딸"),
        ],
        # Check-ins at 21:00 Seoul: nothing of the regular ladder happens during the warning.
        plan=PlanIn(times=["21:00"]),
    )
    async with pool.acquire() as conn:
        return (await care.enroll(conn, data=data, principal=WORKER, now=T0 - timedelta(days=1))).id


async def warn(pool: asyncpg.Pool, notifier: Notifier, *, severity: str = "Severe") -> int:
    async with pool.acquire() as conn:
        result = await ingest(
            conn, parse_cap(cap_xml("rain", sent=T0, severity=severity)), source="post", notifier=notifier, now=T0
        )
    return result.alert_id


async def sweep(pool: asyncpg.Pool, settings: Settings, minutes: int) -> dict:
    result = await run_job(pool, JOBS["care.safety-sweep"], now=T0 + timedelta(minutes=minutes), settings=settings)
    return result.result or {}


async def sent(pool: asyncpg.Pool) -> list[tuple[str, str]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT recipient, template FROM outbox WHERE channel = 'sms' ORDER BY id")
    return [(r["recipient"], r["template"]) for r in rows]


async def safety_cases(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch("SELECT * FROM cases WHERE reason = 'safety_check' ORDER BY id")


async def test_silence_climbs_to_an_urgent_case_and_a_reply_clears_it(pool, settings, notifier) -> None:
    recipient_id = await enroll(pool)
    alert_id = await warn(pool, notifier)
    assert (PERSON, "alerts.are_you_safe") in await sent(pool)

    assert await sweep(pool, settings, 14) == {}
    await sweep(pool, settings, 15)
    assert (await sent(pool))[-1] == (PERSON, "safety.ask_again")
    await sweep(pool, settings, 45)
    assert (await sent(pool))[-1] == (SON, "safety.guardian_silent")
    assert DAUGHTER not in {r for r, _ in await sent(pool)}
    assert await safety_cases(pool) == []

    await sweep(pool, settings, 75)
    [case] = await safety_cases(pool)
    assert (case["recipient_id"], case["alert_id"], case["priority"], case["district"]) == (
        recipient_id,
        alert_id,
        "high",
        "11680",
    )

    await sweep(pool, settings, 195)
    [case] = await safety_cases(pool)
    assert case["priority"] == "urgent"
    assert {(SON, "safety.guardian_urgent"), (DAUGHTER, "safety.guardian_urgent")} <= set(await sent(pool))
    assert await sweep(pool, settings, 600) == {}

    reply = InboundSms(message_sid="SM1", phone=PERSON, to=None, body="괜찮아요", received_at=T0 + timedelta(hours=4))
    async with pool.acquire() as conn, conn.transaction():
        await handle_sms(conn, reply, notifier)

    async with pool.acquire() as conn:
        check = await conn.fetchrow("SELECT safe_via, safe_at, due_at FROM safety_checks")
        notes = await conn.fetch("SELECT body FROM case_notes WHERE case_id = $1", case["id"])
    assert check["safe_via"] == "sms" and check["due_at"] is None
    [case] = await safety_cases(pool)
    assert case["all_clear_at"] is not None and case["state"] == "open"
    assert any("안전 확인됨" in n["body"] for n in notes)
    # Both guardians heard of the urgent step, so both hear that she is safe.
    assert {(SON, "safety.guardian_safe"), (DAUGHTER, "safety.guardian_safe")} <= set(await sent(pool))


async def test_an_early_reply_stops_the_ladder(pool, settings, notifier) -> None:
    await enroll(pool)
    await warn(pool, notifier)
    reply = InboundSms(message_sid="SM2", phone=PERSON, to=None, body="1", received_at=T0 + timedelta(minutes=5))
    async with pool.acquire() as conn, conn.transaction():
        await handle_sms(conn, reply, notifier)

    for minutes in (15, 45, 75, 195):
        assert await sweep(pool, settings, minutes) == {}
    assert await safety_cases(pool) == []
    assert [t for _, t in await sent(pool) if t.startswith("safety.")] == []


async def test_a_help_request_takes_over_from_the_safety_ladder(pool, settings, notifier) -> None:
    recipient_id = await enroll(pool)
    await warn(pool, notifier)
    async with pool.acquire() as conn:
        await care.ask_for_help(
            conn, notifier=notifier, recipient_id=recipient_id, channel="sms", at=T0 + timedelta(minutes=3)
        )
    assert await sweep(pool, settings, 15) == {}
    assert await safety_cases(pool) == []


async def test_a_lift_before_the_case_stops_the_questions(pool, settings, notifier) -> None:
    await enroll(pool)
    await warn(pool, notifier)
    await sweep(pool, settings, 15)
    lift = cap_xml(
        "rain-lift",
        sent=T0 + timedelta(minutes=20),
        msg_type="Cancel",
        references=(("safety@seoul.go.kr", "rain", T0),),
    )
    async with pool.acquire() as conn:
        await ingest(conn, parse_cap(lift), source="post", notifier=notifier, now=T0 + timedelta(minutes=20))
    assert await sweep(pool, settings, 45) == {}
    assert (PERSON, "alerts.all_clear") in await sent(pool)


async def test_i_am_safe_from_the_app_answers_the_check(client, app, token_for) -> None:
    """Through the API, as the app does it: the person in care signs in and taps "I'm safe"."""
    enrol = await client.post(
        "/v1/care/recipients",
        json={
            "name": "정복순",
            "phone": "010-5555-0001",
            "district": "11680",
            "address": "서울 강남구 학동로 426",
            "home": {"lat": 37.5172, "lon": 127.0473},
            "plan": {"times": ["21:00"]},
        },
        headers=bearer(token_for(Role.social_worker, districts=("11680",))),
    )
    assert enrol.status_code == 201, enrol.text
    operator = {**bearer(token_for(Role.operator)), "Content-Type": "application/cap+xml"}
    alert_id = (await client.post("/v1/alerts/cap", content=cap_xml("app-safe"), headers=operator)).json()["alert_id"]

    token = await sign_in(client, "010-5555-0001")
    response = await client.post(f"/v1/alerts/{alert_id}/safe", headers=bearer(token))

    assert response.status_code == 200 and response.json()["was_asked"] is True
    conn = await asyncpg.connect(app.state.settings.db.url)
    try:
        check = await conn.fetchrow("SELECT safe_via FROM safety_checks WHERE alert_id = $1", alert_id)
        checkin = await conn.fetchrow("SELECT channel, kind FROM checkins ORDER BY id DESC LIMIT 1")
    finally:
        await conn.close()
    assert check["safe_via"] == "app"
    assert (checkin["channel"], checkin["kind"]) == ("app", "checkin")


@pytest.mark.parametrize("severity", ["Moderate", "Minor"])
async def test_no_safety_check_below_severe(pool, settings, notifier, severity: str) -> None:
    await enroll(pool)
    await warn(pool, notifier, severity=severity)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM safety_checks") == 0
