"""Which of Seoul's districts and dongs a CAP area covers: by Korean administrative geocodes, else by its shapes
against the true boundaries."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from shapely.geometry import Polygon

from api.alerts.cap import CapArea
from api.alerts.kma_areas import districts_for_kma_area
from api.platform import boundaries
from api.platform.districts import DISTRICTS

# One point per district: its office (구청), approximate WGS84 latitude and longitude, where a shelter is measured
# from when only a person's district is known.
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


# A shape that covers at least this share of a district tells the whole district (its topic, its citizens
# known only by district, everyone in care there); below it, only the people whose places lie inside it.
WHOLE_DISTRICT_SHARE = 0.5


class Coverage(NamedTuple):
    """What a CAP area covers: the districts it is in, how they were found, and for a shape, how much of each
    district and dong it covers and the polygons whose people are told."""

    districts: set[str]
    method: str  # geocode, polygon, circle or none
    shares: dict[str, float]  # district → covered share of its area (a shape's only)
    dongs: dict[str, float]  # dong → covered share of its area (a shape's only)
    polygons: list[Polygon]  # (lon, lat), the area's polygons and one around each circle


def districts_for_area(area: CapArea) -> set[str]:
    """The Seoul district codes an area names or overlaps.

    Korean administrative geocodes decide when there are any. Otherwise the area's polygons and circles are
    intersected with the districts' true boundaries (``api.platform.boundaries``): any overlap puts the
    district in, however small, and ``cover`` says how much of it.
    """
    return cover(area).districts


def cover(area: CapArea) -> Coverage:
    """The area's ``Coverage``: by geocode when it has Korean ones, else by geometry."""
    by_code = _districts_by_geocode(area.geocodes)
    if by_code:
        return Coverage(by_code, "geocode", {}, {}, [])
    polygons = boundaries.area_shape(area.polygons, area.circles)
    shares = {s.code: s.share for s in boundaries.district_shares(polygons)}
    if not shares:
        return Coverage(set(), "none", {}, {}, [])
    dongs = {s.code: s.share for s in boundaries.dong_shares(polygons)}
    return Coverage(set(shares), "polygon" if area.polygons else "circle", shares, dongs, polygons)


def told_whole(districts: Iterable[str], method: str, shares: Mapping[str, float]) -> set[str]:
    """The districts an area tells as a whole: all it names by geocode, else those it covers at least
    WHOLE_DISTRICT_SHARE of. An area stored before shares were kept (none recorded) tells all its districts."""
    if method == "geocode" or not shares:
        return set(districts)
    return {d for d, share in shares.items() if share >= WHOLE_DISTRICT_SHARE}


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
