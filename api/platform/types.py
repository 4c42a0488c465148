"""Reusable constrained types and the base structs of the API contract."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

PhoneInput = Annotated[
    str, Meta(min_length=3, max_length=32, description="A mobile number, e.g. 010-1234-5678 or +821012345678")
]
DistrictCode = Annotated[
    str, Meta(pattern=r"^11[0-9]{3}$", description="One of Seoul's 25 district codes, e.g. 11680 (강남구)")
]
DongCode = Annotated[str, Meta(pattern=r"^11[0-9]{6}$", description="An 8-digit legal dong (법정동) code of Seoul")]
DisplayName = Annotated[str, Meta(min_length=1, max_length=100)]
Id = Annotated[int, Meta(ge=1, le=2**63 - 1, description="A database id")]


class Language(StrEnum):
    ko = "ko"
    en = "en"


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of request bodies: unknown fields are refused, not ignored; ``__post_init__`` may normalise."""


class Output(msgspec.Struct, frozen=True, kw_only=True):
    """Base of response bodies."""
