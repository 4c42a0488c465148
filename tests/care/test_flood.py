"""Flood-risk households and 동행파트너: asked when heavy rain or a flood alert covers their dong, their answers by
SMS and the app, and silence or a call for help told to the district's duty worker."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.platform.jobs.runner import run_job
from api.platform.settings import Settings
from api.sensors.alerting import trip_alert
from api.worker import JOBS
from care.flood.dispatch import concerns
from notifications.service import Notifier
from tests.care.flood_helpers import (
    DAECHI,
    DUTY_PHONE,
    SAMSEONG,
    SUSONG,
    T0,
    add_duty_worker,
    add_household,
    checks,
    sms,
    text,
    warn,
)

HOME, PARTNER_A, PARTNER_B = "+821020000001", "+821030000001", "+821030000002"


@pytest.fixture
def notifier(settings: Settings) -> Notifier:
    return Notifier(settings.notify)


@pytest.fixture
def handlers(app):  # type: ignore[no-untyped-def]
    """The app's own inbound handlers, in its order: what the Twilio and Korean SMS webhooks call."""
    return app.state.inbound_handlers


async def escalate(pool, settings, minutes: int) -> dict:  # type: ignore[no-untyped-def]
    result = await run_job(pool, JOBS["care.flood-escalation"], now=T0 + timedelta(minutes=minutes), settings=settings)
    return result.result or {}


async def test_a_heavy_rain_warning_asks_the_household_and_sends_each_partner(pool, notifier) -> None:
    await add_household(pool)
    await add_household(pool, at=SUSONG, phones=["010-2000-0009"], partners=["010-3000-0009"], name="종로 가구")

    told = await warn(pool, notifier)

    assert told.flood_checks == 1
    assert (HOME, "flood.household_ask") in await sms(pool)
    assert {r for r, _ in await sms(pool, template="flood.partner_ask")} == {PARTNER_A, PARTNER_B}
    everyone = {r for r, _ in await sms(pool)}
    assert not {"+821020000009", "+821030000009"} & everyone  # 종로구 is outside the warning
    [check] = await checks(pool)
    assert (check["dong"], check["district"]) == ("11680106", "11680")


async def test_the_partner_message_names_the_home_and_the_answers(pool, notifier) -> None:
    household_id = await add_household(pool)
    await warn(pool, notifier)
    async with pool.acquire() as conn:
        body = await conn.fetchval("SELECT body FROM outbox WHERE recipient = $1", PARTNER_A)
    assert "박영자님 댁" in body and "도착 / 대피완료 / 도움필요" in body and f"가구번호 {household_id}" in body


async def test_an_advisory_asks_too_but_a_minor_statement_does_not(pool, notifier) -> None:
    await add_household(pool)
    assert (await warn(pool, notifier, "rain-minor", event="호우 정보", severity="Minor")).flood_checks == 0
    assert (await warn(pool, notifier, "rain-adv", event="호우주의보", severity="Moderate")).flood_checks == 1


@pytest.mark.parametrize(
    ("hazard", "severity", "msg_type", "asks"),
    [
        ("heavy_rain", "Severe", "Alert", True),
        ("heavy_rain", "Moderate", "Update", True),
        ("flood", "Severe", "Alert", True),
        ("typhoon", "Extreme", "Alert", True),
        ("heat_wave", "Severe", "Alert", False),
        ("heavy_rain", "Minor", "Alert", False),
        ("heavy_rain", "Severe", "Cancel", False),
    ],
)
def test_which_alerts_start_flood_checks(hazard: str, severity: str, msg_type: str, asks: bool) -> None:
    assert concerns({"hazard": hazard, "severity": severity, "msg_type": msg_type}) is asks


async def test_a_flood_sensor_alert_asks_the_homes_in_its_dong_only(pool, notifier) -> None:
    await add_household(pool, at=DAECHI)
    await add_household(pool, at=SAMSEONG, phones=["010-2000-0005"], partners=["010-3000-0005"], name="삼성 가구")
    rule = {
        "sensor_id": "road-11680106-01",
        "name": "water_level",
        "kind": "road_water",
        "dong": "11680106",
        "radius_m": None,
        "lat": DAECHI[0],
        "lon": DAECHI[1],
        "window_s": 0,
        "sensor_name": "대치동 도로 수위계",
    }
    async with pool.acquire() as conn:
        from api.alerts.service import ingest

        told = await ingest(conn, trip_alert(rule, at=T0, measure=18), source="sensor", notifier=notifier, now=T0)

    assert told.flood_checks == 1
    assert (HOME, "flood.household_ask") in await sms(pool)
    assert "+821020000005" not in {r for r, _ in await sms(pool)}


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ("도착", "arrived"),
        ("도착했어요!!", "arrived"),
        ("대피완료", "evacuated"),
        ("대피 완료 했습니다", "evacuated"),
        ("도움필요", "need_help"),
        ("도움이 필요해요", "need_help"),
        ("ARRIVED", "arrived"),
        ("도착 못 했어요", "need_help"),  # a no is never a yes
    ],
)
async def test_a_partners_sms_reply_is_recorded_and_confirmed(pool, notifier, handlers, body, answer) -> None:
    await add_household(pool)
    await warn(pool, notifier)

    handled = await text(pool, notifier, handlers, phone=PARTNER_A, body=body, at=T0 + timedelta(minutes=8))

    assert handled == "flood.partner"
    async with pool.acquire() as conn:
        ask = await conn.fetchrow("SELECT answer, answered_via FROM flood_partner_asks WHERE phone = $1", PARTNER_A)
        log = await conn.fetchval("SELECT body FROM flood_answers")
    assert (ask["answer"], ask["answered_via"]) == (answer, "sms")
    assert log == body
    assert (PARTNER_A, "flood.recorded") in await sms(pool)


