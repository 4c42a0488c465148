"""Fixtures for evacuation tests: the app with the shelter routes, and the real shelter files loaded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar

from api.app import ROUTES, create_app
from api.evacuation import importer, service
from api.evacuation.importer import ParsedFile
from api.evacuation.routes import GuidanceController, ShelterController
from api.platform.settings import Settings

AS_OF = date(2025, 7, 1)
FILES = {
    "seoul_heat_shelters_2025.utf8.csv": 3803,
    "seoul_earthquake_outdoor_evacuation.utf8.csv": 1585,
    "seoul_earthquake_indoor_relief.utf8.csv": 1551,
    "seoul_temp_housing_quake_dual.utf8.csv": 821,
}


@pytest.fixture
def app(settings: Settings) -> Litestar:
    app = create_app(settings)
    # Until the lead wires the evacuation routes into api.app.ROUTES.
    for controller in (ShelterController, GuidanceController):
        if controller not in ROUTES:
            app.register(controller)
    return app


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def shelter_dir(shared_data: Path) -> Path:
    return shared_data / "shelters"


@pytest.fixture(scope="session")
def parsed_files(shelter_dir: Path) -> dict[str, ParsedFile]:
    """The real shelter files, parsed once per run."""
    return {name: importer.parse((shelter_dir / name).read_bytes(), filename=name) for name in FILES}


@pytest.fixture
async def real_shelters(conn: asyncpg.Connection, parsed_files: dict[str, ParsedFile]) -> list[asyncpg.Record]:
    """Every real shelter file imported into this test's database; the stored rows."""
    for name, parsed in parsed_files.items():
        await service.import_file(conn, parsed, file=name, source="seoul-open-data", as_of=AS_OF)
    return await conn.fetch("SELECT id, kind, lat, lon, district, active FROM shelters")
