"""The hazard desk's map, drawn from our own data: Seoul's districts as SVG paths from the boundary files,
incidents as dots and the heat as cells on the same plane. No tiles, nothing fetched: it works offline."""

from __future__ import annotations

import math
from functools import cache
from typing import Any, NamedTuple

import shapely
from shapely.geometry.base import BaseGeometry

from api.platform import boundaries

WIDTH = 720
SIMPLIFY_DEG = 0.0006  # about 60 m: the outline at this size loses nothing a person sees


class Plane(NamedTuple):
    west: float
    north: float
    scale_x: float
    scale_y: float
    height: int

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        return round((lon - self.west) * self.scale_x, 1), round((self.north - lat) * self.scale_y, 1)


@cache
def plane() -> Plane:
    whole = shapely.union_all([r.shape for r in boundaries.districts().values()])
    west, south, east, north = whole.bounds
    # Equirectangular at Seoul's latitude: a kilometre east is as long as a kilometre north.
    stretch = math.cos(math.radians((south + north) / 2))
    scale_x = WIDTH / (east - west)
    scale_y = scale_x / stretch
    return Plane(west, north, scale_x, scale_y, math.ceil((north - south) * scale_y))


@cache
def district_paths() -> dict[str, str]:
    """Each district's outline as an SVG path (its polygons' outer rings)."""
    p = plane()
    paths = {}
    for code, region in boundaries.districts().items():
        parts = []
        for polygon in shapely.get_parts(region.shape.simplify(SIMPLIFY_DEG)):
            parts.append(_ring(polygon, p))
        paths[code] = " ".join(parts)
    return paths


def _ring(polygon: BaseGeometry, p: Plane) -> str:
    points = [p.xy(lat, lon) for lon, lat in polygon.exterior.coords]  # type: ignore[attr-defined]
    return "M" + " L".join(f"{x},{y}" for x, y in points) + " Z"


def dots(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The listed incidents as dots; one a sensor opened says which sensor and rule (drawn as a square)."""
    p = plane()
    return [
        {
            "id": i["id"],
            "overdue": i["overdue"],
            "xy": p.xy(i["lat"], i["lon"]),
            "sensor": f"{i['sensor_id']} {i['sensor_rule']} {i['sensor_measure']:g}" if i.get("sensor_id") else None,
        }
        for i in items
    ]


def cells(heat: list[dict[str, Any]], cell_deg: float) -> list[dict[str, Any]]:
    """Heat cells as rectangles, their opacity the count over the largest (0.15 to 0.9)."""
    if not heat:
        return []
    p = plane()
    top = max(c["n"] for c in heat)
    out = []
    for c in heat:
        x, y = p.xy(c["lat"] + cell_deg, c["lon"])
        out.append(
            {
                "x": x,
                "y": y,
                "w": round(cell_deg * p.scale_x, 1),
                "h": round(cell_deg * p.scale_y, 1),
                "opacity": round(0.15 + 0.75 * c["n"] / top, 2),
                "n": c["n"],
            }
        )
    return out
