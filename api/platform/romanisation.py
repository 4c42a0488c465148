"""Hangul in Latin letters for English answers: the Revised Romanization of Korean, as on Seoul's signs.

The words are romanised by koroman (MIT; the National Institute of Korean Language's rules with the sound
changes across syllables: 신림 → sillim, 종로 → jongno). Around it, what signs and addresses do that a word-by-word
romaniser cannot know: Seoul and its districts by their official English names, and a hyphen before an
administrative unit or a road's suffix (Sillim-dong, Sejong-daero 29-gil). Text that is not Hangul is kept.
"""

from __future__ import annotations

import re
from functools import lru_cache

from koroman import romanize as _koroman

from api.platform.districts import DISTRICTS

_NAMES = {
    "서울특별시": "Seoul",
    "서울시": "Seoul",
    "서울": "Seoul",
    **{d.name_ko: d.name_en for d in DISTRICTS.values()},
}
_UNITS = {"대로": "daero", "로": "ro", "길": "gil", "번길": "beon-gil", "동": "dong", "가": "ga"}
_HANGUL_RUN = re.compile(r"[가-힣]+")
# A unit after a number or a letter: 29길, 상계1동, 을지로3가, A동.
_NUMBERED_UNIT = re.compile(r"(?<=[0-9A-Za-z])(번길|길|동|가)(?![가-힣])")
# A road or a dong named by a word of two syllables or more: 세종대로, 월드컵로, 사당동 (but 종로 stays Jongno).
_NAMED_UNIT = re.compile(r"^(?P<stem>[가-힣]{2,}?)(?P<unit>대로|로|동)$")
_ROAD_THEN_NUMBER = re.compile(r"-(daero|ro)(?=\d)")


# Answers name the same few thousand shelters again and again; a romanisation costs about 0.1 ms.
@lru_cache(maxsize=16384)
def romanise(text: str) -> str:
    """The text with every Hangul word in Latin letters, each capitalised where it starts a word."""
    text = _NUMBERED_UNIT.sub(lambda m: "-" + _UNITS[m.group(1)], text)
    text = _HANGUL_RUN.sub(_word, text)
    return _ROAD_THEN_NUMBER.sub(r"-\1 ", text)


def _word(match: re.Match[str]) -> str:
    run = match.group()
    if run in _NAMES:
        return _NAMES[run]
    named = _NAMED_UNIT.match(run)
    latin = f"{_letters(named['stem'])}-{_UNITS[named['unit']]}" if named else _letters(run)
    before = match.string[match.start() - 1] if match.start() else " "
    return latin[:1].upper() + latin[1:] if not before.isalnum() else latin


def _letters(hangul: str) -> str:
    # Lowercase, with no module-level dictionary: the same text always gives the same letters.
    return str(_koroman(hangul, use_pronunciation_rules=True, casing_option="lowercase", use_custom_dictionary=False))
