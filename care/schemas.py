"""The care API contract: enrolment, plans, check-ins, signals and help."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from itertools import pairwise
from typing import Annotated

import msgspec
from msgspec import Meta

from api.platform import boundaries
from api.platform.districts import check_district
from api.platform.phones import normalise_phone
from api.platform.types import DisplayName, DistrictCode, DongCode, Input, Language, Output, PhoneInput
from care.steps import AskBy, GuardianBy, UrgentBy

LocalTime = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, Asia/Seoul")]
Minutes = Annotated[int, Meta(ge=0, le=2880)]
Text = Annotated[str, Meta(min_length=1, max_length=500)]


class ContactBy(StrEnum):
    app = "app"
    sms = "sms"
    both = "both"
    voice = "voice"  # a check-in call at each ask
    sms_voice = "sms+voice"  # a text first, then a call when the text goes unanswered


class Consent(Input, kw_only=True):
    by: DisplayName = msgspec.field(default="self")  # the person, or the name of their legal representative
    scope: Text = "안부 확인 문자·앱 알림, 미응답 시 보호자와 담당 사회복지사 연락"
    at: datetime | None = None


class GuardianIn(Input, kw_only=True):
    name: DisplayName
    phone: PhoneInput
    relation: Annotated[str, Meta(min_length=1, max_length=50)]
    language: Language = Language.ko

    def __post_init__(self) -> None:
        self.phone = normalise_phone(self.phone)


class QuietHours(Input, kw_only=True):
    start: LocalTime
    end: LocalTime


class LadderSteps(Input, kw_only=True):
    """How each step that tells someone reaches them (``care.steps``); a step left out follows ``contact_by``."""

    first_ask: AskBy | None = None
    ask_again: AskBy | None = None
    guardian: GuardianBy | None = None
    urgent: UrgentBy | None = None


class Ladder(Input, kw_only=True):
    """After the window closes: guardian, then a case, then urgent (minutes after the step before); and how each
    step reaches someone, when the plan says it."""

    guardian_after_minutes: Minutes = 30
    case_after_minutes: Minutes = 30
    urgent_after_minutes: Minutes = 120
    steps: LadderSteps = msgspec.field(default_factory=LadderSteps)


class PlanIn(Input, kw_only=True):
    times: Annotated[list[LocalTime], Meta(min_length=1, max_length=12)]
    days: Annotated[list[Annotated[int, Meta(ge=1, le=7)]], Meta(min_length=1, max_length=7)] = msgspec.field(
        default_factory=lambda: [1, 2, 3, 4, 5, 6, 7]
    )
    window_minutes: Annotated[int, Meta(ge=10, le=720)] = 120
    quiet_hours: QuietHours | None = None
    ladder: Ladder = msgspec.field(default_factory=Ladder)
    accept_signals: bool = True
    # No sign of life of any kind for this long starts the inactivity ladder (docs/care.md, "Home sensors").
    inactivity_hours: Annotated[int, Meta(ge=1, le=168)] = 24

    def __post_init__(self) -> None:
        self.times = sorted(set(self.times))
        self.days = sorted(set(self.days))
        minutes = [int(t[:2]) * 60 + int(t[3:]) for t in self.times]
        gaps = [b - a for a, b in pairwise(minutes)] + [minutes[0] + 1440 - minutes[-1]]
        if self.window_minutes > min(gaps):
            raise ValueError(
                f"a {self.window_minutes}-minute window is longer than the {min(gaps)} minutes between check-ins"
            )
        if self.quiet_hours is not None:
            for t in self.times:
                if _within(t, self.quiet_hours.start, self.quiet_hours.end):
                    raise ValueError(f"check-in time {t} falls in the quiet hours")

    def local_times(self) -> list[time]:
        return [time.fromisoformat(t) for t in self.times]


def _within(t: str, start: str, end: str) -> bool:
    return start <= t < end if start <= end else t >= start or t < end


Latitude = Annotated[float, Meta(ge=-90, le=90, description="WGS84 degrees north")]
Longitude = Annotated[float, Meta(ge=-180, le=180, description="WGS84 degrees east")]
# Who a new person is reached by when nobody says: a text reaches any phone, an app only those who have it.
DEFAULT_CONTACT = ContactBy.sms


class Home(Input, kw_only=True):
    """Where the person lives: a point, or a dong picked from Seoul's 467 (``api.platform.boundaries``).

    A warning over it reaches them, and their nearest shelter is found from a point. A point outside Seoul is
    refused by the service (422 ``home_outside_seoul``).
    """

    lat: Latitude | None = None
    lon: Longitude | None = None
    dong: DongCode | None = None

    def __post_init__(self) -> None:
        given = (self.lat is not None, self.lon is not None)
        if self.dong is not None:
            if any(given):
                raise ValueError("home is either a point (lat, lon) or a dong, not both")
            if self.dong not in boundaries.dongs():
                raise ValueError(f"there is no dong {self.dong} in Seoul")
        elif not all(given):
            raise ValueError("home needs both lat and lon, or a dong")


class RecipientCreate(Input, kw_only=True):
    name: DisplayName
    phone: PhoneInput
    language: Language = Language.ko
    district: DistrictCode
    address: Text
    birth_date: date | None = None  # from 1900-01-01 to today in Seoul, else 422 ``birth_date_out_of_range``
    home: Home | None = None
    contact_by: ContactBy = DEFAULT_CONTACT
    consent: Consent = msgspec.field(default_factory=Consent)
    reach_despite_opt_out: bool = True
    guardians: Annotated[list[GuardianIn], Meta(max_length=5)] = msgspec.field(default_factory=list)
    plan: PlanIn

    def __post_init__(self) -> None:
        self.phone = normalise_phone(self.phone)
        check_district(self.district)
        phones = [g.phone for g in self.guardians]
        if self.phone in phones:
            raise ValueError("a guardian must be someone else: their number is the person's own")


class PlanUpdate(PlanIn, kw_only=True):
    """A whole new plan; the ladder starts again from the next check-in time."""


class PauseIn(Input, kw_only=True):
    reason: Text
    until: datetime


class GuardianRead(Output, frozen=True):
    position: int
    name: str
    phone: str
    relation: str
    language: str


class StepsRead(Output, frozen=True):
    """How each step reaches someone: ``null`` where the plan says nothing (``contact_by`` decides)."""

    first_ask: str | None
    ask_again: str | None
    guardian: str | None
    urgent: str | None


class LadderRead(Output, frozen=True):
    guardian_after_minutes: int
    case_after_minutes: int
    urgent_after_minutes: int
    steps: StepsRead  # as the plan says them
    steps_in_effect: StepsRead  # as the ladder takes them: the plan's, else contact_by's


class PlanRead(Output, frozen=True):
    times: list[str]
    days: list[int]
    window_minutes: int
    quiet_hours: dict[str, str] | None
    ladder: LadderRead
    accept_signals: bool
    inactivity_hours: int
    paused_until: datetime | None
    pause_reason: str | None
    next_check_in: datetime | None
    step: int
    last_contact_at: datetime | None


class HomeRead(Output, frozen=True):
    lat: float | None  # None: the home was given as a dong
    lon: float | None
    dong: str | None  # the dong given, or the one the point lies in; None for a home kept before dongs were
    dong_name_ko: str | None
    dong_name_en: str | None


class RecipientRead(Output, frozen=True):
    id: int
    name: str
    phone: str
    language: str
    district: str
    address: str
    birth_date: date | None
    home: HomeRead | None
    contact_by: str
    consent: dict[str, object]
    reach_despite_opt_out: bool
    guardians: list[GuardianRead]
    plan: PlanRead
    created_at: datetime


class SignalKind(StrEnum):
    motion = "motion"
    door = "door"
    power = "power"


class SignalIn(Input, kw_only=True):
    recipient_id: Annotated[int, Meta(ge=1)]
    device_id: Annotated[str, Meta(min_length=1, max_length=100)]
    kind: SignalKind
    # With its offset: a time without one names no instant. Absent, the signal is taken as now.
    at: Annotated[datetime, Meta(tz=True)] | None = None


class EmergencyKind(StrEnum):
    fire = "fire"
    smoke = "smoke"
    gas = "gas"
    fall = "fall"


DeviceId = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")]


class SensorEventIn(Input, kw_only=True):
    """A home sensor's emergency: fire, smoke, gas or a fall."""

    recipient_id: Annotated[int, Meta(ge=1)]
    device_id: DeviceId
    kind: EmergencyKind
    # With its offset; absent, now. The same (device, kind, at) again is a duplicate and changes nothing.
    at: Annotated[datetime, Meta(tz=True)] | None = None


