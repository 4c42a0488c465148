"""The routing API contract: each category's department and deadline, and the share handled in time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta

from api.hazards.schemas import Category
from api.platform.types import Input, Output

MIN_DEADLINE_MINUTES = 10
MAX_DEADLINE_MINUTES = 60 * 24 * 90


class RoutingRead(Output, frozen=True, kw_only=True):
    category: Category
    department_ko: str
    department_en: str
    deadline_minutes: int
    updated_by: str
    updated_at: datetime


class RoutingUpdate(Input, kw_only=True):
    department_ko: Annotated[str, Meta(min_length=1, max_length=60, description="e.g. 도로과")]
    department_en: Annotated[str, Meta(min_length=1, max_length=80, description="e.g. Road Management Division")]
    deadline_minutes: Annotated[
        int,
        Meta(
            ge=MIN_DEADLINE_MINUTES,
            le=MAX_DEADLINE_MINUTES,
            description="How long the district has, from the first report (10 minutes to 90 days)",
        ),
    ]

    def __post_init__(self) -> None:
        self.department_ko = self.department_ko.strip()
        self.department_en = self.department_en.strip()
        if not self.department_ko or not self.department_en:
            raise ValueError("a department needs a name in Korean and in English")


class DistrictTimeliness(Output, frozen=True, kw_only=True):
    district: str
    name_ko: str
    name_en: str
    handled: int
    handled_in_time: int
    # None when nothing was handled in the period: no share, rather than a share of 0 or 1.
    share_in_time: float | None
    open_overdue: int


class Timeliness(Output, frozen=True, kw_only=True):
    since: datetime
    until: datetime
    districts: list[DistrictTimeliness]
