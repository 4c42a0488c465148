"""The KakaoTalk side's life-safety rules and Kakao's format limits, stated and checked over many inputs."""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from api.chat.kakao import CareAction, decide
from api.chat.kakao_replies import fit, from_bot, render
from api.chat.kakao_schemas import Reply
from api.chat.rasa import BotReply
from fakes.kakao import format_problems
from notifications.inbound import Keyword, keyword

HELP_WORDS = ["도와주세요", "도와줘", "살려주세요", "119", "SOS", "help me", " 도와 주세요!! ", "HELP"]
CHECKIN_WORDS = ["괜찮아요", "괜찮아", "잘있어요", "1", "네", "예", "OK", "I'm OK", "확인", "이상없음"]
BARE_YES = ["네", "예", "응", "1", "OK", "yes", "확인"]
messages = st.one_of(st.sampled_from(HELP_WORDS + CHECKIN_WORDS), st.text(max_size=40))


@given(word=st.sampled_from(HELP_WORDS), question_open=st.booleans())
def test_a_call_for_help_opens_a_case_whatever_the_bot_asked(word: str, question_open: bool) -> None:
    """Invariant: whatever the bot's open question, a message the keyword router reads as help is care's help."""
    assert decide(word, question_open=question_open) is CareAction.help


@given(text=messages, question_open=st.booleans())
def test_only_check_in_words_are_check_ins_and_help_words_are_never(text: str, question_open: bool) -> None:
    """Invariant: a message is a check-in only if the router reads it as one; help is never a check-in."""
    action = decide(text, question_open=question_open)
    found = keyword(text)
    if action in (CareAction.checkin, CareAction.checkin_for_bot):
        assert found is not None and found[0] is Keyword.checkin
    if found is not None and found[0] is Keyword.help:
        assert action is CareAction.help


@given(word=st.sampled_from(BARE_YES))
def test_a_bare_yes_to_the_bots_question_is_its_answer_not_im_fine(word: str) -> None:
    """Invariant: while the bot asks yes or no, "네" goes to the bot and is only a sign of life."""
    assert decide(word, question_open=True) is CareAction.sign_of_life


@given(word=st.sampled_from(CHECKIN_WORDS))
def test_with_no_question_open_a_check_in_word_is_a_check_in_answered_here(word: str) -> None:
    """Invariant: with nothing asked, every check-in word is recorded as a check-in without the bot."""
    assert decide(word, question_open=False) is CareAction.checkin


@given(texts=st.lists(st.text(min_size=1, max_size=1500), max_size=8))
def test_what_we_say_always_fits_kakaos_outputs(texts: list[str]) -> None:
    """Invariant: at most three texts of 1 to 1,000 characters; when all fits in 2,500, nothing is lost."""
    pieces = fit(texts)
    assert 1 <= len(pieces) <= 3
    assert all(1 <= len(p) <= 1000 for p in pieces)
    kept = [t.strip() for t in texts if t.strip()]
    if kept and sum(map(len, kept)) <= 2500:
        squashed = "".join("".join(pieces).split())
        assert squashed == "".join("".join(kept).split())


@given(
    texts=st.lists(st.text(max_size=1200), max_size=5),
    buttons=st.lists(st.tuples(st.text(min_size=1, max_size=30), st.text(max_size=30)), max_size=14),
    in_care=st.booleans(),
    language=st.sampled_from(["ko", "en"]),
)
def test_every_turn_of_the_bot_renders_as_a_valid_skill_response(
    texts: list[str], buttons: list[tuple[str, str]], in_care: bool, language: str
) -> None:
    """Invariant: whatever the bot says (long texts, many buttons, long titles), Kakao accepts our answer."""
    turn = [BotReply(text=t, buttons=[]) for t in texts] + [BotReply(text=None, buttons=buttons)]
    body = msgspec.to_builtins(render(from_bot(turn, language=language, in_care=in_care)))
    assert format_problems(body, callback_allowed=False) == []


def test_a_kept_reply_renders_the_same_after_its_round_trip_through_json() -> None:
    reply = Reply(
        texts=["도움이 필요하세요? 네 / 아니요"], quick=[("네", "네"), ("아니요", "아니요")], asks_yes_no=True
    )
    assert msgspec.convert(msgspec.to_builtins(reply), Reply) == reply
