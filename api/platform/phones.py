"""Phone numbers: parsed and validated with ``phonenumbers``, stored as E.164."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalise_phone(raw: str, *, mobile: bool = True) -> str:
    """``010-1234-5678``, ``+82 10 1234 5678`` or ``01012345678`` → ``+821012345678``.

    Numbers without a country code are read as Korean. Raises ``ValueError`` with a reason a person can act on.
    """
    try:
        number = phonenumbers.parse(raw, "KR")
    except NumberParseException as exc:
        raise ValueError(f"{raw!r} is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{raw!r} is not a valid phone number")
    if mobile and phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise ValueError(f"{raw!r} is not a mobile number that can receive SMS")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def can_receive_sms(e164: str) -> bool:
    """Whether a stored number is a mobile one (a text reaches it); a landline is reached by a call."""
    try:
        return phonenumbers.number_type(phonenumbers.parse(e164)) in _MOBILE_TYPES
    except NumberParseException:
        return False


def mask_phone(e164: str) -> str:
    """For logs: ``+821012345678`` → ``+8210****5678``."""
    return e164[:-8] + "****" + e164[-4:] if len(e164) > 8 else "****"
