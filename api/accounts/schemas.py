"""The accounts API contract."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from api.platform.auth.tokens import Role
from api.platform.districts import check_district
from api.platform.phones import normalise_phone
from api.platform.types import DisplayName, DistrictCode, Input, Language, Output, PhoneInput

FcmToken = Annotated[str, Meta(min_length=20, max_length=4096, description="An FCM registration token")]
Email = Annotated[str, Meta(pattern=r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$", max_length=254)]
Password = Annotated[str, Meta(min_length=12, max_length=256)]


class Platform(StrEnum):
    android = "android"
    ios = "ios"
    web = "web"


class StaffRole(StrEnum):
    social_worker = Role.social_worker.value
    operator = Role.operator.value


class CitizenRead(Output, frozen=True):
    id: int
    phone: str
    language: Language
    district: str | None
    display_name: str | None
    created_at: datetime


class CitizenUpdate(Input):
    language: Language | UnsetType = UNSET
    district: DistrictCode | UnsetType | None = UNSET
    display_name: DisplayName | UnsetType | None = UNSET

    def __post_init__(self) -> None:
        if isinstance(self.district, str):
            check_district(self.district)

    def changes(self) -> dict[str, object]:
        return {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not UNSET}


class DeviceCreate(Input):
    platform: Platform
    fcm_token: FcmToken


class DeviceRead(Output, frozen=True):
    id: int
    platform: Platform
    created_at: datetime


class StaffCreate(Input):
    email: Email
    name: DisplayName
    role: StaffRole
    districts: list[DistrictCode] = msgspec.field(default_factory=list)
    password: Password | None = None
    phone: PhoneInput | None = None  # a mobile: urgent cases reach them by SMS while they are on duty

    def __post_init__(self) -> None:
        self.email = self.email.strip().lower()
        if self.phone is not None:
            self.phone = normalise_phone(self.phone)
        for code in self.districts:
            check_district(code)
        self.districts = sorted(set(self.districts))
        if self.role is StaffRole.social_worker and not self.districts:
            raise ValueError("a social worker serves at least one district")
        if self.role is StaffRole.operator and self.districts:
            raise ValueError("operators serve the whole city; give no districts")


class StaffRead(Output, frozen=True):
    id: int
    email: str
    name: str
    role: StaffRole
    districts: list[str]
    active: bool
    has_password: bool
    created_at: datetime
    phone: str | None = None


class DistrictRead(Output, frozen=True):
    code: str
    name_ko: str
    name_en: str


class DistrictSummary(Output, frozen=True):
    code: str
    name_ko: str
    name_en: str
    citizens: int
    citizens_with_app: int
    social_workers: int
