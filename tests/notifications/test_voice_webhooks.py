"""The calls' webhooks on bad input and odd calls: signatures, unknown and finished calls, menus repeated, silence,
voicemail, hanging up, replays; and how a plan's contact and quiet hours decide when a call is placed."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from care.schemas import ContactBy
from fakes.twilio_calls import Speech
from notifications.channels.base import OutboundMessage, Reconcile
from notifications.channels.voice import MAY_HAVE_RUNG, TwilioVoiceChannel
from tests.conftest import problem
from tests.notifications.conftest import PUBLIC_URL, TWILIO_SID, TWILIO_TOKEN
from tests.notifications.voice_helpers import MENU, PERSON, dispatch, dispatcher, enroll, fetch, kst, sweep

__all__ = ["dispatcher"]  # the fixture, used by name

AGAIN = "잘 듣지 못했습니다. " + MENU
CHECKED_IN = "안부 확인으로 기록했습니다. 고맙습니다. 안녕히 계세요."
NO_ANSWER = "응답이 없어 통화를 마칩니다. 나중에 다시 연락드리겠습니다."
ENDED = "이 통화는 이미 끝났습니다. 고맙습니다."


def signed(path: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(PUBLIC_URL + path, params)}


@pytest.fixture
async def call(pool, settings, dispatcher, fake_twilio) -> str:  # type: ignore[no-untyped-def]
    """The sid of a check-in call placed at 09:00 and not yet played."""
    send, clock = dispatcher
    await enroll(pool)
    await sweep(pool, settings, kst(0, "09:00"))
    await dispatch(send, clock, kst(0, "09:00"))
    return fake_twilio.calls.to(PERSON)[-1]["sid"]


async def counts(pool) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    [row] = await fetch(pool, "SELECT (SELECT count(*) FROM checkins), (SELECT count(*) FROM voice_calls)")
    return row[0], row[1]


@pytest.mark.parametrize(
    "path", ["/webhooks/twilio/voice/gather?outbox=1&round=1", "/webhooks/twilio/voice/status?outbox=1"]
)
@pytest.mark.parametrize("how", ["unsigned", "wrongly signed", "another token"])
async def test_an_unsigned_or_wrongly_signed_voice_webhook_is_refused(client, pool, call, path, how):
    params = {"CallSid": call, "CallStatus": "completed", "Digits": "1", "To": PERSON, "AccountSid": TWILIO_SID}
    headers = {
        "unsigned": {},
        "wrongly signed": {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        "another token": signed(path, params, "another-token"),
    }[how]
    response = await client.post(path, data=params, headers=headers)
    assert response.status_code == 403
    assert problem(response)["code"] == "bad_signature"
    assert await counts(pool) == (0, 0)


async def test_a_gather_for_an_unknown_call_is_answered_politely_and_records_nothing(client, pool, call):
    path = "/webhooks/twilio/voice/gather?outbox=1&round=1"
    params = {"CallSid": "CA" + "f" * 32, "Digits": "1", "To": "+821055556666", "AccountSid": TWILIO_SID}
    response = await client.post(path, data=params, headers=signed(path, params))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    assert ENDED in response.text and "<Hangup" in response.text
    assert await counts(pool) == (0, 0)


async def test_a_gather_for_a_finished_call_is_answered_politely_and_records_nothing(client, pool, call, fake_twilio):
    played = await fake_twilio.calls.answer(call, client=client)  # hangs up at the menu
    gather = played["webhooks"][0].url.replace("status", "gather") + "&round=1"
    path = gather.removeprefix(PUBLIC_URL)
    params = {"CallSid": call, "Digits": "1", "To": PERSON, "AccountSid": TWILIO_SID, "CallStatus": "in-progress"}
    response = await client.post(path, data=params, headers=signed(path, params))
    assert response.status_code == 200 and ENDED in response.text
    assert (await counts(pool))[0] == 0
    [row] = await fetch(pool, "SELECT result FROM voice_calls")
    assert row["result"] == "hung_up"


async def test_other_digits_repeat_the_menu(client, pool, call, fake_twilio):
    played = await fake_twilio.calls.answer(call, "9", "1", client=client)
    assert played["said"] == [MENU, AGAIN, CHECKED_IN]
    assert (await counts(pool))[0] == 1


async def test_silence_repeats_the_menu_once_and_then_the_call_is_not_answered(client, pool, call, fake_twilio):
    played = await fake_twilio.calls.answer(call, None, None, "1", client=client)
    assert played["said"] == [MENU, AGAIN, NO_ANSWER]  # the third input never comes: the call has hung up
    assert (await counts(pool))[0] == 0
    [row] = await fetch(
        pool, "SELECT c.result, o.state, o.last_error FROM voice_calls c JOIN outbox o ON o.id = c.outbox_id"
    )
    assert tuple(row) == ("no_answer", "failed", "not answered: no_answer (call completed)")


async def test_unclear_words_are_not_a_check_in(client, pool, call, fake_twilio):
    played = await fake_twilio.calls.answer(call, Speech("안 괜찮아요"), Speech("글쎄요"), client=client)
    assert played["said"] == [MENU, AGAIN, NO_ANSWER]
    assert (await counts(pool))[0] == 0


async def test_voicemail_is_not_answered(client, pool, call, fake_twilio):
    await fake_twilio.calls.voicemail(call, client=client)
    assert (await counts(pool))[0] == 0
    [row] = await fetch(
        pool, "SELECT c.result, c.answered_by, o.state FROM voice_calls c JOIN outbox o ON o.id = c.outbox_id"
    )
    assert tuple(row) == ("machine", "machine_end_beep", "failed")


async def test_a_hang_up_mid_menu_is_not_answered(client, pool, call, fake_twilio):
    await fake_twilio.calls.answer(call, client=client)
    [row] = await fetch(pool, "SELECT c.result, o.state FROM voice_calls c JOIN outbox o ON o.id = c.outbox_id")
    assert tuple(row) == ("hung_up", "failed")


async def test_a_replayed_webhook_acts_once(client, pool, call, fake_twilio):
    # Twilio posts the answer again (ours was slow): the same CallSid and round, acted on once, answered alike.
    path = "/webhooks/twilio/voice/gather?outbox=1&round=1"
    params = {"CallSid": call, "Digits": "2", "To": PERSON, "AccountSid": TWILIO_SID, "CallStatus": "in-progress"}
    first = await client.post(path, data=params, headers=signed(path, params))
    again = await client.post(path, data=params, headers=signed(path, params))
    assert first.status_code == again.status_code == 200
    assert "도움 요청으로 기록했습니다" in first.text and again.text == first.text
    # And a status callback posted twice (the same SequenceNumber) is recorded once.
    played = await fake_twilio.calls.busy(call, client=client)
    await fake_twilio.calls.replay(call, -1, client=client)
    assert [hook.status for hook in played["webhooks"]] == [204, 204]
    [row] = await fetch(pool, "SELECT (SELECT count(*) FROM checkins), (SELECT count(*) FROM cases)")
    assert tuple(row) == (1, 1)
    events = await fetch(pool, "SELECT kind, seq, status FROM voice_call_events ORDER BY kind, seq")
    assert [tuple(e) for e in events] == [("gather", 1, "digits 2"), ("status", 0, "initiated"), ("status", 1, "busy")]
    [result] = await fetch(pool, "SELECT result FROM voice_calls")
    assert result["result"] == "help"  # the answer stands; a busy line afterwards does not undo it


async def test_an_english_speaker_is_asked_in_english(pool, settings, dispatcher, fake_twilio):
    send, clock = dispatcher
    await enroll(pool, language="en")
    await sweep(pool, settings, kst(0, "09:00"))
    await dispatch(send, clock, kst(0, "09:00"))
    [placed] = fake_twilio.calls.to(PERSON)
    assert 'language="en-US"' in placed["Twiml"] and "press 1" in placed["Twiml"]


async def test_sms_then_voice_texts_first_and_calls_when_the_text_goes_unanswered(
    pool, settings, dispatcher, fake_twilio
):
    send, clock = dispatcher
    await enroll(pool, contact_by=ContactBy.sms_voice)
    await sweep(pool, settings, kst(0, "09:00"))
    await dispatch(send, clock, kst(0, "09:00"))
    assert [m["To"] for m in fake_twilio.sent] == [PERSON] and fake_twilio.calls.calls == []
    await sweep(pool, settings, kst(0, "11:00"))
    await dispatch(send, clock, kst(0, "11:00"))
    assert len(fake_twilio.calls.to(PERSON)) == 1 and len(fake_twilio.sent) == 1


async def test_quiet_hours_hold_for_calls(pool, settings, dispatcher, fake_twilio):
    send, clock = dispatcher
    await enroll(pool, contact_by=ContactBy.sms_voice, times=("21:00",), quiet=("22:00", "07:00"))
    await sweep(pool, settings, kst(0, "21:00"))
    await sweep(pool, settings, kst(0, "23:00"))  # the second ask, a call, falls in the quiet hours
    await dispatch(send, clock, kst(0, "23:00"))
    assert fake_twilio.calls.calls == []
    assert [r["channel"] for r in await fetch(pool, "SELECT channel FROM outbox")] == ["sms"]


async def test_a_call_whose_first_attempt_went_unanswered_is_not_placed_again(settings, fake_twilio):
    channel = TwilioVoiceChannel(settings.twilio, public_url=PUBLIC_URL)
    message = OutboundMessage(
        channel="voice",
        to=PERSON,
        body=MENU,
        data={"call": "checkin"},
        ref="1",
        reconcile=Reconcile(since=kst(0, "09:00")),
    )
    try:
        [result] = await channel.send_many([message])
    finally:
        await channel.aclose()
    assert (result.ok, result.error) == (False, MAY_HAVE_RUNG)
    assert fake_twilio.calls.calls == []
