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
from api.platform.districts import DISTRICT_OFFICES, DISTRICTS

# Where a shelter is measured from when only a person's district is known: its office (구청).
DISTRICT_CENTROIDS = DISTRICT_OFFICES

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
