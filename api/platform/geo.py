"""Geography shared by the domains: great-circle distance, Seoul's bounds, the local plane, walking time."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

# The mean Earth radius (IUGG); migrations/0008_shelters.sql uses the same number.
EARTH_RADIUS_M = 6_371_008.8

# The origin of the local plane (Seoul City Hall), as in the SQL function geo_plane_m.
PLANE_LAT0 = 37.5665
PLANE_LON0 = 126.978

# How far a distance in that plane may be from the great-circle distance, as a fraction, for points inside
# QUERY_BOUNDS: about 0.3% in fact (cos(latitude) varies that much across Seoul); 1% leaves room to spare.
# tests/evacuation/test_geo.py checks the bound.
PLANE_DISTORTION = 0.01

# Metres of straight line to metres on foot in a city street grid, and a pace an older person keeps (4 km/h).
DETOUR_FACTOR = 1.3
WALKING_M_PER_MIN = 4000 / 60


class Bounds(NamedTuple):
    south: float
    north: float
    west: float
    east: float

    def contains(self, lat: float, lon: float) -> bool:
        # Written so that NaN is outside.
        return self.south <= lat <= self.north and self.west <= lon <= self.east

    def widened(self, degrees: float) -> Bounds:
        return Bounds(self.south - degrees, self.north + degrees, self.west - degrees, self.east + degrees)

    def describe(self) -> str:
        return f"latitude {self.south}…{self.north}, longitude {self.west}…{self.east}"


# Seoul's extremes (37°25′–37°43′ N, 126°45′–127°11′ E), padded by about a kilometre: a shelter outside is
# a broken row, not a shelter.
SEOUL_BOUNDS = Bounds(south=37.41, north=37.73, west=126.75, east=127.20)

# Where we answer questions from: Seoul and about 5 km around it, so that someone just across the city
# line (Gwacheon, Guri, Bucheon…) still hears of Seoul's nearest shelters.
QUERY_BOUNDS = SEOUL_BOUNDS.widened(0.05)


def great_circle_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in metres, written exactly as the SQL function great_circle_m."""
    a = (
        math.sin(math.radians(lat2 - lat1) / 2) ** 2
        + math.cos(math.radians(lat1)) * math.cos(math.radians(lat2)) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def plane_m(lat: float, lon: float) -> tuple[float, float]:
    """The point in the local plane, in metres east and north of the origin, as the SQL function geo_plane_m."""
    return (
        EARTH_RADIUS_M * math.radians(lon - PLANE_LON0) * math.cos(math.radians(PLANE_LAT0)),
        EARTH_RADIUS_M * math.radians(lat - PLANE_LAT0),
    )


def search_widening() -> float:
    """By how much a plane radius must grow so that a box around it holds every great-circle candidate.

    If the k nearest in the plane lie within plane distance D, the k-th nearest on the great circle is within
    (1+e)·D, and so within (1+e)/(1-e)·D in the plane.
    """
    return (1 + PLANE_DISTORTION) / (1 - PLANE_DISTORTION)


def walking_minutes(distance_m: float) -> int:
    """A cautious estimate of the minutes on foot to cover a straight-line distance through streets."""
    return math.ceil(distance_m * DETOUR_FACTOR / WALKING_M_PER_MIN)


def from_plane_m(x: float, y: float) -> tuple[float, float]:
    """The (lat, lon) of a point of the local plane: ``plane_m`` undone."""
    lon = PLANE_LON0 + math.degrees(x / (EARTH_RADIUS_M * math.cos(math.radians(PLANE_LAT0))))
    return PLANE_LAT0 + math.degrees(y / EARTH_RADIUS_M), lon


# PostgreSQL's point-in-polygon test calls a point "on an edge", and so inside, when the cross product of the
# vectors from it to the edge's ends is within 1e-6 (its EPSILON) in the polygon's own units. In degrees that is
# within 1e-6/|edge| degrees of the edge's line: a thin band that reaches hundreds of metres beside a short edge
# (one of the 96 sides drawn around a small CAP circle). The same test on coordinates multiplied by this scale
# narrows the band to 1e-16/|edge| degrees: nothing. So a shape is tested twice, in degrees where the GiST index
# of the points answers (a superset), then scaled, for the answer.
PRECISE_SCALE = 100_000


def polygon_literal(ring: Sequence[tuple[float, float]], *, scale: float = 1) -> str:
    """A (lat, lon) ring as PostgreSQL's polygon text, its points (x, y) = (lon, lat), as the point columns are;
    with ``scale``, every coordinate multiplied by it (``PRECISE_SCALE``)."""
    return "(" + ",".join(f"({lon * scale!r},{lat * scale!r})" for lat, lon in ring) + ")"