class HeartbeatIn(Input, kw_only=True):
    """A home device is alive (not a sign of the person's life): its heartbeat, and how often to expect one."""

    recipient_id: Annotated[int, Meta(ge=1)]
    device_id: DeviceId
    at: Annotated[datetime, Meta(tz=True)] | None = None
    # Silent for longer than this, the device is a problem for the social worker; absent, kept as it was (6 h).
    silent_after_minutes: Annotated[int, Meta(ge=5, le=10080)] | None = None


class EmergencyRead(Output, frozen=True):
    case_id: int
    new_case: bool
    duplicate: bool  # this very event (device, kind, time) was received before
    needs_119: bool


class HeartbeatRead(Output, frozen=True):
    device_id: str
    last_seen_at: datetime


class CheckinRead(Output, frozen=True):
    recipient_id: int
    channel: str
    kind: str
    at: datetime
    counted: bool
    closed_escalation: bool


class HelpRead(Output, frozen=True):
    case_id: int
    new_case: bool


class ShiftIn(Input):
    """One shift of a rota, in Asia/Seoul local time: ``mon 09:00`` to ``mon 18:00``, told in this order."""

    starts: Annotated[str, Meta(max_length=16, examples=["mon 09:00"])] = msgspec.field(name="from")
    ends: Annotated[str, Meta(max_length=16, examples=["mon 18:00"])] = msgspec.field(name="to")
    staff: Annotated[list[Annotated[int, Meta(ge=1)]], Meta(min_length=1, max_length=10)]


class RotaIn(Input):
    shifts: Annotated[list[ShiftIn], Meta(min_length=1, max_length=200)]


class ShiftRead(Output, frozen=True):
    starts: str = msgspec.field(name="from")
    ends: str = msgspec.field(name="to")
    staff: list[int]


class RotaRead(Output, frozen=True):
    district: str | None  # None: the city night desk
    shifts: list[ShiftRead]


class AckWeek(Output, frozen=True):
    """How fast one district's urgent cases were acknowledged in one week (Monday, Seoul)."""

    district: str
    week: date
    cases: int
    p50_s: float | None  # None when none was acknowledged
    p95_s: float | None
    within_60s: float  # share of the week's cases, acknowledged or not
    meets_tsa: bool
