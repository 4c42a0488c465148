"""Spoken answers to a check-in call, read by the care keyword rules and the chatbot's distress cues.

Invariants (hypothesis, beside examples):
1. A spoken answer with a distress cue in it is never a check-in: it is a call for help, whatever check-in words
   are said around it ("괜찮아요, 근데 넘어졌어요").
2. A spoken answer is a check-in only when every word of it is a check-in word (or the keyword rules read it as one)
   and it holds no help word and no distress cue.
3. The API and the chatbot read distress by the same cues: one data file, two readers, the same answer for any text.
And through the real app: such an answer by call opens an urgent case and records no check-in.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.platform.distress import distress_cue
from bot.nlu.cues import distress_cue as bot_distress_cue
from fakes.twilio_calls import Speech
from notifications.voice_twiml import Answer, read_answer
from tests.notifications.voice_helpers import PERSON, dispatch, dispatcher, enroll, fetch, kst, sweep

__all__ = ["dispatcher"]  # the fixture, used by name

CHECKIN_WORDS = ["괜찮아요", "네", "좋아요", "괜찮습니다", "OK", "fine", "yes"]
FILLER = ["저는", "오늘", "그런데", "근데", "집에", "있어요", "할머니", "well", "but", "I", "today", "음", "아이고"]
DISTRESS = [
    "가슴이 아파요",
    "숨을 못 쉬겠어요",
    "넘어졌어요",
    "못 일어나겠어요",
    "쓰러졌어요",
    "피가 나요",
    "불이야",
    "119 불러 주세요",
    "무서워요",
    "I fell",
    "I can't breathe",
    "my chest hurts",
    "I'm bleeding",
]


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("가슴이 아파요 숨을 못 쉬겠어요", Answer.help),
        ("I fell", Answer.help),
        ("괜찮아요, 근데 넘어졌어요", Answer.help),
        ("아이고 살려주세요", Answer.help),
        ("help me", Answer.help),
        ("안 괜찮아요", Answer.unclear),
        ("별로 안 좋아요", Answer.unclear),
        ("네, 괜찮아요.", Answer.checkin),
        ("괜찮아요", Answer.checkin),
        ("I'm OK", Answer.checkin),
        ("아파트 경비실이에요", Answer.unclear),  # 아파트 is not 아파
    ],
)
def test_what_was_said_is_read_as(said: str, answer: Answer) -> None:
    assert read_answer(digits=None, speech=said) is answer


@st.composite
def with_distress(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(CHECKIN_WORDS + FILLER), max_size=6))
    words.insert(draw(st.integers(0, len(words))), draw(st.sampled_from(DISTRESS)))
    separator = draw(st.sampled_from([" ", ", ", ". ", "  "]))
    return separator.join(words)


@given(said=with_distress())
def test_a_spoken_answer_with_a_distress_cue_is_never_a_check_in(said: str) -> None:
    # 1, for answers made of check-in words and fillers around a cry for help.
    assert distress_cue(said) is not None
    assert read_answer(digits=None, speech=said) is Answer.help


@given(said=st.one_of(st.text(max_size=40), with_distress(), st.lists(st.sampled_from(CHECKIN_WORDS)).map(" ".join)))
def test_a_check_in_holds_no_distress(said: str) -> None:
    # 1 and 2, for any text at all.
    if read_answer(digits=None, speech=said) is Answer.checkin:
        assert distress_cue(said) is None


@given(said=st.one_of(st.text(max_size=60), with_distress(), st.sampled_from(DISTRESS + FILLER)))
def test_the_api_and_the_chatbot_read_distress_alike(said: str) -> None:
    # 3.
    assert distress_cue(said) == bot_distress_cue(said)


@pytest.mark.parametrize("said", ["가슴이 아파요 숨을 못 쉬겠어요", "I fell"])
async def test_distress_said_to_a_check_in_call_opens_an_urgent_case(
    pool, settings, client, dispatcher, fake_twilio, said
):
    send, clock = dispatcher
    await enroll(pool, language="en" if said.isascii() else "ko")
    await sweep(pool, settings, kst(0, "09:00"))
    await dispatch(send, clock, kst(0, "09:00"))
    [call] = fake_twilio.calls.to(PERSON)
    played = await fake_twilio.calls.answer(call["sid"], Speech(said), client=client)
    assert "119" in played["said"][-1]
    rows = await fetch(pool, "SELECT channel, kind, body FROM checkins")
    assert [tuple(r) for r in rows] == [("voice", "help", said)]
    [case] = await fetch(pool, "SELECT reason, priority FROM cases")
    assert tuple(case) == ("help_request", "urgent")


async def test_not_fine_is_asked_again_and_never_recorded_as_a_check_in(
    pool, settings, client, dispatcher, fake_twilio
):
    send, clock = dispatcher
    await enroll(pool)
    await sweep(pool, settings, kst(0, "09:00"))
    await dispatch(send, clock, kst(0, "09:00"))
    [call] = fake_twilio.calls.to(PERSON)
    played = await fake_twilio.calls.answer(call["sid"], Speech("안 괜찮아요"), Speech("안 괜찮아요"), client=client)
    assert played["said"][1].startswith("잘 듣지 못했습니다.")  # the menu once more
    assert not await fetch(pool, "SELECT 1 FROM checkins")
    [result] = await fetch(pool, "SELECT result FROM voice_calls")
    assert result["result"] == "no_answer"
