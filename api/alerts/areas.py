"""Which of Seoul's 25 districts a CAP area covers: by Korean administrative geocodes, else by geometry."""

from __future__ import annotations

import itertools
import re

from api.alerts.cap import CapArea
from api.alerts.kma_areas import districts_for_kma_area
from api.platform.districts import DISTRICTS
from api.platform.geo import great_circle_m

# One point per district: its office (구청), approximate WGS84 latitude and longitude. Offices sit near the
# middle of their districts, and a known building is easier to check than a computed centre.
DISTRICT_CENTROIDS: dict[str, tuple[float, float]] = {
    "11110": (37.5735, 126.9790),  # 종로구청
    "11140": (37.5641, 126.9979),  # 중구청
    "11170": (37.5324, 126.9905),  # 용산구청
    "11200": (37.5633, 127.0371),  # 성동구청
    "11215": (37.5385, 127.0824),  # 광진구청
    "11230": (37.5744, 127.0397),  # 동대문구청
    "11260": (37.6066, 127.0926),  # 중랑구청
    "11290": (37.5894, 127.0167),  # 성북구청
    "11305": (37.6397, 127.0255),  # 강북구청
    "11320": (37.6688, 127.0471),  # 도봉구청
    "11350": (37.6542, 127.0568),  # 노원구청
    "11380": (37.6027, 126.9291),  # 은평구청
    "11410": (37.5791, 126.9368),  # 서대문구청
    "11440": (37.5663, 126.9019),  # 마포구청
    "11470": (37.5170, 126.8665),  # 양천구청
    "11500": (37.5509, 126.8495),  # 강서구청
    "11530": (37.4954, 126.8875),  # 구로구청
    "11545": (37.4568, 126.8955),  # 금천구청
    "11560": (37.5264, 126.8962),  # 영등포구청
    "11590": (37.5124, 126.9393),  # 동작구청
    "11620": (37.4784, 126.9516),  # 관악구청
    "11650": (37.4837, 127.0324),  # 서초구청
    "11680": (37.5172, 127.0473),  # 강남구청
    "11710": (37.5145, 127.1059),  # 송파구청
    "11740": (37.5301, 127.1238),  # 강동구청
}

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
