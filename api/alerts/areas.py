"""Which of Seoul's 25 districts a CAP area covers: by Korean administrative geocodes, else by geometry."""

from __future__ import annotations

import itertools
import re

from api.alerts.cap import CapArea
from api.alerts.kma_areas import districts_for_kma_area
from api.platform.districts import DISTRICT_CENTROIDS, DISTRICTS
from api.platform.geo import great_circle_m

# Geocode schemes that are known not to be Korean: their values can look like ours (a New York ZIP 11680).
_FOREIGN_SCHEMES = re.compile(r"^(SAME|FIPS6?|UGC|ZIP|NUTS\d?|EMMA_ID|profile:CAP-CP:.*|layer:.*)$", re.IGNORECASE)
# The scheme our KMA alerts (and KMA-derived feeds) name a KMA warning area with.
KMA_AREA_SCHEME = "KMA_AREA"
# A district code (11680), or a 10-digit 법정동/행정동 code that begins with its district's (1168010100).
_KOREAN_CODE = re.compile(r"^(11\d{3})(\d{5})?$")


def districts_for_area(area: CapArea) -> set[str]:
    """The Seoul district codes an area names or covers.

    Korean administrative geocodes decide when there are any. Otherwise the rule is centroid containment: a
    district is in when its office point lies inside one of the area's polygons or circles, so a polygon over
    part of a district that misses that point misses the district. The conservative alternative, for when
    a miss costs more than a false alarm, would test overlap with each district's boundary instead.
    """
    return covered_districts(area)[0]


def covered_districts(area: CapArea) -> tuple[set[str], str]:
    """The districts of ``districts_for_area`` and how they were found: geocode, polygon, circle or none."""
    by_code = _districts_by_geocode(area.geocodes)
    if by_code:
        return by_code, "geocode"
    by_polygon, by_circle = set(), set()
    for code, (lat, lon) in DISTRICT_CENTROIDS.items():
        if any(point_in_polygon(lat, lon, polygon) for polygon in area.polygons):
            by_polygon.add(code)
        elif any(
            great_circle_m(lat, lon, c_lat, c_lon) <= radius_km * 1000 for c_lat, c_lon, radius_km in area.circles
        ):
            by_circle.add(code)
    if not by_polygon and not by_circle:
        return set(), "none"
    return by_polygon | by_circle, "polygon" if by_polygon else "circle"


def _districts_by_geocode(geocodes: list[tuple[str, str]]) -> set[str]:
    found = set()
    for value_name, value in geocodes:
        if value_name.strip().upper() == KMA_AREA_SCHEME:
            # A KMA warning area (L1100100) covers the districts of kma_areas' table; outside Seoul, none.
            found |= districts_for_kma_area(value)
            continue
        match = _KOREAN_CODE.fullmatch(value.strip())
        if match and match[1] in DISTRICTS and not _FOREIGN_SCHEMES.fullmatch(value_name.strip()):
            found.add(match[1])
    return found


def point_in_polygon(lat: float, lon: float, polygon: list[tuple[float, float]]) -> bool:
    """Ray casting in the lat/lon plane, which is exact enough for city-sized polygons away from the poles."""
    inside = False
    for (lat1, lon1), (lat2, lon2) in itertools.pairwise(polygon):
        if (lat1 > lat) != (lat2 > lat):
            crossing_lon = lon1 + (lat - lat1) * (lon2 - lon1) / (lat2 - lat1)
            if lon < crossing_lon:
                inside = not inside
    return inside
