"""Reading a text as a flood answer: 도착 / 대피 완료 / 도움 필요 as people really type them, and a home number.

"도착했어요!", "대피 완료요", "도움이 필요합니다 1234", "ARRIVED", "evacuated 12": the text is normalised as the
keyword router does (NFKC, case, spaces and punctuation), and then read by its stem, so polite endings and
typos after the stem do not matter. A number at the end is the home number the partner's message gave; a text
with anything else in it is not an answer (it goes on to the next handler).
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from care.flood.schemas import Answer
from notifications.inbound import Keyword, keyword

# Stems, tried in this order: a call for help first, so that "도움 필요, 대피 못함" never reads as evacuated.
_STEMS: tuple[tuple[Answer, re.Pattern[str]], ...] = tuple(
    (answer, re.compile(pattern))
    for answer, pattern in (
        (Answer.need_help, r"^(도움|도와|살려|구조|위험|help|sos|119|unsafe|notsafe)"),
        (Answer.evacuated, r"^(대피|피신|evac)"),
        (Answer.arrived, r"^(도착|왔|arriv|here|imhere)"),
        (Answer.safe, r"^(안전|safe)"),
    )
)
# What may follow a stem: Hangul (endings like 했어요, 완료요, 이 필요합니다) or Latin letters (arrived, ed).
_REST = re.compile(r"^[\uac00-\ud7a3a-z]{0,12}$")
# "안전하지 않아요", "대피 못 했어요", "도착 못함": the stem said with a no is a call for help, never a yes.
_NEGATION = re.compile(r"않|못|아니|없|안돼|안됨")
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_CODE = re.compile(r"^(.*?)(?:no|번호|가구|가구번호)?([0-9]{1,12})$")


class Reading(NamedTuple):
    answer: Answer
    code: int | None  # the home number written after it, if any
    # Said in the flood words themselves, not only a check-in word ("1", "OK", "괜찮아요"): a partner's reply must
    # be, so that a partner who is also in care answering their own check-in is never taken for "arrived".
    explicit: bool = True


def read(body: str) -> Reading | None:
    """The answer a text gives, with the home number written after it; None when it is not an answer."""
    text = _NOISE.sub("", unicodedata.normalize("NFKC", body)).casefold()
    code: int | None = None
    found = _CODE.match(text)
    if found and found[1]:
        text, code = found[1], int(found[2])
    if not text:
        return None
    for answer, stem in _STEMS:
        hit = stem.match(text)
        rest = text[hit.end() :] if hit else ""
        if hit and _REST.match(rest):
            negated = answer is not Answer.need_help and _NEGATION.search(rest)
            return Reading(Answer.need_help if negated else answer, code)
    # The router's own words from a household: "1", "괜찮아요", "OK" are safe; "도와주세요" asks for help.
    said = keyword(body) if code is None else None
    if said is not None and said[0] is Keyword.checkin:
        return Reading(Answer.safe, None, explicit=False)
    if said is not None and said[0] is Keyword.help:
        return Reading(Answer.need_help, None, explicit=False)
    return None
