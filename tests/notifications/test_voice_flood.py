"""A flood-risk household on a home phone no text reaches (a landline) is asked by call, with the real Twilio SDK
placing the call at the fake Twilio and the fake answering through the real app's webhooks: 1 is safe, 2 is a call
for help told to the duty worker at once, and its partners are texted as ever."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from fakes.twilio import FakeTwilio
from notifications.service import Notifier
from tests.care.flood_helpers import DUTY_PHONE, add_duty_worker, add_household, warn
from tests.notifications.voice_helpers import dispatch, dispatcher, fetch, kst

__all__ = ["dispatcher"]  # the fixture, used by name

WARNED = kst(0, "20:00")
LANDLINE, LANDLINE_E164 = "02-2133-0001", "+82221330001"  # a 반지하 home's phone, in Seoul's 02 area
PARTNER = "+821030000001"
MENU = (
    "박영자님, 서울시 침수 안전 확인 전화입니다. 서울 동남권 호우경보. 댁에 침수 위험이 있습니다. "
    "안전하시면 1번, 도움이 필요하시면 2번을 눌러 주세요."
)


@pytest.mark.parametrize(
    ("pressed", "said_back", "answer", "duty_told"),
    [
        ("1", "안전하다고 기록했습니다. 고맙습니다. 동행파트너가 확인하러 갑니다.", "safe", False),
        (
            "2",
            "도움 요청으로 기록했습니다. 구청 당직자에게 바로 알립니다. 위급하면 119에 전화하세요.",
            "need_help",
            True,
        ),
    ],
)
async def test_a_landline_household_is_asked_by_call_and_its_answer_recorded(
    pool, settings, client: AsyncTestClient, dispatcher, fake_twilio: FakeTwilio, pressed, said_back, answer, duty_told
) -> None:
    send, clock = dispatcher
    await add_duty_worker(pool)
    await add_household(pool, phones=(LANDLINE,), partners=("010-3000-0001",), now=WARNED)
    await warn(pool, Notifier(settings.notify), at=WARNED)
    await dispatch(send, clock, WARNED)

    # No text to the landline; a call with the menu. The partner is texted to go, as ever.
    assert not [m for m in fake_twilio.sent if m["To"] == LANDLINE_E164]
    [call] = fake_twilio.calls.to(LANDLINE_E164)
    assert [m for m in fake_twilio.sent if m["To"] == PARTNER]
    played = await fake_twilio.calls.answer(call["sid"], pressed, client=client)
    assert played["said"] == [MENU, said_back]

    [row] = await fetch(pool, "SELECT answer, answered_via FROM flood_checks")
    assert tuple(row) == (answer, "voice")
    await dispatch(send, clock, WARNED)
    assert bool([m for m in fake_twilio.sent if m["To"] == DUTY_PHONE]) is duty_told


async def test_a_mobile_household_is_still_texted_not_called(
    pool, settings, dispatcher, fake_twilio: FakeTwilio
) -> None:
    send, clock = dispatcher
    await add_household(pool, phones=("010-2000-0001",), now=WARNED)
    await warn(pool, Notifier(settings.notify), at=WARNED)
    await dispatch(send, clock, WARNED)
    assert not fake_twilio.calls.to("+821020000001")
    assert [m for m in fake_twilio.sent if m["To"] == "+821020000001"]
