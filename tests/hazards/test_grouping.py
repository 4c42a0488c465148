"""The rule that groups reports into incidents, at its edges, and its safety under concurrent reports."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import pytest

from api.hazards import service
from api.hazards.schemas import HazardReportCreate
from api.platform import geo
from api.platform.db.pool import create_pool
from api.platform.settings import Settings
from tests.hazards import CITY_HALL, make_citizen, north_of, report_body

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """Ten connections, so that ten reports really are in flight at once."""
    pool = await create_pool(msgspec.structs.replace(settings.db, pool_max=10))
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def reporters(pool: asyncpg.Pool) -> list[service.Reporter]:
    ids = [await make_citizen(pool, f"+82101234{n:04d}") for n in range(10)]
    return [service.Reporter(subject=f"citizen:{i}", citizen_id=i) for i in ids]


async def report(
    pool: asyncpg.Pool,
    reporter: service.Reporter,
    point: tuple[float, float] = CITY_HALL,
    *,
    at: datetime = T0,
    category: str = "sinkhole",
):  # type: ignore[no-untyped-def]
    data = msgspec.convert(report_body(point, category=category), HazardReportCreate)
    async with pool.acquire() as conn:
        return await service.report(conn, reporter=reporter, data=data, now=at)


@pytest.mark.parametrize(("metres", "joins"), [(0, True), (49, True), (51, False), (120, False)])
async def test_a_report_joins_an_incident_within_50_metres(pool, reporters, metres, joins):
    first = await report(pool, reporters[0])
    second = await report(pool, reporters[1], north_of(CITY_HALL, metres), at=T0 + HOUR)
    assert (second.incident.id == first.incident.id) is joins
    if joins:
        assert second.incident.report_count == 2
        assert second.incident.others_reporting == 1


@pytest.mark.parametrize(("hours", "joins"), [(23, True), (24, True), (25, False)])
async def test_a_report_joins_an_incident_reported_within_24_hours(pool, reporters, hours, joins):
    first = await report(pool, reporters[0])
    later = await report(pool, reporters[1], north_of(CITY_HALL, 10), at=T0 + hours * HOUR)
    assert (later.incident.id == first.incident.id) is joins


async def test_the_window_runs_from_the_latest_report_but_the_radius_from_the_first(pool, reporters):
    first = await report(pool, reporters[0])
    # 40 m north, 20 h later: joins, and keeps the incident current for another 24 h.
    await report(pool, reporters[1], north_of(CITY_HALL, 40), at=T0 + 20 * HOUR)
    again = await report(pool, reporters[2], CITY_HALL, at=T0 + 43 * HOUR)
    assert again.incident.id == first.incident.id
    # 80 m north is within 50 m of the second report but not of the incident's place: a new incident.
    creeping = await report(pool, reporters[3], north_of(CITY_HALL, 80), at=T0 + 44 * HOUR)
    assert creeping.incident.id != first.incident.id


async def test_only_the_same_category_and_an_open_incident_are_joined(pool, reporters):
    first = await report(pool, reporters[0])
    tree = await report(pool, reporters[1], category="fallen_tree", at=T0 + HOUR)
    assert tree.incident.id != first.incident.id
    async with pool.acquire() as conn:
        await conn.execute("UPDATE hazard_incidents SET status = 'resolved' WHERE id = $1", first.incident.id)
    after = await report(pool, reporters[2], at=T0 + 2 * HOUR)
    assert after.incident.id not in (first.incident.id, tree.incident.id)


async def test_the_nearest_open_incident_is_joined(pool, reporters):
    south = await report(pool, reporters[0], CITY_HALL)
    north = await report(pool, reporters[1], north_of(CITY_HALL, 90))
    assert south.incident.id != north.incident.id
    between = await report(pool, reporters[2], north_of(CITY_HALL, 60), at=T0 + HOUR)
    assert between.incident.id == north.incident.id


async def test_others_reporting_counts_people_not_reports(pool, reporters):
    await report(pool, reporters[0])
    await report(pool, reporters[0], at=T0 + HOUR)
    mine = await report(pool, reporters[1], at=T0 + 2 * HOUR)
    assert (mine.incident.report_count, mine.incident.others_reporting) == (3, 1)
    async with pool.acquire() as conn:
        first = await service.get_report(conn, report_id=mine.id - 2, citizen_id=None, operator=True)
    assert first.incident.others_reporting == 1


async def test_simultaneous_reports_open_one_incident(pool, reporters):
    points = [north_of(CITY_HALL, 3 * n) for n in range(len(reporters))]
    made = await asyncio.gather(*(report(pool, r, p) for r, p in zip(reporters, points, strict=True)))
    assert len({m.incident.id for m in made}) == 1
    assert max(m.incident.report_count for m in made) == len(reporters)


async def test_simultaneous_reports_across_a_cell_boundary_open_one_incident(pool, reporters):
    # 37.5° is a grid line: these two are 2 m apart in different cells.
    below, above = (37.49999, 126.98), (37.50001, 126.98)
    assert service.cell_keys(*below) != service.cell_keys(*above)
    for attempt in range(5):
        at = T0 + attempt * 48 * HOUR
        a, b = await asyncio.gather(report(pool, reporters[0], below, at=at), report(pool, reporters[1], above, at=at))
        assert a.incident.id == b.incident.id


def test_every_point_within_the_radius_shares_a_locked_cell():
    # The safety argument: two points within 50 m always have each other's cell among their 3×3 neighbourhoods.
    lat, lon = 37.74, 127.29999  # Seoul's north-east edge, where a degree of longitude is shortest
    here = set(service.cell_keys(lat, lon))
    metres_per_deg = geo.EARTH_RADIUS_M * math.pi / 180
    for dlat_m, dlon_m in [(50, 0), (-50, 0), (0, 50), (0, -50), (35.35, 35.35), (-35.35, 35.35)]:
        there = (lat + dlat_m / metres_per_deg, lon + dlon_m / (metres_per_deg * math.cos(math.radians(lat))))
        assert geo.great_circle_m(lat, lon, *there) == pytest.approx(50, rel=0.01)
        centre = service.cell_keys(*there)[4]
        assert centre in here


async def test_the_database_and_python_agree_on_distance(pool):
    a, b = CITY_HALL, (37.5796, 126.9770)  # City Hall to Gyeongbokgung, about 1.5 km
    async with pool.acquire() as conn:
        in_db = await conn.fetchval("SELECT great_circle_m($1, $2, $3, $4)", *a, *b)
    assert in_db == pytest.approx(geo.great_circle_m(*a, *b), abs=1e-6)
    assert 1400 < in_db < 1600
    assert geo.great_circle_m(*CITY_HALL, *north_of(CITY_HALL, 49)) == pytest.approx(49, abs=1e-6)
