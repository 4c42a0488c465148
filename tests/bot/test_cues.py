"""The distress cues of bot/nlu/cues.py, the need_help guard's second line of defence (plain Python)."""

import pytest

from bot.nlu.cues import distress_cue


@pytest.mark.parametrize(
    "text",
    [
        "사람살려",
        "할머니가 의식이 없어요",
        "my chest hurts really bad",
        "I fell in the bathroom",
        "넘어졌는디 못일어나",
        "가심이 답답허고 아파",
        "119좀불러줘",
        "불이야 불났어요",
        "무서버요 누가 와주소",
        "someone is bleeding alot",
        "I can't breathe",
        "도움이 필요해요",
        "도움 좀 급해요",
        "I need help",
        "응급이에요",
        "it's an emergency",
        "I feel very sick",
        "어지러버 죽겠다",
        "할배가 안일어나요",
        "사람이랑 얘기하고 싶어요",
        "let me talk to a human",
        "누가 좀 와 주세요",
        "plz send someone",
        "I've been sick all night and I'm alone",
        "I'm not okay, I need a person to come",
        "하루 종일 아무것도 못 먹고 토했어요",
        "something is wrong with me",
        "I've been throwing up since last night",
        "my mother isn't waking up",
        "할머니가 안 깨어나요",
        "엘리베이터에 갇혔어요",
        "there's smoke everywhere and I'm trapped",
        "I took too many pills by mistake",
        "약을 너무 많이 먹었어요",
        "기운이 하나도 없어서 일어나질 못해요",
    ],
)
def test_a_call_for_help_has_a_cue(text: str) -> None:
    assert distress_cue(text) is not None


@pytest.mark.parametrize(
    "text",
    ["아파트 정문 앞", "나무가 쓰러졌어요", "a tree fell on the road", "잘있어요 걱정마세요", "thanks for your help",
     "비가 너무 많이 와요 어떡해요", "I smell gas in my building", "종로구청 근처 대피소", "도움 필요 없어요",
     "도움이 필요없어요", "I don't need help", "no need help", "I got an emergency alert, what is it",
     "what should I pack for an emergency", "yes, send someone", "비상 상황이에요?", "토요일에 봐요",
     "I'm not okay with that", "the kids woke up early", "토마토 샀어요"],
)  # fmt: skip
def test_no_cue_in_what_is_not_distress(text: str) -> None:
    assert distress_cue(text) is None
