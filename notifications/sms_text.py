"""How long an SMS is in segments, and how to split a long one into numbered parts that each fit a budget."""

from __future__ import annotations

import re

# GSM 03.38 default alphabet, in code order; 0x1B (ESC) introduces the extension table and is no character itself.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# GSM 03.38 extension table: each costs two septets (ESC + code).
GSM_EXTENDED = "\x0c^{}\\[~]|€"

_GSM_BASIC = frozenset(GSM_BASIC) - {"\x1b"}
_GSM_EXTENDED = frozenset(GSM_EXTENDED)
_GSM_ANY = _GSM_BASIC | _GSM_EXTENDED

GSM_SINGLE, GSM_PART = 160, 153  # septets; a concatenated part gives 7 of them to its header
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units

# Where a part may end: after a sentence end followed by whitespace ("다. " included), or at a newline.
_SENTENCE_END = re.compile(r"[.!?。！？…](?=\s)|\n")
_SPACE = re.compile(r"\s")


def is_gsm(text: str) -> bool:
    """Whether the text can go out in the GSM-7 alphabet (otherwise the whole message is UCS-2)."""
    # One set test in C: every message of a city-wide warning is asked this (a generator per message was a tenth
    # of the care part's Python time).
    return _GSM_ANY.issuperset(text)


def _units(text: str, gsm: bool) -> list[int]:
    """The cost of each character: septets in GSM-7, UTF-16 code units in UCS-2."""
    if gsm:
        return [2 if c in _GSM_EXTENDED else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def segments(text: str) -> int:
    """How many SMS segments the text takes (an empty text still takes one)."""
    gsm = is_gsm(text)
    # Counted in C first: every message of a city-wide warning is measured, and most fit, or cost one unit a
    # character, so the greedy packing below reduces to a division.
    wide = sum(text.count(c) for c in GSM_EXTENDED) if gsm else len(text.encode("utf-16-le", "surrogatepass")) // 2
    total = wide if not gsm else len(text) + wide
    if total <= (GSM_SINGLE if gsm else UCS2_SINGLE):
        return 1
    capacity = GSM_PART if gsm else UCS2_PART
    if total == len(text):
        return -(-total // capacity)
    # Pack greedily: a part never splits an escape sequence or a surrogate pair, so it may end a unit short.
    parts, used = 1, 0
    for unit in _units(text, gsm):
        if used + unit > capacity:
            parts, used = parts + 1, 0
        used += unit
    return parts


def split_sms(text: str, max_segments: int) -> list[str]:
    """The text as one message if it fits ``max_segments``; else parts "(1/3) …" that each fit, split between words."""
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    if segments(text) <= max_segments:
        return [text]
    # The prefix's width depends on how many parts there are: measure with the widest prefix of a digit count and
    # widen it if the split needs more parts than that count can number.
    digits = 1
    while True:
        widest = "({0}/{0}) ".format("9" * digits)
        pieces = _split(text.strip(), max_segments, widest)
        if len(str(len(pieces))) <= digits:
            break
        digits += 1
    total = len(pieces)
    return [f"({i}/{total}) {piece}" for i, piece in enumerate(pieces, start=1)]


def _split(text: str, max_segments: int, prefix: str) -> list[str]:
    """Cut the text into pieces that fit ``max_segments`` after ``prefix``, each at the best break in reach."""
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = _reach(text, start, max_segments, prefix)
        if end < len(text):
            end = _break_before(text, start, end)
        piece = text[start:end].rstrip()
        if piece:
            pieces.append(piece)
        start = end
        while start < len(text) and text[start].isspace():
            start += 1
    return pieces


def _reach(text: str, start: int, max_segments: int, prefix: str) -> int:
    """The furthest end such that ``prefix + text[start:end]`` still fits (at least one character, always)."""
    # Segments only grow as characters are added, so binary search is sound.
    lo, hi = start + 1, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if segments(prefix + text[start:mid]) <= max_segments:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _break_before(text: str, start: int, end: int) -> int:
    """Where to end a piece that may run to ``end``: a sentence end in its second half, else the last space."""
    # Search up to ``end + 1`` so a sentence end right at the limit still sees the whitespace after it.
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(text, start, end + 1) if m.end() <= end]
    if sentence_ends and sentence_ends[-1] - start > (end - start) // 2:
        return sentence_ends[-1]
    if text[end].isspace():
        return end
    spaces = [m.start() for m in _SPACE.finditer(text, start + 1, end)]
    if spaces:
        return spaces[-1]
    return end  # a single word longer than a whole part: cut it
