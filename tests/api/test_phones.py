"""Phone numbers as people type them."""

from __future__ import annotations

import pytest

from api.platform.phones import mask_phone, normalise_phone


@pytest.mark.parametrize(
    "typed",
    ["010-1234-5678", "01012345678", "010 1234 5678", "+82 10-1234-5678", "+821012345678", "(010) 1234-5678"],
)
def test_korean_mobiles_become_e164(typed):
    assert normalise_phone(typed) == "+821012345678"


def test_foreign_mobiles_keep_their_country():
    assert normalise_phone("+1 650-253-0000", mobile=False) == "+16502530000"


@pytest.mark.parametrize(
    ("typed", "reason"), [("02-2133-0000", "not a mobile"), ("010-12", "not a valid"), ("call me", "not a")]
)
def test_numbers_that_cannot_get_sms_are_explained(typed, reason):
    with pytest.raises(ValueError, match=reason):
        normalise_phone(typed)


def test_logs_see_a_masked_number():
    assert mask_phone("+821012345678") == "+8210****5678"
