"""The distress invariant through the trained model and the real Rasa: whatever surrounds a distress cue (a
check-in, a greeting, a report, gibberish the classifier falls back on), the message's intent is need_help."""

from __future__ import annotations

import httpx
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.nlu.cues import distress_cue
from tests.bot.test_distress_rule import CUE_PHRASES

# What a person may say beside the cue: the words of check-ins (the intent a fall was mistaken for), goodbyes,
# greetings, reports and questions, and strings the classifier cannot read (the fallback's).
CARRIERS = [
    "괜찮아요", "잘 있어요", "걱정 마세요", "밥 먹었어요", "안녕하세요", "고마워요", "수고하세요", "신고할게요",
    "대피소 어디예요", "할머니가", "방금", "화장실에서", "I'm fine", "all good", "don't worry", "hello", "thanks",
    "bye", "at home", "my husband", "just now", "asdf", "뷁뷁", "ㅋㅋ", "zzz",
]  # fmt: skip
AROUND = st.lists(st.sampled_from(CARRIERS), max_size=3).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(before=AROUND, cue=st.sampled_from(CUE_PHRASES), after=AROUND)
def test_a_message_with_a_distress_cue_is_need_help_never_a_check_in_or_a_fallback(
    parse: httpx.Client, before: str, cue: str, after: str
) -> None:
    """Invariant: a message in which a distress cue is found is classed need_help by the model as it runs: never
    check_in, never nlu_fallback, whatever words surround the cue."""
    text = f"{before} {cue} {after}".strip()
    assume(distress_cue(text) is not None)
    response = parse.post("/model/parse", json={"text": text})
    assert response.status_code == 200, response.text
    assert response.json()["intent"]["name"] == "need_help", (text, response.json()["intent"])
