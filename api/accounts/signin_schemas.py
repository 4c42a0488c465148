"""Request and response bodies of sign-in."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from api.platform.phones import normalise_phone
from api.platform.types import Input, Language, Output, PhoneInput

OtpCode = Annotated[str, Meta(pattern=r"^[0-9]{6}$", description="The 6-digit code sent by SMS")]


class OtpRequest(Input):
    phone: PhoneInput
    language: Language = Language.ko

    def __post_init__(self) -> None:
        self.phone = normalise_phone(self.phone)


class OtpSent(Output, frozen=True):
    status: str
    expires_in: int
    detail: str


class TokenRequest(Input):
    phone: PhoneInput
    code: OtpCode

    def __post_init__(self) -> None:
        self.phone = normalise_phone(self.phone)


class TokenResponse(Output, frozen=True):
    access_token: str
    token_type: str
    expires_in: int