async def test_a_text_that_is_no_answer_goes_on_to_the_next_handler(pool, notifier, handlers) -> None:
    await add_household(pool)
    await warn(pool, notifier)
    handled = await text(pool, notifier, handlers, phone=PARTNER_A, body="지금 가는 중이에요", at=T0)
    assert handled == "chat"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM flood_answers") == 0


async def test_need_help_reaches_the_duty_worker_at_once(pool, notifier, handlers, settings) -> None:
    await add_duty_worker(pool)
    await add_household(pool)
    await warn(pool, notifier)

    await text(pool, notifier, handlers, phone=PARTNER_B, body="도움 필요합니다", at=T0 + timedelta(minutes=5))

    assert (DUTY_PHONE, "flood.duty_help") in await sms(pool)
    async with pool.acquire() as conn:
        body = await conn.fetchval("SELECT body FROM outbox WHERE template = 'flood.duty_help' AND channel = 'sms'")
    assert "통장" in body and "+821030000002" in body and "대치동" in body
    # Told once: neither the job nor a second call for help tells it again; silence is not told either.
    await text(pool, notifier, handlers, phone=PARTNER_A, body="도움필요", at=T0 + timedelta(minutes=6))
    await escalate(pool, settings, 40)
    assert [r for r, t in await sms(pool) if t.startswith("flood.duty")] == [DUTY_PHONE]


async def test_silence_reaches_the_duty_worker_once(pool, notifier, settings) -> None:
    await add_duty_worker(pool)
    await add_household(pool)
    await warn(pool, notifier)

    assert await escalate(pool, settings, 29) == {}
    assert await escalate(pool, settings, 30) == {"silence_told": 1}
    assert await escalate(pool, settings, 31) == {}
    assert await sms(pool, template="flood.duty_silent") == [(DUTY_PHONE, "flood.duty_silent")]


async def test_an_answer_from_the_household_or_a_partner_keeps_silence_from_escalating(
    pool, notifier, handlers, settings
) -> None:
    await add_duty_worker(pool)
    await add_household(pool)
    await add_household(pool, phones=["010-2000-0002"], partners=["010-3000-0003"], name="둘째 가구")
    await warn(pool, notifier)
    await text(pool, notifier, handlers, phone=HOME, body="괜찮아요", at=T0 + timedelta(minutes=3))
    await text(pool, notifier, handlers, phone="+821030000003", body="도착", at=T0 + timedelta(minutes=4))

    assert await escalate(pool, settings, 45) == {}
    first = (await checks(pool))[0]
    assert (first["answer"], first["answered_via"]) == ("safe", "sms")


async def test_with_nobody_on_duty_the_silence_is_told_once_somebody_is(pool, notifier, settings) -> None:
    await add_household(pool)
    await warn(pool, notifier)
    assert await escalate(pool, settings, 30) == {}
    await add_duty_worker(pool)
    assert await escalate(pool, settings, 31) == {"silence_told": 1}


async def test_withdrawn_consent_gets_nothing(client, pool, notifier, settings, token_for) -> None:
    from api.platform.auth.tokens import Role
    from tests.conftest import bearer

    await add_duty_worker(pool)
    asked = await add_household(pool)
    quiet = await add_household(pool, phones=["010-2000-0007"], partners=["010-3000-0007"], name="철회 가구")
    operator = bearer(token_for(Role.operator))
    response = await client.post(
        f"/v1/flood/households/{quiet}/withdraw", json={"reason": "이사했습니다"}, headers=operator
    )
    assert response.status_code == 200 and response.json()["withdrawn_at"] is not None

    await warn(pool, notifier)
    assert not {"+821020000007", "+821030000007"} & {r for r, _ in await sms(pool)}

    # Withdrawn after being asked: what was not yet sent is cancelled, and silence is told to nobody.
    response = await client.post(
        f"/v1/flood/households/{asked}/withdraw", json={"reason": "본인 요청"}, headers=operator
    )
    assert response.status_code == 200
    assert not {HOME, PARTNER_A, PARTNER_B} & {r for r, _ in await sms(pool)}
    assert await escalate(pool, settings, 60) == {}
    again = await client.post(f"/v1/flood/households/{asked}/withdraw", json={"reason": "x"}, headers=operator)
    assert again.status_code == 409


