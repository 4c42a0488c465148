"""DistressGuard's rule (bot.nlu.cues.distress_mark) as properties, plain Python: what the guard does to any
classifier output. The same rule runs in the pipeline (bot/nlu/distress.py) and in the benchmark's threshold
curve (bot.evaluation.guarded); tests/bot/test_rasa_project.py checks it through the trained model.
"""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from bot.nlu.cues import NEED_HELP, distress_cue, distress_mark

INTENTS = [
    "greet", "goodbye", "check_in", "need_help", "report_hazard", "ask_shelter", "ask_warnings", "ask_guidance",
    "affirm", "deny", "stop", "thanks", "out_of_scope", "inform", "nlu_fallback",
]  # fmt: skip
# One or more phrases for each cue, in Korean (spaced or not, dialect) and English.
CUE_PHRASES = [
    "사람살려", "살려주세요", "도와주이소", "help me", "SOS",
    "119 불러줘", "구급차요", "call an ambulance", "112",
    "넘어졌어요", "자빠졌다", "못일어나겠어", "I fell", "I can't get up",
    "의식이 없어요", "쓰러졌어요", "기절했어", "he passed out", "she collapsed",
    "숨이 차요", "숨쉬기가 힘들어", "I can't breathe",
    "가슴이 답답해", "가심이 아파", "my chest is tight",
    "허리가 아파", "다쳤어요", "it hurts so much", "I'm in pain",
    "피가 많이 나요", "bleeding a lot",
    "불이야", "불났어요", "my house is on fire",
    "무서워요", "무서버", "I'm scared",
]  # fmt: skip
# Anything around the cue, kept apart from it by spaces (so "I fell" stays a word); words of the bot's domains.
AROUND = st.lists(
    st.sampled_from(
        ["할머니", "지금", "집에서", "좀", "빨리", "please", "now", "mum", "at home", "ㅠㅠ", "!!", "괜찮아요"]
    )
    | st.text(max_size=8),
    max_size=4,
).map(" ".join)
RANKING = st.lists(st.tuples(st.sampled_from(INTENTS), st.floats(0, 1)), max_size=6, unique_by=lambda p: p[0]).map(
    lambda pairs: sorted(pairs, key=lambda p: -p[1])
)
THRESHOLD = st.floats(0, 1)
RANK = st.integers(1, 5)


def final_intent(text: str, chosen: str, ranking: list[tuple[str, float]], threshold: float, rank: int) -> str:
    mark = distress_mark(text, chosen, ranking, threshold=threshold, rank=rank)
    return NEED_HELP if chosen == NEED_HELP or mark is not None else chosen


@given(before=AROUND, cue=st.sampled_from(CUE_PHRASES), after=AROUND, chosen=st.sampled_from(INTENTS),
       ranking=RANKING, threshold=THRESHOLD, rank=RANK)  # fmt: skip
def test_a_message_with_a_distress_cue_is_never_a_check_in_and_never_falls_back(
    before: str, cue: str, after: str, chosen: str, ranking: list, threshold: float, rank: int
) -> None:
    """Invariant: whatever the classifier chose (a check-in, the fallback, anything) and however sure it was, at any
    threshold, a message in which a distress cue is found ends as need_help: never check_in, never nlu_fallback."""
    text = f"{before} {cue} {after}"
    assume(distress_cue(text) is not None)  # a fallen tree or wall beside a fall cue is a report, not a fall
    assert final_intent(text, chosen, ranking, threshold, rank) == NEED_HELP


@given(text=AROUND, chosen=st.sampled_from(INTENTS), ranking=RANKING, low=THRESHOLD, high=THRESHOLD, rank=RANK)
def test_a_higher_threshold_never_asks_anyone_a_lower_one_would_not(
    text: str, chosen: str, ranking: list, low: float, high: float, rank: int
) -> None:
    """Invariant: raising the threshold only ever removes help prompts, so tuning it trades false prompts against
    missed calls for help monotonically (the curve in bench.chat's "distress" part)."""
    low, high = sorted((low, high))
    if distress_mark(text, chosen, ranking, threshold=high, rank=rank) is not None:
        assert distress_mark(text, chosen, ranking, threshold=low, rank=rank) is not None


@given(text=AROUND, chosen=st.sampled_from(INTENTS), ranking=RANKING, threshold=THRESHOLD, rank=RANK)
def test_without_a_cue_or_a_close_need_help_the_classifier_is_left_alone(
    text: str, chosen: str, ranking: list, threshold: float, rank: int
) -> None:
    """Invariant: with no cue, and need_help not among the first ``rank`` intents at ``threshold`` or more, the
    classifier's intent stands (an empty message too); and its own need_help is never marked (the help path opens
    with no question)."""
    mark = distress_mark(text, chosen, ranking, threshold=threshold, rank=rank)
    close = any(name == NEED_HELP and confidence >= threshold for name, confidence in ranking[:rank])
    if chosen == NEED_HELP or not text or (distress_cue(text) is None and not close):
        assert mark is None
    else:
        assert mark is not None and mark["classified_as"] == chosen
