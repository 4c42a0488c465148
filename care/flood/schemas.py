"""The flood registry's contract: a flood-risk household, its consent and 동행파트너, and the answers to a check."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from api.platform.phones import normalise_phone
from api.platform.types import DisplayName, Id, Input, Language, Output, PhoneInput
from care.schemas import Home

Text = Annotated[str, Meta(min_length=1, max_length=500)]


class Housing(StrEnum):
    semi_basement = "semi_basement"  # 반지하
    basement = "basement"  # 지하
    ground_floor = "ground_floor"
    low_lying = "low_lying"  # a low-lying street that floods (저지대)
    other = "other"


class PartnerRole(StrEnum):
    neighbour = "neighbour"  # 이웃
    tongjang = "tongjang"  # 통장
    official = "official"  # 동 주민센터 공무원


class Answer(StrEnum):
    """What someone says back: a partner ``arrived`` / ``evacuated`` / ``need_help``; the household ``safe`` /
    ``evacuated`` / ``need_help``."""

    arrived = "arrived"  # 도착
    evacuated = "evacuated"  # 대피 완료
    need_help = "need_help"  # 도움 필요
    safe = "safe"  # 안전 (the household itself)


PARTNER_ANSWERS = frozenset({Answer.arrived, Answer.evacuated, Answer.need_help})
HOUSEHOLD_ANSWERS = frozenset({Answer.safe, Answer.evacuated, Answer.need_help})


class FloodConsent(Input, kw_only=True):
    """The household's consent, required: who gave it (the person, or their representative) and to what."""

    by: DisplayName
    scope: Text = "침수 위험 시 안부 확인 문자와 동행파트너 방문, 미응답 시 담당 공무원 연락"
    at: Annotated[datetime, Meta(tz=True)] | None = None  # when it was given (with its offset); absent, now


class PartnerIn(Input, kw_only=True):
    name: DisplayName
    role: PartnerRole
    phone: PhoneInput
    language: Language = Language.ko

    def __post_init__(self) -> None:
        self.phone = normalise_phone(self.phone)


class HouseholdIn(Input, kw_only=True):
    """A flood-risk home. ``phones`` may be empty (the partners are asked all the same); someone in care is linked
    by ``recipient_id``, whose phone is the household's when none is given. A home phone may be a landline: it is
    asked by call (partners, who are asked to go, need a mobile)."""

    name: DisplayName
    address: Text
    housing: Housing = Housing.semi_basement
    home: Home
    phones: Annotated[list[PhoneInput], Meta(max_length=3)] = msgspec.field(default_factory=list)
    language: Language = Language.ko
    recipient_id: Id | None = None
    notes: Annotated[str, Meta(max_length=500)] | None = None
    partners: Annotated[list[PartnerIn], Meta(min_length=1, max_length=5)]

    def __post_init__(self) -> None:
        self.phones = list(dict.fromkeys(normalise_phone(p, mobile=False) for p in self.phones))
        partner_phones = [p.phone for p in self.partners]
        if len(set(partner_phones)) != len(partner_phones):
            raise ValueError("each partner needs a phone of their own: two partners have the same number")
        if set(partner_phones) & set(self.phones):
            raise ValueError("a partner must be someone else: their number is one of the household's own")


class HouseholdCreate(HouseholdIn, kw_only=True):
    consent: FloodConsent


class HouseholdUpdate(HouseholdIn, kw_only=True):
    """The whole household again: details and partners replace the stored ones (consent stays as given)."""


class WithdrawIn(Input, kw_only=True):
    reason: Text
    by: DisplayName = "self"


class AnswerIn(Input, kw_only=True):
    """An answer from the app: a partner's ``arrived`` / ``evacuated`` / ``need_help``, the household's ``safe`` /
    ``evacuated`` / ``need_help``; staff may give any, for someone who told them by phone."""

    answer: Answer


class PartnerRead(Output, frozen=True):
    id: int
    position: int
    name: str
    role: str
    phone: str
    language: str


class HouseholdRead(Output, frozen=True):
    id: int
    name: str
    address: str
    housing: str
    lat: float | None
    lon: float | None
    dong: str
    dong_name_ko: str
    district: str
    phones: list[str]
    language: str
    recipient_id: int | None
    notes: str | None
    consent: dict[str, object]
    withdrawn_at: datetime | None
    withdrawn_why: str | None
    partners: list[PartnerRead]
    created_at: datetime
    updated_at: datetime


class Status(StrEnum):
    """A check as the operators' page counts it."""

    need_help = "need_help"  # someone's latest answer is 도움 필요, and no staff member has resolved it
    confirmed = "confirmed"  # the household said safe or evacuated, or a partner arrived or evacuated them
    not_yet = "not_yet"  # nobody has answered


class PartnerAskRead(Output, frozen=True):
    partner_id: int
    name: str
    role: str
    answer: str | None
    answered_at: datetime | None


class CheckRead(Output, frozen=True):
    id: int
    household_id: int
    household_name: str
    alert_id: int
    latest_alert_id: int
    dong: str
    asked_at: datetime
    status: Status
    answer: str | None
    answered_at: datetime | None
    silent_told_at: datetime | None
    help_told_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    partners: list[PartnerAskRead]


class DongCount(Output, frozen=True):
    """One dong's open checks: how many households, and how many are confirmed, not yet, needing help."""

    dong: str
    dong_name_ko: str
    dong_name_en: str
    district: str
    households: int
    confirmed: int
    not_yet: int
    need_help: int
