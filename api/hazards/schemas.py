"""The hazards API contract: reports, incidents, operators' actions and the public GeoJSON feed."""

from __future__ import annotations

import math
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from msgspec import Meta

from api.platform.errors import Problem
from api.platform.geo import SEOUL_BOUNDS
from api.platform.types import Id, Input, Output


class Category(StrEnum):
    sinkhole = "sinkhole"
    road_damage = "road_damage"
    fallen_tree = "fallen_tree"
    flooding = "flooding"
    landslide_risk = "landslide_risk"
    fire_smoke = "fire_smoke"
    gas_smell = "gas_smell"
    damaged_structure = "damaged_structure"
    broken_streetlight = "broken_streetlight"
    icy_road = "icy_road"
    other = "other"


class Status(StrEnum):
    submitted = "submitted"
    acknowledged = "acknowledged"
    in_progress = "in_progress"
    resolved = "resolved"
    rejected = "rejected"
    # Folded into another incident by an operator; its reports moved there.
    merged = "merged"


OPEN_STATUSES = frozenset({Status.submitted, Status.acknowledged, Status.in_progress})

# Seoul, with about 2 km of margin so that a report from the city's very edge is not refused.
REPORT_BOUNDS = SEOUL_BOUNDS.widened(0.02)

Description = Annotated[str, Meta(max_length=4000, description="What is there; at most 4,000 characters")]
Address = Annotated[str, Meta(min_length=1, max_length=300, description="A street address or landmark")]
Reason = Annotated[str, Meta(min_length=1, max_length=1000)]
AwareDatetime = Annotated[datetime, Meta(tz=True)]
PublicChoice = Annotated[
    bool,
    Meta(
        description="Show this report on the public map and Open311: its description without phone numbers or "
        "e-mail addresses, and its place to about 50 m, never who sent it. Private (false) unless chosen."
    ),
]


def check_in_seoul(lat: float, lon: float) -> None:
    """Raise ``ValueError`` with the reason unless (lat, lon) is in Seoul."""
    if not REPORT_BOUNDS.contains(lat, lon):  # NaN is outside too
        raise ValueError(f"the location ({lat}, {lon}) is outside Seoul: {REPORT_BOUNDS.describe()} (WGS84 degrees)")


def parse_bbox(raw: str | None) -> tuple[float, float, float, float]:
    """``minLon,minLat,maxLon,maxLat`` as numbers; all of Seoul when not given."""
    if raw is None or not raw.strip():
        return (REPORT_BOUNDS.west, REPORT_BOUNDS.south, REPORT_BOUNDS.east, REPORT_BOUNDS.north)
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise Problem("bbox must be four numbers: minLon,minLat,maxLon,maxLat.", code="invalid_bbox")
    min_lon, min_lat, max_lon, max_lat = values
    if not (min_lon < max_lon and min_lat < max_lat):
        raise Problem("bbox must be minLon,minLat,maxLon,maxLat with min below max.", code="invalid_bbox")
    if not (min_lon >= -180 and max_lon <= 180 and min_lat >= -90 and max_lat <= 90):
        raise Problem("bbox must be in WGS84 degrees (longitude ±180, latitude ±90).", code="invalid_bbox")
    return min_lon, min_lat, max_lon, max_lat


def parse_choices(raw: str | None, kind: type[StrEnum], name: str) -> list[Any] | None:
    """A comma-separated list of enum values, or None when not given."""
    if raw is None or not raw.strip():
        return None
    chosen = []
    for part in raw.split(","):
        try:
            chosen.append(kind(part.strip()))
        except ValueError:
            valid = ", ".join(v.value for v in kind)
            raise Problem(f"{name} {part.strip()!r} is not one of: {valid}.", code=f"invalid_{name}") from None
    return chosen


class Location(Input, kw_only=True):
    lat: float
    lon: float
    address: Address | None = None

    def __post_init__(self) -> None:
        check_in_seoul(self.lat, self.lon)
        if self.address is not None:
            self.address = self.address.strip() or None


class HazardReportCreate(Input, kw_only=True):
    category: Category
    location: Location
    description: Description = ""
    observed_at: AwareDatetime | None = None
    public: PublicChoice = False
    updates: Annotated[
        Literal["every", "end"],
        Meta(description="Hear of every status change (default), or only when it is resolved or rejected"),
    ] = "every"

    def __post_init__(self) -> None:
        self.description = self.description.strip()


class LocationRead(Output, frozen=True, kw_only=True):
    lat: float
    lon: float
    address: str | None


class PhotoRead(Output, frozen=True, kw_only=True):
    id: int
    content_type: str
    size_bytes: int
    url: str
    created_at: datetime


