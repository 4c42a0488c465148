"""Helpers shared by the hazards tests: the app with the hazards routes, citizens, places, and image bytes."""

from __future__ import annotations

import math

import asyncpg
from litestar import Litestar

from api.app import ROUTES, create_app
from api.hazards.open311 import Open311Controller
from api.hazards.routes import HazardReportController, IncidentAdminController, IncidentFeedController
from api.platform.geo import EARTH_RADIUS_M
from api.platform.settings import Settings

CONTROLLERS = (HazardReportController, IncidentFeedController, IncidentAdminController, Open311Controller)

# City Hall, Seoul.
CITY_HALL = (37.5663, 126.9779)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x00" * 32
# An iPhone's HEIC: major brand mif1, with heic among the compatible brands.
HEIC = b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heicmiaf" + b"\x00" * 32


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
