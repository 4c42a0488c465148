"""Helpers shared by the hazards tests: the app with the hazards routes, citizens, places, and image bytes."""

from __future__ import annotations

import io
import math

import asyncpg
import pillow_heif
from litestar import Litestar
from PIL import Image

from api.app import ROUTES, create_app
from api.hazards.open311 import Open311Controller
from api.hazards.routes import HazardReportController, IncidentAdminController, IncidentFeedController
from api.platform.geo import EARTH_RADIUS_M
from api.platform.settings import Settings

CONTROLLERS = (HazardReportController, IncidentFeedController, IncidentAdminController, Open311Controller)

# City Hall, Seoul.
CITY_HALL = (37.5663, 126.9779)


def image(kind: str, size: tuple[int, int] = (8, 6)) -> bytes:
    """A real, small image of this Pillow format (JPEG, PNG, WEBP, HEIF), as a phone would upload one."""
    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, kind)
    return out.getvalue()


JPEG = image("JPEG")
PNG = image("PNG")
WEBP = image("WEBP")
HEIC = image("HEIF")


def hazards_app(settings: Settings) -> Litestar:
    """The app as it runs: the hazards routes are among its routes."""
    assert all(c in ROUTES for c in CONTROLLERS)
    return create_app(settings)


def north_of(point: tuple[float, float], metres: float) -> tuple[float, float]:
    """The point ``metres`` due north: along a meridian the great-circle distance is exactly R × Δφ."""
    lat, lon = point
    return lat + math.degrees(metres / EARTH_RADIUS_M), lon


async def make_citizen(conn: asyncpg.Connection | asyncpg.Pool, phone: str, *, language: str = "ko") -> int:
    return await conn.fetchval(
        "INSERT INTO citizens (phone, language, district) VALUES ($1, $2, '11140') RETURNING id", phone, language
    )


def report_body(
    point: tuple[float, float] = CITY_HALL, *, category: str = "sinkhole", **overrides: object
) -> dict[str, object]:
    return {
        "category": category,
        "description": "보도 가운데가 꺼져 있어요",
        "location": {"lat": point[0], "lon": point[1], "address": "서울 중구 세종대로 110"},
        **overrides,
    }