class IncidentSummary(Output, frozen=True, kw_only=True):
    """The incident a report belongs to, as its reporter sees it."""

    id: int
    category: Category
    status: Status
    status_reason: str | None
    report_count: int
    others_reporting: int
    first_reported_at: datetime
    last_reported_at: datetime
    updated_at: datetime


class HazardReportRead(Output, frozen=True, kw_only=True):
    id: int
    category: Category
    description: str
    location: LocationRead
    observed_at: datetime
    reported_at: datetime
    source: str
    public: bool
    updates: str
    photos: list[PhotoRead]
    incident: IncidentSummary


class HazardReportPage(Output, frozen=True, kw_only=True):
    items: list[HazardReportRead]
    next_before_id: int | None


class StatusChange(Input, kw_only=True):
    status: Status
    reason: Reason | None = None

    def __post_init__(self) -> None:
        if self.status in (Status.submitted, Status.merged):
            raise ValueError(f"an incident cannot be set to {self.status.value}; merge it or pick another status")
        if self.reason is not None:
            self.reason = self.reason.strip() or None
        if self.status is Status.rejected and self.reason is None:
            raise ValueError("a rejection needs a reason, which is sent to the people who reported it")


class MergeIn(Input, kw_only=True):
    into: Id


class SplitIn(Input, kw_only=True):
    report_ids: Annotated[list[Id], Meta(min_length=1, max_length=1000)]

    def __post_init__(self) -> None:
        self.report_ids = sorted(set(self.report_ids))


class IncidentReportRead(Output, frozen=True, kw_only=True):
    """A report inside an incident, as operators see it (without who sent it)."""

    id: int
    category: Category
    description: str
    location: LocationRead
    observed_at: datetime
    reported_at: datetime
    source: str
    photos: int


class IncidentRead(Output, frozen=True, kw_only=True):
    id: int
    category: Category
    status: Status
    status_reason: str | None
    lat: float
    lon: float
    merged_into: int | None
    report_count: int
    first_reported_at: datetime
    last_reported_at: datetime
    status_changed_at: datetime
    updated_at: datetime
    # Who answers for it (api/hazards/routing.py): null only before the routing job placed an old incident.
    district: str | None
    department_ko: str | None
    department_en: str | None
    due_at: datetime | None
    handled_at: datetime | None
    overdue: bool
    # "Me too": people following it without a report of their own; weight counts each person behind it once.
    followers: int
    weight: int
    # Opened by citizens' reports, or by a city sensor's rule (which sensor and rule, the measure that tripped it).
    source: str = "reports"
    sensor_id: str | None = None
    sensor_rule: str | None = None
    sensor_measure: float | None = None


class IncidentDetail(IncidentRead, frozen=True, kw_only=True):
    reports: list[IncidentReportRead]


class PointGeometry(Output, frozen=True, kw_only=True):
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float]


class IncidentProperties(Output, frozen=True, kw_only=True):
    """What the public sees of an incident: counted and dated from its public reports; no reporter, no free text."""

    category: Category
    status: Status
    status_notes: str | None
    report_count: int
    first_reported_at: datetime
    last_reported_at: datetime
    updated_at: datetime


class IncidentFeature(Output, frozen=True, kw_only=True):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: PointGeometry
    properties: IncidentProperties


class IncidentFeed(Output, frozen=True, kw_only=True):
    """A GeoJSON FeatureCollection (RFC 7946), newest first; ``next_before_id`` pages on."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[IncidentFeature]
    next_before_id: int | None


class Updates(StrEnum):
    """How often a reporter hears of their report's incident: every status change, or only its end."""

    every = "every"
    end = "end"


class UpdatesChoice(Input, kw_only=True):
    updates: Updates


class FeedbackIn(Input, kw_only=True):
    """A reporter's answer to "fixed?" after their incident was resolved."""

    fixed: bool
    note: Reason | None = None

    def __post_init__(self) -> None:
        if self.note is not None:
            self.note = self.note.strip() or None


class FeedbackRead(Output, frozen=True, kw_only=True):
    incident_id: int
    fixed: bool
    note: str | None
    answered_at: datetime
    # Whether this answer reopened the incident; ``not_reopened_because`` says why a "no" did not.
    reopened: bool
    not_reopened_because: str | None
    status: Status


class FollowRead(Output, frozen=True, kw_only=True):
    incident_id: int
    following: bool
    followers: int
    weight: int


class BulkStatusChange(StatusChange, kw_only=True):
    incident_ids: Annotated[list[Id], Meta(min_length=1, max_length=200)]
