"""A safety check by call after a severe warning, with the real Twilio SDK placing calls at the fake Twilio and the fake
playing the person against the real app's webhooks: asked by call where the plan calls, 1 is safe, 2 (or distress
spoken) is an urgent case, and a call not answered climbs the safety ladder as a text would."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
from litestar.testing import AsyncTestClient

from api.alerts.cap import parse_cap
from api.alerts.service import ingest
from api.platform.jobs.runner import run_job
from api.platform.settings import Settings
from api.worker import JOBS
from care.schemas import ContactBy
from fakes.twilio import FakeTwilio
from fakes.twilio_calls import Speech
from notifications.service import Notifier
from tests.alerts import cap_xml
from tests.notifications.voice_helpers import GUARDIAN, PERSON, dispatch, dispatcher, enroll, fetch, kst

__all__ = ["dispatcher"]  # the fixture, used by name

WARNED = kst(0, "14:00")  # far from the plan's 09:00 check-in: only the safety check asks
SAFETY_MENU = (
    "김순자님, 서울시 안전 확인 전화입니다. 서울 동남권 호우경보. 안전하시면 1번, 도움이 필요하시면 2번을 눌러 주세요."
)


async def warn(pool: asyncpg.Pool, settings: Settings) -> int:
    cap = parse_cap(cap_xml("rain-voice", sent=WARNED, geocodes=("11110",)))
    async with pool.acquire() as conn:
        return (await ingest(conn, cap, source="post", notifier=Notifier(settings.notify), now=WARNED)).alert_id or 0


async def safety_sweep(pool: asyncpg.Pool, settings: Settings, at: datetime) -> None:
    await run_job(pool, JOBS["care.safety-sweep"], now=at, settings=settings)


async def test_someone_called_for_check_ins_is_asked_by_call_and_1_is_safe(
    pool, settings, client: AsyncTestClient, dispatcher, fake_twilio: FakeTwilio
):
    send, clock = dispatcher
    await enroll(pool, contact_by=ContactBy.voice)
    alert_id = await warn(pool, settings)
    await dispatch(send, clock, WARNED)
    # The warning and its shelter by text; the question by call.
    [text] = [m["Body"] for m in fake_twilio.sent if m["To"] == PERSON]
    assert "안전하신가요" not in text and "하천변과 지하공간에 가지 마세요" in text
    [call] = fake_twilio.calls.to(PERSON)
    assert 'input="dtmf speech"' in call["Twiml"]
    played = await fake_twilio.calls.answer(call["sid"], "1", client=client)
    assert played["said"] == [SAFETY_MENU, "안전하다고 기록했습니다. 고맙습니다. 안내에 따라 안전에 유의하세요."]
    [check] = await fetch(pool, "SELECT safe_via, safe_at FROM safety_checks WHERE alert_id = $1", alert_id)
    assert tuple(check) == ("voice", WARNED)
    # Answered: nobody is asked again or told.
    for minutes in (15, 45, 75):
        await safety_sweep(pool, settings, WARNED + timedelta(minutes=minutes))
    await dispatch(send, clock, WARNED + timedelta(minutes=75))
    assert len(fake_twilio.calls.to(PERSON)) == 1
    assert not [m for m in fake_twilio.sent if m["To"] == GUARDIAN]


async def test_a_text_first_then_a_call_whose_2_opens_an_urgent_case(
    pool, settings, client: AsyncTestClient, dispatcher, fake_twilio: FakeTwilio
):
    send, clock = dispatcher
    await enroll(pool, contact_by=ContactBy.sms_voice)
    await warn(pool, settings)
    await dispatch(send, clock, WARNED)
    assert not fake_twilio.calls.to(PERSON)
    [asked] = [m["Body"] for m in fake_twilio.sent if m["To"] == PERSON]
    assert "안전하신가요" in asked
    # No reply in 15 minutes: asked again, by call this time.
    again = WARNED + timedelta(minutes=15)
    await safety_sweep(pool, settings, again)
    await dispatch(send, clock, again)
    [call] = fake_twilio.calls.to(PERSON)
    played = await fake_twilio.calls.answer(call["sid"], "2", client=client)
    assert played["said"][-1].startswith("도움 요청으로 기록했습니다.")
    [case] = await fetch(pool, "SELECT reason, priority FROM cases")
    assert tuple(case) == ("help_request", "urgent")
    # The help case has it now: the safety ladder climbs no more.
    [check] = await fetch(pool, "SELECT safe_at, due_at FROM safety_checks")
    assert tuple(check) == (None, None)


async def test_distress_said_to_a_safety_call_is_a_call_for_help(
    pool, settings, client: AsyncTestClient, dispatcher, fake_twilio: FakeTwilio
):
    send, clock = dispatcher
    await enroll(pool, contact_by=ContactBy.voice)
    await warn(pool, settings)
    await dispatch(send, clock, WARNED)
    [call] = fake_twilio.calls.to(PERSON)
    await fake_twilio.calls.answer(call["sid"], Speech("괜찮아요 근데 가슴이 아파요 숨을 못 쉬겠어요"), client=client)
    rows = await fetch(pool, "SELECT channel, kind FROM checkins")
    assert [tuple(r) for r in rows] == [("voice", "help")]
    [case] = await fetch(pool, "SELECT reason, priority FROM cases")
    assert tuple(case) == ("help_request", "urgent")


async def test_an_unanswered_safety_call_climbs_to_the_guardian_who_is_called_at_the_urgent_step(
    pool, settings, client: AsyncTestClient, dispatcher, fake_twilio: FakeTwilio
):
    send, clock = dispatcher
    await enroll(pool, contact_by=ContactBy.voice)
    alert_id = await warn(pool, settings)
    await dispatch(send, clock, WARNED)
    await fake_twilio.calls.no_answer(fake_twilio.calls.to(PERSON)[-1]["sid"], client=client)
    at = WARNED
    for minutes in (15, 30, 30, 120):  # asked again, the first guardian, a case, urgent
        at += timedelta(minutes=minutes)
        await safety_sweep(pool, settings, at)
        await dispatch(send, clock, at)
        if minutes == 15:
            await fake_twilio.calls.busy(fake_twilio.calls.to(PERSON)[-1]["sid"], client=client)
    assert len(fake_twilio.calls.to(PERSON)) == 2
    to_guardian = [m["Body"] for m in fake_twilio.sent if m["To"] == GUARDIAN]
    assert any("안전 확인에 답하지 않았습니다" in t for t in to_guardian)
    [guardian_call] = fake_twilio.calls.to(GUARDIAN)
    assert "<Gather" not in guardian_call["Twiml"] and "긴급 확인 중입니다" in guardian_call["Twiml"]
    [case] = await fetch(pool, "SELECT reason, priority, alert_id FROM cases")
    assert tuple(case) == ("safety_check", "urgent", alert_id)
