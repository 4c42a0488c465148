"""The sensors API's contract: the registry, a gateway's batch of readings, and what became of each reading."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, NamedTuple

from msgspec import Meta

from api.platform.types import Input, Output

SensorId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9._:-]{1,64}$", examples=["rain-11110-01"])]
MAX_BATCH = 10_000


class SensorKind(StrEnum):
    rain_gauge = "rain_gauge"  # mm of rain since the sensor's previous reading
    road_water = "road_water"  # cm of water on the road
    river_level = "river_level"  # m of river level above its gauge's zero
    underpass_water = "underpass_water"  # cm of water in an underpass


class Bounds(NamedTuple):
    low: float
    high: float
    unit: str


# What a reading of each kind can possibly be; outside it the reading is refused (a broken sensor, a wrong unit).
BOUNDS = {
    SensorKind.rain_gauge: Bounds(0, 100, "mm"),
    SensorKind.road_water: Bounds(0, 300, "cm"),
    SensorKind.river_level: Bounds(-5, 30, "m"),
    SensorKind.underpass_water: Bounds(0, 1000, "cm"),
}


class RuleIn(Input):
    """A threshold rule: the level itself (``window_minutes`` 0) or a rain sum over the window."""

    name: Annotated[str, Meta(pattern=r"^[a-z0-9_]{1,40}$")]
    trip_at: float
    clear_at: float
    window_minutes: Annotated[int, Meta(ge=0, le=1440)] = 0
    trip_after_minutes: Annotated[int, Meta(ge=0, le=1440)] = 0
    clear_after_minutes: Annotated[int, Meta(ge=0, le=1440)] = 30

    def __post_init__(self) -> None:
        if not self.clear_at < self.trip_at:
            raise ValueError("`clear_at` must be below `trip_at` (the rule stands down below where it trips)")


class SensorCreate(Input):
    id: SensorId
    kind: SensorKind
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    lat: Annotated[float, Meta(ge=-90, le=90)]
    lon: Annotated[float, Meta(ge=-180, le=180)]
    owner: Annotated[str, Meta(min_length=1, max_length=200, examples=["서울시 물순환안전국"])]
    # An alert covers the sensor's dong, or a circle of this radius around it.
    radius_m: Annotated[int, Meta(ge=50, le=20000)] | None = None
    # Absent: Seoul's defaults for the kind (a river level has none: its rules must be given).
    rules: Annotated[list[RuleIn], Meta(min_length=1, max_length=10)] | None = None


class RuleRead(Output, frozen=True):
    name: str
    window_minutes: int
    trip_at: float
    clear_at: float
    trip_after_minutes: int
    clear_after_minutes: int
    tripped: bool
    alert_id: int | None  # the alert the trip raised, while tripped
    incident_id: int | None = None  # its incident on the hazard desk, while tripped
    alert_expires_at: datetime | None = None  # when the alert in force (the trip's, or its renewal) expires


class SensorRead(Output, frozen=True):
    id: str
    kind: SensorKind
    name: str
    lat: float
    lon: float
    dong: str
    dong_name_ko: str
    district: str
    owner: str
    radius_m: int | None
    unit: str
    rules: list[RuleRead]


class ReadingIn(Input):
    sensor_id: Annotated[str, Meta(min_length=1, max_length=64)]
    at: Annotated[datetime, Meta(tz=True)]
    value: float


class BatchIn(Input):
    # The 10,000 limit is checked by the service, for a 413 rather than a 400.
    readings: Annotated[list[ReadingIn], Meta(min_length=1)]


class Refused(Output, frozen=True):
    """A reading not stored, or stored before: its place in the batch, and why."""

    index: int
    sensor_id: str
    at: datetime
    code: str  # unknown_sensor, in_future, too_old, impossible_value, duplicate
    reason: str


class BatchRead(Output, frozen=True):
    """Good readings are stored (committed with this answer); each other one is listed with its reason."""

    received: int
    stored: int
    duplicates: list[Refused]
    rejected: list[Refused]
    alerts_raised: list[int]
    alerts_stood_down: list[int]
    # Updates that kept a tripped rule's alert in force past its expiry (docs/sensors.md); they tell nobody again.
    alerts_renewed: list[int]
