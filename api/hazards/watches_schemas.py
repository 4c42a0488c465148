"""Area watches: a polygon a citizen draws, or the area around one of their places."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta

from api.platform.types import Id, Input, Output

MAX_WATCHES = 5
MAX_WATCH_KM2 = 10.0  # about Seoul's largest dongs; the city is 605 km²
MAX_VERTICES = 200
LatLon = Annotated[list[float], Meta(min_length=2, max_length=2, description="[lat, lon] in WGS84 degrees")]


class WatchCreate(Input, kw_only=True):
    """A polygon (``area``: its ring of [lat, lon] points), or one of your places (``place_id``), not both."""

    label: Annotated[str, Meta(min_length=1, max_length=40, description="What the area is to you")]
    area: Annotated[list[LatLon], Meta(min_length=3, max_length=MAX_VERTICES)] | None = None
    place_id: Id | None = None
    radius_m: Annotated[int, Meta(ge=100, le=2000, description="Around a place given as a point")] = 500

    def __post_init__(self) -> None:
        self.label = self.label.strip()
        if not self.label:
            raise ValueError("the label is empty")
        if (self.area is None) == (self.place_id is None):
            raise ValueError("give the area as a polygon (area) or as one of your places (place_id), one of the two")


class WatchRead(Output, frozen=True, kw_only=True):
    id: int
    label: str
    place_id: int | None
    area: list[tuple[float, float]]
    area_km2: float
    created_at: datetime
