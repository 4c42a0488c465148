"""Text rules for Korean numbers: carriers take EUC-KR (KS X 1001 완성형) only, and measure a text in its bytes.

Every SMS to a +82 number is made EUC-KR-safe when it is enqueued (``prepare``): first NFC, then the table
``REPLACEMENTS`` (emoji and typography with a plain equivalent), then any character still outside EUC-KR is
refused with an error naming it, so the caller's transaction fails rather than a carrier dropping the text.
An SMS is at most 90 bytes of EUC-KR and an LMS at most 2,000 (each Hangul syllable is 2 bytes, ASCII 1).
"""

from __future__ import annotations

import unicodedata

SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000
ENCODING = "euc-kr"

# What replaces a character carriers cannot carry; docs/messages.md lists the same table. Emoji become a
# bracketed word (as Korean public notices write them), typography its nearest EUC-KR sign, invisible
# characters nothing.
REPLACEMENTS: dict[str, str] = {
    # emoji seen in alerts and replies
    "🚨": "[긴급]",
    "⚠": "[주의]",
    "❗": "!",
    "❕": "!",
    "‼": "!!",
    "❓": "?",
    "✅": "[확인]",
    "✔": "[확인]",
    "✓": "[확인]",
    "❌": "[X]",
    "📢": "[알림]",
    "📣": "[알림]",
    "🔔": "[알림]",
    "🏠": "[집]",
    "🏥": "[병원]",
    "🚑": "[구급차]",
    "🔥": "[화재]",
    "🌊": "[홍수]",
    "🌧": "[비]",
    "☔": "[비]",
    "❄": "[눈]",
    "🌡": "[기온]",
    "☀": "[맑음]",
    "📞": "[전화]",
    "☎": "[전화]",
    "📍": "[위치]",
    "👉": "→",
    "➡": "→",
    "⬅": "←",
    "🙂": "",
    "😊": "",
    "🙏": "",
    "❤": "",
    "💙": "",
    # typography without an EUC-KR code point
    "—": "-",  # em dash (EUC-KR has only U+2015, which phones render unevenly)
    "–": "-",
    "‐": "-",
    "‑": "-",
    "−": "-",
    "•": "·",
    "◦": "·",
    "‣": "·",
    "\u00a0": " ",  # no-break space
    "\u2009": " ",
    "\u202f": " ",
    "\u3000": " ",
    "\u200b": "",  # zero-width space
    "\u200d": "",  # zero-width joiner, inside emoji sequences
    "\ufe0e": "",  # variation selectors: the emoji's own replacement stands for both forms
    "\ufe0f": "",
    "\u2060": "",
}


# What stands in for a character of the text filling a template that EUC-KR cannot carry (notifications.service).
UNKNOWN = "?"


class NotEucKr(ValueError):
    """A text holds characters that no Korean carrier can carry and that the table does not replace."""

    def __init__(self, characters: list[str]) -> None:
        self.characters = characters
        names = ", ".join(f"{c!r} (U+{ord(c):04X} {unicodedata.name(c, 'unnamed')})" for c in characters)
        super().__init__(
            f"the text holds characters outside EUC-KR that Korean carriers refuse: {names}; "
            "use a character of KS X 1001 (완성형) or add a replacement to notifications.korean_text.REPLACEMENTS"
        )


def is_korean(phone: str) -> bool:
    """Whether an E.164 number is Korean, and so takes these rules."""
    return phone.startswith("+82")


# Python's codec spells a syllable outside the 2,350 as an 8-byte jamo sequence that starts with the Hangul
# filler (KS X 1001 annex 3); carriers and phones do not compose it, so such a syllable counts as outside.
_MAKE_UP = b"\xa4\xd4"


def _encode(text: str) -> bytes | None:
    try:
        encoded = text.encode(ENCODING)
    except UnicodeEncodeError:
        return None
    if _MAKE_UP in encoded and any(len(c.encode(ENCODING)) > 2 for c in text):
        return None
    return encoded


def encodable(text: str) -> bool:
    return _encode(text) is not None


def euckr_bytes(text: str) -> int:
    """The text's length as carriers count it; raises ``NotEucKr`` for a text it cannot carry."""
    encoded = _encode(text)
    if encoded is None:
        raise NotEucKr(_outside(text))
    return len(encoded)


def prepare(text: str) -> str:
    """The text made EUC-KR-safe by the table; ``NotEucKr`` naming what is left outside EUC-KR."""
    text = unicodedata.normalize("NFC", text)
    if encodable(text):
        return text
    replaced = "".join(REPLACEMENTS.get(c, c) for c in text)
    # A word replacing an emoji at the very start or before a space must not leave doubled spaces.
    replaced = " ".join(part for part in replaced.split(" ") if part) if "  " in replaced else replaced
    left = _outside(replaced)
    if left:
        raise NotEucKr(left)
    return replaced


def fits_sms(text: str) -> bool:
    """Whether an EUC-KR-safe text goes as one SMS; longer ones go as one LMS."""
    return euckr_bytes(text) <= SMS_MAX_BYTES


def _outside(text: str) -> list[str]:
    return list(dict.fromkeys(c for c in text if not encodable(c)))
