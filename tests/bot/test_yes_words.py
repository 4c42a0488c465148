"""A report's summary is confirmed only by a recognisable yes (bot.actions.words.says_yes), plain Python.

The report_confirmed slot comes from the classifier's affirm, and the classifier reads gibberish ("asdf",
"블라블라") as affirm; ValidateHazardReportForm.validate_report_confirmed files nothing unless the message also
holds a yes word. tests/chat/test_conversations.py checks the same through the real Rasa and action server.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.reports import ValidateHazardReportForm
from bot.actions.words import says_yes

YES = [
    "네", "넵", "넹", "예", "응", "웅", "어", "ㅇㅇ", "그래", "그래요", "맞아", "맞아요", "좋아요", "해주세요",
    "신고해", "부탁해요", "네네", "넵!", "네~", "예예", "응응", "네신고해주세요", "네 맞아요", "그려유", "하모",
    "yes", "Yes.", "yeah", "yep", "yup", "ya", "ok", "OK", "okay", "sure", "please", "do it", "yes please",
    "yess", "go ahead", "ok do it",
]  # fmt: skip
NOT_YES = [
    "갸갸갸", "뷁뷁", "asdf", "asdf qwer", "블라블라", "ㅇㄹㅇㄹ", "ㅁㄴㅇㄹ", "zxcv bnm", "어디예요", "없어요",
    "괜찮아요", "아니요", "네 아니요", "응 잠깐만", "yes no", "ok wait", "not yet", "yesterday", "okra", "", "   ",
]  # fmt: skip
# Every stem a yes word of the lexicon is made of: a message with none of them holds no yes word.
STEMS = [
    "네", "넵", "넹", "넴", "녜", "예", "옙", "응", "웅", "엉", "어", "ㅇ", "그래", "그려", "그랴", "그럼", "맞",
    "좋", "해", "신고", "접수", "부탁", "알겠", "알았", "오케", "오키", "하모", "당연", "물론",
    "y", "k", "sure", "pl", "do", "go", "correct", "right", "fine", "affirm", "absolut", "definit", "course",
    "report", "file", "send",
]  # fmt: skip
TEXT = st.text(
    alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
    | st.characters(min_codepoint=0x3131, max_codepoint=0x318E)
    | st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,!?~ㅋㅎ"),
    max_size=30,
)


def confirmed(text: str) -> bool:
    """What the form's validation makes of an affirm whose message is ``text``: the report confirmed or not."""
    latest = {"text": text, "intent": {"name": "affirm"}, "entities": []}
    tracker = Tracker("someone", {}, latest, [], False, None, {}, "action_listen")
    form = ValidateHazardReportForm()
    result = asyncio.run(form.validate_report_confirmed(True, CollectingDispatcher(), tracker, {}))
    return result == {"report_confirmed": True}


@pytest.mark.parametrize("text", YES)
def test_a_yes_word_confirms_a_report(text: str) -> None:
    assert says_yes(text)
    assert confirmed(text)


@pytest.mark.parametrize("text", NOT_YES)
def test_gibberish_or_a_no_does_not_confirm_a_report(text: str) -> None:
    assert not says_yes(text)
    assert not confirmed(text)


@given(TEXT)
def test_a_message_with_none_of_the_yes_words_never_confirms_a_report(text: str) -> None:
    """Invariant: whatever the classifier said (affirm), a message holding none of the yes words files nothing."""
    assume(not any(stem in text.lower() for stem in STEMS))
    assert not confirmed(text)


@given(st.sampled_from(YES), st.sampled_from(["아니요", "아니", "취소", "잠깐만", "no", "not", "cancel", "wait"]))
def test_a_yes_beside_a_no_never_confirms_a_report(yes: str, no: str) -> None:
    """Invariant: an answer holding a no as well as a yes is unclear, and is asked again rather than filed."""
    assert not confirmed(f"{yes} {no}")
    assert not confirmed(f"{no} {yes}")
