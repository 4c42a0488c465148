"""Distress cues: words that make a call for help plausible whatever the classifier says.

The second line of defence for need_help (bot/nlu/distress.py): pain, falls, breath, the chest, someone
unconscious, fire, bleeding, fear, 119/112 and 살려, in Korean (spaced or not, standard or dialect) and English.
Plain Python, no Rasa: the actions and the API's tests use it too.
"""

from __future__ import annotations

import re

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
        r"숨(을|이)?\s*(안|못)\s*쉬",
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
