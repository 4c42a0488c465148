"""Seoul's 25 districts and 467 dongs as their true boundaries, and what a shape covers of them.

The boundary files ship with the project (``api/platform/geodata/README.md`` says where they come from).
Shapes here are shapely geometries in (lon, lat), the order of GeoJSON and shapely; callers speak (lat, lon),
the order of CAP, and the functions turn it round.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import NamedTuple

import shapely
from shapely import STRtree
from shapely.geometry import Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from api.platform.districts import DISTRICTS
from api.platform.geo import EARTH_RADIUS_M

GEODATA = Path(__file__).parent / "geodata"
DISTRICT_FILE = GEODATA / "seoul_districts_juso2015.geojson"
DONG_FILE = GEODATA / "seoul_dongs_juso2015_simple.geojson"

# A circle becomes a polygon of this many sides drawn around it, never inside it: a point on the circle is
# always in. The sides stretch the radius by 1/cos(π/n) (0.05 % at 96), and the local plane is padded by
# CIRCLE_PAD for what its fixed scale does across a circle; so the polygon covers the circle and at most
# 0.2 % of its radius more.
CIRCLE_SIDES = 96
CIRCLE_PAD = 1.001


class Region(NamedTuple):
    """A district or a dong: its code, names, the district it is in (a district's own code) and its shape."""

    code: str
    name_ko: str
    name_en: str
    district: str
    shape: BaseGeometry


class Share(NamedTuple):
    """How much of a region a shape covers: its code and the covered fraction of its area, 0 < share ≤ 1."""

    code: str
    share: float


@cache
def districts() -> dict[str, Region]:
    """The 25 districts by code, from the boundary file; a test keeps its codes equal to ``DISTRICTS``."""
    regions = _load(DISTRICT_FILE, code="SIG_CD", ko="SIG_KOR_NM", en="SIG_ENG_NM")
    return {r.code: r for r in regions}


@cache
def dongs() -> dict[str, Region]:
    """The 467 legal dongs (법정동) by their 8-digit code."""
    regions = _load(DONG_FILE, code="EMD_CD", ko="EMD_KOR_NM", en="EMD_ENG_NM")
    return {r.code: r for r in regions}


def dong_at(lat: float, lon: float) -> Region | None:
    """The dong a point lies in, or None outside Seoul; on a line between two, the one of lower code."""
    found = _regions_covering(_dong_index(), list(dongs().values()), Point(lon, lat))
    return found[0] if found else None


def district_at(lat: float, lon: float) -> Region | None:
    """The district a point lies in, or None outside Seoul."""
    found = _regions_covering(_district_index(), list(districts().values()), Point(lon, lat))
    return found[0] if found else None


def area_shape(
    polygons: Sequence[Sequence[tuple[float, float]]], circles: Sequence[tuple[float, float, float]]
) -> list[Polygon]:
    """The polygons that make up a CAP area: its own (``(lat, lon)`` rings) and one around each circle
    (``(lat, lon, radius_km)``). Kept apart rather than merged, so that each is a simple ring a database can test."""
    parts = [Polygon([(lon, lat) for lat, lon in ring]) for ring in polygons]
    parts += [circle_polygon(lat, lon, radius_km * 1000) for lat, lon, radius_km in circles]
    return parts


def circle_polygon(lat: float, lon: float, radius_m: float) -> Polygon:
    """A polygon around a circle on the ground, drawn in a plane centred on it (see CIRCLE_SIDES)."""
    reach = max(radius_m, 1.0) * CIRCLE_PAD / math.cos(math.pi / CIRCLE_SIDES)
    m_per_deg_lat = math.radians(1) * EARTH_RADIUS_M
    m_per_deg_lon = m_per_deg_lat * math.cos(math.radians(lat))
    ring = []
    for i in range(CIRCLE_SIDES):
        angle = 2 * math.pi * i / CIRCLE_SIDES
        ring.append((lon + reach * math.cos(angle) / m_per_deg_lon, lat + reach * math.sin(angle) / m_per_deg_lat))
    return Polygon(ring)


def district_shares(parts: Sequence[BaseGeometry]) -> list[Share]:
    """Each district the shape overlaps, with the share of its area covered, by code."""
    return _shares(parts, _district_index(), list(districts().values()))


def dong_shares(parts: Sequence[BaseGeometry]) -> list[Share]:
    """Each dong the shape overlaps, with the share of its area covered, by code."""
    return _shares(parts, _dong_index(), list(dongs().values()))


def _shares(parts: Sequence[BaseGeometry], index: STRtree, regions: list[Region]) -> list[Share]:
    if not parts:
        return []
    whole = shapely.union_all(list(parts))
    found = []
    for i in sorted(set(index.query(whole, predicate="intersects").tolist())):
        region = regions[i]
        # 1.0 means all of it, tested as such: a share that only rounds to 1 stays below it.
        if whole.covers(region.shape):
            found.append(Share(region.code, 1.0))
            continue
        covered = region.shape.intersection(whole).area / region.shape.area
        if covered > 0:
            found.append(Share(region.code, min(0.9999, round(covered, 4)) or 0.0001))
    return sorted(found)


def _regions_covering(index: STRtree, regions: list[Region], point: Point) -> list[Region]:
    hits = index.query(point, predicate="covered_by").tolist()
    return sorted((regions[i] for i in hits), key=lambda r: r.code)


@cache
def _district_index() -> STRtree:
    return STRtree([r.shape for r in districts().values()])


@cache
def _dong_index() -> STRtree:
    return STRtree([r.shape for r in dongs().values()])


def _load(path: Path, *, code: str, ko: str, en: str) -> list[Region]:
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    regions = []
    for feature in features:
        props = feature["properties"]
        geometry = shape(feature["geometry"])
        if not geometry.is_valid:
            # Three of the published rings cross themselves; repaired, keeping only their areas.
            geometry = shapely.make_valid(geometry)
            geometry = shapely.union_all([g for g in shapely.get_parts(geometry) if g.area > 0])
        regions.append(Region(props[code], props[ko], props[en], props[code][:5], geometry))
    unknown = {r.district for r in regions} - DISTRICTS.keys()
    if unknown:
        raise ValueError(f"{path.name} names districts Seoul does not have: {sorted(unknown)}")
    return sorted(regions, key=lambda r: r.code)
