"""UnknownWords (bot/nlu/unknown_words.py) through the trained model and the real Rasa: a message with no word,
morpheme or pattern seen in training falls back, whatever the classifier guessed; a cry for help still reaches help.

The vocabulary is kept with the model at training and read back when the server loads it, so these also check
that it is persisted.
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.nlu.cues import distress_cue

# Gibberish the classifier alone read as affirm (C 1: "asdf" 0.46, "ㅇㄹㅇㄹ" 0.65; C 10: "갸갸갸" 0.51).
GIBBERISH = ["갸갸갸", "뷁뷁", "asdf", "asdf qwer", "zxcv bnm", "블라블라", "ㅇㄹㅇㄹ", "ㅁㄴㅇㄹ", "qwerty"]
KNOWN = {
    "네": "affirm", "넵": "affirm", "yes": "affirm", "ㅇㅇ": "affirm", "아니요": "deny", "안녕하세요": "greet",
    "강남역": "inform", "Hongik University station": "inform", "대피소 어디예요": "ask_shelter",
}  # fmt: skip


def parsed(parse: httpx.Client, text: str) -> dict:
    response = parse.post("/model/parse", json={"text": text})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("text", GIBBERISH)
def test_a_message_with_nothing_the_model_knows_falls_back(parse: httpx.Client, text: str) -> None:
    result = parsed(parse, text)
    assert result["intent"]["name"] == "nlu_fallback", result["intent"]
    assert result["unknown_words"] is not None


@pytest.mark.parametrize(("text", "intent"), KNOWN.items())
def test_a_message_with_a_known_word_is_read_as_before(parse: httpx.Client, text: str, intent: str) -> None:
    result = parsed(parse, text)
    assert result["intent"]["name"] == intent, result["intent"]
    assert result.get("unknown_words") is None


@pytest.mark.parametrize("text", ["뷁뷁 살려줘", "asdf help me", "갸갸 119", "qwer I fell"])
def test_gibberish_with_a_distress_cue_is_need_help_not_a_fallback(parse: httpx.Client, text: str) -> None:
    result = parsed(parse, text)
    assert result["intent"]["name"] == "need_help", result["intent"]


# Strings made of syllables and letters the bot's data hardly holds.
STRANGE = st.lists(
    st.text(alphabet="갸뷁꿹쀍퓌햏ㄹㅁㅂㅈㄷqxzjvwk", min_size=1, max_size=5), min_size=1, max_size=3
).map(" ".join)


@settings(max_examples=40, deadline=None)
@given(STRANGE)
def test_a_message_the_model_cannot_read_is_never_taken_for_an_intent(parse: httpx.Client, text: str) -> None:
    """Invariant: when nothing in a message is known to the model, it is not read as any intent (a yes to a report
    among them): it falls back, or, with a distress cue, it is need_help."""
    result = parsed(parse, text)
    if distress_cue(text):
        assert result["intent"]["name"] == "need_help", (text, result["intent"])
    elif result.get("unknown_words") is not None:
        assert result["intent"]["name"] == "nlu_fallback", (text, result["intent"])
