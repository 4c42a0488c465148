"""Taking contact details out of free text before the public sees it: phone numbers and e-mail addresses."""

from __future__ import annotations

import re

from phonenumbers import Leniency, PhoneNumberMatcher

PHONE_MARK = "[전화번호 삭제]"
EMAIL_MARK = "[이메일 삭제]"

# Pragmatic, not RFC 5322: what people type as an address, also when glued to Korean text around it.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# The matcher skips a number touching a Latin letter ("tel010-…"), as a guard against ids; in a description
# that is more likely a number typed in a hurry, so it looks at a copy with such letters blanked.
_LETTER_AT_NUMBER = re.compile(r"[A-Za-z](?=[\d+＋(（])|(?<=\d)[A-Za-z]")


def redact_contacts(text: str) -> str:
    """The text with every phone number (Korean or international) and e-mail address replaced by a mark."""
    # E-mail first: its digits must not be read as a phone number, and the marks hold no digits.
    text = _EMAIL.sub(EMAIL_MARK, text)
    # One character for one keeps the matcher's offsets valid in the original text.
    probe = _LETTER_AT_NUMBER.sub(" ", text)
    # VALID, not POSSIBLE: POSSIBLE also takes years, house numbers and coordinates ("2024", "110").
    parts: list[str] = []
    last = 0
    for match in PhoneNumberMatcher(probe, "KR", leniency=Leniency.VALID):
        parts += [text[last : match.start], PHONE_MARK]
        last = match.end
    parts.append(text[last:])
    return "".join(parts)
