"""Who an alert's areas tell (docs/alerts.md, "Who is told"), for the fan-out and for a person asking about theirs.

The districts it tells as a whole (named by geocode, or covered at least half), the shapes whose people are told
by place, the dongs a shape overlaps (a place given only as a dong there is told), and the dongs wholly under a
shape, whose topics carry it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from shapely.geometry import Point, Polygon

from api.alerts.areas import told_whole
from api.alerts.schemas import AlertArea


class Place(NamedTuple):
    """One of a person's places: a point, or only a dong (lat and lon None)."""

    label: str
    lat: float | None
    lon: float | None
    dong: str


def reach(areas: Sequence[AlertArea]) -> dict[str, Any]:
    """Who the areas tell: districts as a whole, and the polygons and dongs whose people are told by place."""
    whole = set().union(*(told_whole(a.districts, a.method, a.shares) for a in areas)) if areas else set()
    return {
        "whole_districts": sorted(whole),
        # The same area in each language's info block is one shape to test.
        "polygons": list(dict.fromkeys(tuple(ring) for a in areas for ring in a.polygons)),
        "dongs": sorted({d for a in areas for d in a.dongs}),
        # Dongs wholly under a shape, in no district told whole: one push to each dong's topic reaches its apps.
        "whole_dongs": sorted({d for a in areas for d, s in a.dongs.items() if s >= 1.0 and d[:5] not in whole}),
    }


def places_reached(
    areas: Sequence[AlertArea], *, district: str | None, places: Sequence[Place]
) -> tuple[bool, list[str]]:
    """Whether the areas tell the person's district as a whole, and the labels of their places they reach, by the
    same rules as the fan-out: a place in a district told whole, a point inside a shape, a dong-only place in a
    dong a shape overlaps."""
    told = reach(areas)
    whole = set(told["whole_districts"])
    shapes = [Polygon([(lon, lat) for lat, lon in ring]) for ring in told["polygons"]]
    labels = []
    for place in places:
        if place.dong[:5] in whole:
            labels.append(place.label)
        elif place.lat is None or place.lon is None:
            if place.dong in told["dongs"]:
                labels.append(place.label)
        elif any(shape.covers(Point(place.lon, place.lat)) for shape in shapes):
            labels.append(place.label)
    return district in whole, labels