async def test_a_second_alert_for_the_dong_while_one_is_open_does_not_ask_twice(pool, notifier) -> None:
    await add_household(pool)
    first = await warn(pool, notifier, "rain-adv", event="호우주의보", severity="Moderate")
    second = await warn(pool, notifier, "rain-warn", at=T0 + timedelta(minutes=20))

    assert (first.flood_checks, second.flood_checks) == (1, 0)
    assert await sms(pool, template="flood.household_ask") == [(HOME, "flood.household_ask")]
    assert len(await sms(pool, template="flood.partner_ask")) == 2
    [check] = await checks(pool)
    assert (check["alert_id"], check["latest_alert_id"]) == (first.alert_id, second.alert_id)


async def test_a_lift_closes_the_check_and_the_next_storm_asks_again(pool, notifier, settings) -> None:
    await add_duty_worker(pool)
    await add_household(pool)
    await warn(pool, notifier)
    lift_at = T0 + timedelta(minutes=10)
    await warn(
        pool, notifier, "rain-lift", at=lift_at, msg_type="Cancel", references=(("safety@seoul.go.kr", "rain-1", T0),)
    )
    [check] = await checks(pool)
    assert check["closed_why"] == "lifted"
    assert await escalate(pool, settings, 45) == {}

    assert (await warn(pool, notifier, "rain-2", at=T0 + timedelta(hours=3))).flood_checks == 1


async def test_a_lift_at_the_end_of_updates_closes_the_checks_of_the_first_warning_too(pool, notifier) -> None:
    """A warning over two districts, an Update that narrows it to one, then the lift of that Update: the home the
    Update no longer covers still has its check from the first warning, and the lift closes it as well (the lift
    ends every alert the chain replaced, not only the last)."""
    await add_household(pool)  # 대치동, 강남구
    await add_household(pool, at=SUSONG, phones=["010-2000-0009"], partners=["010-3000-0009"], name="수송동 가구")
    first = await warn(pool, notifier, geocodes=("11680", "11110"))
    assert first.flood_checks == 2
    narrowed_at = T0 + timedelta(minutes=20)
    await warn(
        pool, notifier, "rain-1-update", at=narrowed_at, msg_type="Update", geocodes=("11680",),
        references=(("safety@seoul.go.kr", "rain-1", T0),),
    )  # fmt: skip
    await warn(
        pool, notifier, "rain-lift", at=T0 + timedelta(minutes=40), msg_type="Cancel",
        references=(("safety@seoul.go.kr", "rain-1-update", narrowed_at),),
    )  # fmt: skip

    assert [c["closed_why"] for c in await checks(pool)] == ["lifted", "lifted"]


async def test_a_partner_of_two_homes_is_asked_which(pool, notifier, handlers) -> None:
    one = await add_household(pool, partners=["010-3000-0001"])
    two = await add_household(pool, phones=["010-2000-0002"], partners=["010-3000-0001"], name="둘째 가구")
    await warn(pool, notifier)

    assert await text(pool, notifier, handlers, phone=PARTNER_A, body="도착", at=T0 + timedelta(minutes=2)) == (
        "flood.which_home"
    )
    assert await text(
        pool, notifier, handlers, phone=PARTNER_A, body=f"대피완료 {two}", at=T0 + timedelta(minutes=3)
    ) == ("flood.partner")
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT c.household_id, a.answer FROM flood_partner_asks a JOIN flood_checks c ON c.id = a.check_id"
        )
    assert {r["household_id"]: r["answer"] for r in rows} == {one: None, two: "evacuated"}


async def test_neighbours_who_are_each_others_partners_are_read_by_what_they_say(pool, notifier, handlers) -> None:
    """A's phone is B's partner and B's is A's: "안전" is about A's own home, "도착" about B's, "대피완료" is asked."""
    a = await add_household(pool, phones=["010-2000-0001"], partners=["010-2000-0002"], name="A")
    b = await add_household(pool, phones=["010-2000-0002"], partners=["010-2000-0001"], name="B")
    await warn(pool, notifier)
    at = T0 + timedelta(minutes=4)

    assert await text(pool, notifier, handlers, phone=HOME, body="안전해요", at=at, sid="S1") == "flood.household"
    assert await text(pool, notifier, handlers, phone=HOME, body="도착", at=at, sid="S2") == "flood.partner"
    assert await text(pool, notifier, handlers, phone=HOME, body="대피완료", at=at, sid="S3") == "flood.which_home"
    assert await text(pool, notifier, handlers, phone=HOME, body=f"대피완료 {b}", at=at, sid="S4") == "flood.partner"
    async with pool.acquire() as conn:
        own = await conn.fetchval("SELECT answer FROM flood_checks WHERE household_id = $1", a)
        asked = await conn.fetchval(
            "SELECT a.answer FROM flood_partner_asks a JOIN flood_checks c ON c.id = a.check_id"
            " WHERE c.household_id = $1",
            b,
        )
    assert (own, asked) == ("safe", "evacuated")
