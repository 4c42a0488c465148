"""A citizen's places: their home and the places they watch, each a point or a dong."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from msgspec import Meta

from api.platform import boundaries
from api.platform.types import DongCode, Input, Output

# As in the FEMA app: a handful of places someone keeps an eye on ("my parents' home"), besides their own.
MAX_WATCHED = 5

Label = Annotated[str, Meta(min_length=1, max_length=40, description="What the place is to them: 집, 부모님 댁…")]


class PlaceKind(StrEnum):
    home = "home"
    watched = "watched"


class PlaceCreate(Input):
    """A point (lat and lon) or a dong (its code), not both; a point must lie in Seoul."""

    label: Label
    kind: PlaceKind = PlaceKind.watched
    lat: float | None = None
    lon: float | None = None
    dong: DongCode | None = None

    def __post_init__(self) -> None:
        self.label = self.label.strip()
        if not self.label:
            raise ValueError("the label is empty")
        has_point = self.lat is not None or self.lon is not None
        if has_point == (self.dong is not None):
            raise ValueError("give the place as a point (lat and lon) or as a dong (its code), one of the two")
        if has_point:
            if self.lat is None or self.lon is None:
                raise ValueError("a point needs both lat and lon")
            if boundaries.dong_at(self.lat, self.lon) is None:
                raise ValueError(f"the point ({self.lat}, {self.lon}) is not in Seoul (WGS84 degrees)")
        elif self.dong not in boundaries.dongs():
            raise ValueError(f"there is no dong {self.dong} in Seoul")


class PlaceRead(Output, frozen=True):
    id: int
    kind: PlaceKind
    label: str
    lat: float | None
    lon: float | None
    dong: str
    dong_name_ko: str
    dong_name_en: str
    district: str
    created_at: datetime
