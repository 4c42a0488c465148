"""A whole check-in ladder by voice, with the real Twilio SDK placing calls at the fake Twilio and the fake playing
the person at the other end against the real app's webhooks: an answer of 1, of 2, no answer, busy, the guardian."""

from __future__ import annotations

from care.addressing import local
from fakes.twilio_calls import Speech
from tests.console.conftest import make_staff, sign_in
from tests.notifications.voice_helpers import (
    GUARDIAN,
    MENU,
    PERSON,
    dispatch,
    dispatcher,
    enroll,
    fetch,
    kst,
    sweep,
)

__all__ = ["dispatcher", "make_staff"]  # the fixtures, used by name


async def test_a_ladder_by_voice_answer_1_answer_2_no_answer_busy_then_the_guardian(
    pool, settings, client, dispatcher, fake_twilio
):
    send, clock = dispatcher
    await enroll(pool)

    # Day 1: the call at 09:00 asks the menu in Korean; 1 is a check-in, and the call says so back.
    await sweep(pool, settings, kst(0, "09:00"))
    await dispatch(send, clock, kst(0, "09:00"))
    [call] = fake_twilio.calls.to(PERSON)
    assert 'input="dtmf speech"' in call["Twiml"] and 'language="ko-KR"' in call["Twiml"]
    assert call["MachineDetection"] == "Enable"
    played = await fake_twilio.calls.answer(call["sid"], "1", client=client)
    assert played["said"] == [MENU, "안부 확인으로 기록했습니다. 고맙습니다. 안녕히 계세요."]
    assert all(hook.status in (200, 204) for hook in played["webhooks"])
    [checkin] = await fetch(pool, "SELECT channel, kind, body FROM checkins")
    assert tuple(checkin) == ("voice", "checkin", "1")
    [delivery] = await fetch(pool, "SELECT state, provider_id FROM outbox WHERE channel = 'voice'")
    assert tuple(delivery) == ("delivered", call["sid"])
    await sweep(pool, settings, kst(0, "11:00"))  # answered: no second call
    await dispatch(send, clock, kst(0, "11:00"))
    assert len(fake_twilio.calls.to(PERSON)) == 1

    # Day 2: 2 asks for help: an urgent case at once, the guardian told, and the call says what was recorded.
    await sweep(pool, settings, kst(1, "09:00"))
    await dispatch(send, clock, kst(1, "09:00"))
    call = fake_twilio.calls.to(PERSON)[-1]
    played = await fake_twilio.calls.answer(call["sid"], "2", client=client)
    assert played["said"][-1].startswith("도움 요청으로 기록했습니다.")
    [case] = await fetch(pool, "SELECT reason, priority FROM cases")
    assert tuple(case) == ("help_request", "urgent")
    told = await fetch(pool, "SELECT template FROM outbox WHERE recipient = $1", GUARDIAN)
    assert [t["template"] for t in told] == ["care.guardian_help"]

    # Day 3: nobody answers at 09:00, the line is busy at 11:00, and the guardian hears at 11:30. Two calls in
    # the slot, as the plan says: neither failure is retried.
    await sweep(pool, settings, kst(2, "09:00"))
    await dispatch(send, clock, kst(2, "09:00"))
    call = fake_twilio.calls.to(PERSON)[-1]
    await fake_twilio.calls.no_answer(call["sid"], client=client)
    await dispatch(send, clock, kst(2, "10:00"))
    await sweep(pool, settings, kst(2, "11:00"))
    await dispatch(send, clock, kst(2, "11:00"))
    call = fake_twilio.calls.to(PERSON)[-1]
    await fake_twilio.calls.busy(call["sid"], client=client)
    await dispatch(send, clock, kst(2, "11:20"))
    assert len(fake_twilio.calls.to(PERSON)) == 4
    await sweep(pool, settings, kst(2, "11:30"))
    await dispatch(send, clock, kst(2, "11:30"))
    to_guardian = [m["Body"] for m in fake_twilio.sent if m["To"] == GUARDIAN]
    assert f"{local(kst(2, '09:00'))} 안부 확인에 답하지 않았습니다" in to_guardian[-1]
    ended = await fetch(
        pool, "SELECT o.state, o.last_error FROM outbox o WHERE o.channel = 'voice' ORDER BY o.id OFFSET 2"
    )
    assert [tuple(e) for e in ended] == [
        ("failed", "not answered: no_answer (call no-answer)"),
        ("failed", "not answered: busy (call busy)"),
    ]
    results = await fetch(pool, "SELECT result FROM voice_calls ORDER BY created_at")
    assert [r["result"] for r in results] == ["checkin", "help", "no_answer", "busy"]

    # The urgent step: every guardian texted, and the first one called too.
    await sweep(pool, settings, kst(2, "12:00"))
    await sweep(pool, settings, kst(2, "14:00"))
    await dispatch(send, clock, kst(2, "14:00"))
    [guardian_call] = fake_twilio.calls.to(GUARDIAN)
    assert "<Gather" not in guardian_call["Twiml"] and "[긴급] 김순자님과" in guardian_call["Twiml"]
    played = await fake_twilio.calls.answer(guardian_call["sid"], client=client)
    assert len(played["said"]) == 2  # said twice
    [heard] = await fetch(pool, "SELECT state FROM outbox WHERE channel = 'voice' AND recipient = $1", GUARDIAN)
    assert heard["state"] == "delivered"


async def test_spoken_answers_are_read_like_texts(pool, settings, client, dispatcher, fake_twilio):
    send, clock = dispatcher
    await enroll(pool, times=("09:00", "19:00"))
    await sweep(pool, settings, kst(0, "09:00"))
    await dispatch(send, clock, kst(0, "09:00"))
    await fake_twilio.calls.answer(fake_twilio.calls.to(PERSON)[-1]["sid"], Speech("네, 괜찮아요."), client=client)
    await sweep(pool, settings, kst(0, "19:00"))
    await dispatch(send, clock, kst(0, "19:00"))
    await fake_twilio.calls.answer(fake_twilio.calls.to(PERSON)[-1]["sid"], Speech("아이고 살려주세요"), client=client)
    rows = await fetch(pool, "SELECT channel, kind, body FROM checkins ORDER BY id")
    assert [tuple(r) for r in rows] == [("voice", "checkin", "네, 괜찮아요."), ("voice", "help", "아이고 살려주세요")]


async def test_the_console_shows_each_call_s_outcome_on_the_case(
    pool, settings, client, dispatcher, fake_twilio, make_staff
):
    send, clock = dispatcher
    # The test's days are past: the console lists what was sent up to the wall clock's now.
    await enroll(pool, at=kst(0, "07:00"))
    await sweep(pool, settings, kst(0, "09:00"))
    await dispatch(send, clock, kst(0, "09:00"))
    await fake_twilio.calls.voicemail(fake_twilio.calls.to(PERSON)[-1]["sid"], client=client)
    await sweep(pool, settings, kst(0, "11:00"))
    await dispatch(send, clock, kst(0, "11:00"))
    await fake_twilio.calls.busy(fake_twilio.calls.to(PERSON)[-1]["sid"], client=client)
    for hhmm in ("11:30", "12:00"):
        await sweep(pool, settings, kst(0, hhmm))
    [case] = await fetch(pool, "SELECT id FROM cases")
    await make_staff("kim@seoul.go.kr")
    assert (await sign_in(client, "kim@seoul.go.kr")).status_code in (302, 303)
    page = await client.get(f"/console/cases/{case['id']}")
    assert page.status_code == 200
    assert page.text.count("안부 전화") == 2
    assert "음성사서함" in page.text and "통화 중" in page.text
