"""Distress cues: words that make a call for help plausible whatever the classifier says.

The second line of defence for need_help (bot/nlu/distress.py): pain, falls, breath, the chest, someone
unconscious, fire, bleeding, fear, feeling ill, 119/112, 살려, "도움이 필요해요", "누가 좀 와 주세요", asking for
a person, in Korean (spaced or not, standard or dialect) and English.
Plain Python, no Rasa: the actions and the API's tests use it too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Each cue's name, and the pattern that finds it. Korean patterns allow missing spaces and common dialect
# spellings (가심 for 가슴, 무서버 for 무서워); English ones carry their own word boundaries.
_PATTERNS: dict[str, tuple[str, ...]] = {
    "rescue": (
        r"살려",
        r"도와\s*주(이소|소|이|라)",
        r"도와\s*줘유",
        r"\bhelp\s*me\b",
        r"\bsos\b",
        r"\bmayday\b",
        r"^\W*help\W*$",
        # "도움이 필요해요", "I need help" (not "필요 없어요", "I don't need help": those are a no)
        r"도움(이|이가)?\s*(좀\s*)?(필요|급)(?!\s*(없|읎|업))",
        r"(?<!n't\s)(?<!not\s)(?<!no\s)\bneed\s+(some\s+|urgent\s+|immediate\s+)?help\b",
        r"응급(?!\s*처치)",
        r"^\W*(it'?s\s+an?\s+|this\s+is\s+an?\s+)?(medical\s+)?emergency\W*$",
        r"\b(it'?s|this\s+is)\s+an\s+emergency\b",
        r"\bmedical\s+emergency\b",
        # someone to come: "누가 좀 와 주세요", "제발 와 주세요", "please send someone", "come quickly"
        r"(누가|누구|사람|빨리|제발)\s*(좀\s*)?와\s*(주|줘|달|봐|도|유)",
        r"\bsend\s+(help|an?\s+ambulance)\b",
        r"\b(please|plz|pls)\s+send\s+(someone|somebody)\b",
        r"\bcome\s+(quick(ly)?|fast|right\s+now)\b",
        r"\bsomeone\s+(to\s+)?come\b",
        r"(^|좀\s*)와\s*(주세요|줘|주이소|주소|도|줘유)",
        r"급해요|급합니다|급하다|급한\s*일",
    ),
    # Asking for a person (a social worker, someone to talk to): need_help by its definition.
    "person": (
        r"상담원\s*(연결|불러|좀|이랑|하고|과)",
        r"사람(이랑|하고|과)\s*(얘기|이야기|통화|말)",
        r"복지사.{0,6}(불러|연결|보내|통화|와\s*주|와줘|오라)",
        r"\b(talk|speak)\s+(to|with)\s+(my\s+|a\s+)?(human|person|real\s+person|social\s+worker)\b",
        r"\b(get|call|want|need)\s+(my\s+)?social\s+worker\b",
    ),
    # Feeling ill: dizziness, fever, "몸이 안 좋아요", the wrong medicine.
    "sick": (
        r"어지러",
        r"어지럽",
        r"열이\s*(펄펄|많이|심하|나)",
        r"몸이\s*(너무\s*|많이\s*)?(안\s*좋|이상)",
        r"약(을)?\s*잘못\s*먹",
        r"\bdizzy\b",
        r"\bfever\b",
        r"\bfeel(ing)?\s+(very\s+|really\s+|so\s+)?(sick|ill|unwell|faint)\b",
        r"\boverdose\b",
        r"\b(i'?m|i\s+am|feeling)\s+not\s+well\b",
        # not eaten for days: in someone living alone, a sign to act on
        r"며칠(째|동안)?\s*(밥|아무것도|암것도)?(을|를|도)?\s*못\s*먹",
        r"\b(haven'?t|have\s+not|not)\s+eaten\s+(in|for)\s+days\b",
    ),
    "emergency_number": (r"(?<![0-9])11[92](?![0-9])", r"구급차", r"앰뷸런스", r"\bambulance\b", r"\b911\b"),
    "fall": (
        r"넘어[졌지져저]",
        r"넘어짐",
        r"자빠[졌져저]",
        r"미끄러져\s*다",
        r"낙상",
        r"못\s*일어나",
        r"일어날\s*수(가)?\s*없",
        r"못\s*움직",
        r"안\s*일어나",
        r"몸이\s*안\s*움직",
        r"\bfell\b",
        r"\bfall(en)?\s+(down|over)\b",
        r"\bcan'?t\s+(get\s+up|move)\b",
        r"\bcannot\s+(get\s+up|move)\b",
    ),
    "unconscious": (
        r"의식(이|을)?\s*(없|잃)",
        r"정신(을)?\s*잃",
        r"기절",
        r"쓰러[졌져저지]",
        r"숨(을|이)?\s*(잘\s*)?(안|못)\s*쉬",
        r"\bunconscious\b",
        r"\bpassed\s+out\b",
        r"\bcollapsed?\b",
        r"\bnot\s+breathing\b",
        r"\bfainted\b",
    ),
    "breath": (
        r"숨(이|을)?\s*(차|막|가빠|쉴\s*수)",
        r"호흡(이)?\s*(곤란|안)",
        r"숨\s*쉬기(가)?\s*힘들",
        r"\bcan'?t\s+breathe\b",
        r"\bbreath(ing)?\b",
        r"\bchoking\b",
    ),
    "chest": (r"가[슴심](이|이가)?\s*(아[파프퍼]|답답|조여|쥐어)", r"심장", r"\bchest\b", r"\bheart\s+attack\b"),
    "pain": (
        r"아파(?!트)",
        r"아프(?!리카)",
        r"아퍼",
        r"다쳐",
        r"다쳤",
        r"통증",
        r"\bhurts?\b",
        r"\bpain\b",
        r"\binjur(ed|y)\b",
    ),
    "bleeding": (r"피가?\s*(나|많이|멈추|철철|흘)", r"출혈", r"\bbleed(ing)?\b", r"\bblood\b"),
    "fire": (r"불이야", r"불\s*(이\s*)?났", r"불길", r"\bfire\b.*\b(help|house|home|room|trapped)\b", r"\bon\s+fire\b"),
    "fear": (
        r"무서[워버웡운]",
        r"무섭",
        r"겁(이)?\s*나",
        r"\bscared\b",
        r"\bafraid\b",
        r"\bfrightened\b",
        r"\bterrified\b",
    ),
}
CUES: dict[str, re.Pattern[str]] = {name: re.compile("|".join(p), re.IGNORECASE) for name, p in _PATTERNS.items()}

# A tree or a wall that fell is a hazard to report, not a person down: such words void the fall cues.
_FALLEN_THINGS = re.compile(
    r"나무|가로수|벽|담장|담벼락|전봇대|전신주|간판|옹벽|\b(tree|wall|pole|sign|branch)", re.IGNORECASE
)
_FALLS = {"fall", "unconscious"}


def distress_cue(text: str) -> str | None:
    """The name of the first distress cue in ``text``, or None."""
    text = text or ""
    things = _FALLEN_THINGS.search(text) is not None
    for name, pattern in CUES.items():
        if pattern.search(text) and not (things and name in _FALLS):
            return name
    return None


NEED_HELP = "need_help"


def distress_mark(
    text: str, chosen: str | None, ranking: Sequence[tuple[str, float]], *, threshold: float, rank: int
) -> dict | None:
    """DistressGuard's rule (bot/nlu/distress.py), plain: the ``distress`` mark that makes a message need_help.

    ``chosen`` is the intent the classifier (or the fallback) chose, ``ranking`` the (intent, confidence) pairs as
    the guard sees them, best first. None when the classifier chose need_help itself (the help path opens with no
    question) or when distress is not plausible: no cue in ``text``, and need_help not among the first ``rank``
    intents with at least ``threshold``. So a message with a cue is need_help whatever ``chosen`` was: never a
    check-in, never a fallback.
    """
    if chosen == NEED_HELP or not text:
        return None
    ranked = next((confidence for name, confidence in ranking[:rank] if name == NEED_HELP), None)
    cue = distress_cue(text)
    if cue is None and (ranked is None or ranked < threshold):
        return None
    return {"cue": cue, "classified_as": chosen, "need_help": ranked or 0.0}
