"""Area watches: a polygon (validated: too large, crossing itself or outside Seoul is refused) or one of the
citizen's places; told at once of gas, sinkhole and fire inside it, and of the rest once a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar

from api.platform.auth.tokens import Role
from api.platform.jobs.runner import run_job
from api.platform.settings import Settings
from api.worker import JOBS
from tests.conftest import bearer, problem
from tests.hazards import CITY_HALL, hazards_app, make_citizen, north_of, report_body

WATCHES = "/v1/me/hazard-watches"
# About 450 m × 550 m around City Hall.
AROUND_HALL = [[37.5640, 126.9750], [37.5640, 126.9810], [37.5685, 126.9810], [37.5685, 126.9750]]
FAR = (37.6550, 127.0600)  # Nowon-gu


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return hazards_app(settings)


@pytest.fixture
def citizen(pool, token_for):  # type: ignore[no-untyped-def]
    async def make(phone: str, language: str = "ko") -> tuple[int, dict[str, str]]:
        citizen_id = await make_citizen(pool, phone, language=language)
        return citizen_id, bearer(token_for(Role.citizen, subject=f"citizen:{citizen_id}"))

    return make


async def report(client, headers, point, category):  # type: ignore[no-untyped-def]
    response = await client.post("/v1/hazard-reports", json=report_body(point, category=category), headers=headers)
    assert response.status_code == 201, response.text


async def told(pool, citizen_id):  # type: ignore[no-untyped-def]
    rows = await pool.fetch("SELECT template, body FROM outbox WHERE citizen_id = $1 ORDER BY id", citizen_id)
    return [(r["template"], r["body"]) for r in rows]


async def test_a_watcher_hears_at_once_of_danger_and_daily_of_the_rest(client, pool, citizen, settings):
    watcher_id, watcher = await citizen("+821055550001")
    _, reporter = await citizen("+821055550002")
    added = await client.post(WATCHES, json={"label": "회사 근처", "area": AROUND_HALL}, headers=watcher)
    assert added.status_code == 201, added.text
    assert 0.2 < added.json()["area_km2"] < 0.3
    assert len((await client.get(WATCHES, headers=watcher)).json()) == 1

    await report(client, reporter, CITY_HALL, "gas_smell")
    await report(client, reporter, north_of(CITY_HALL, 100), "broken_streetlight")
    await report(client, reporter, FAR, "gas_smell")  # outside the area
    now = datetime.now(UTC)
    for _ in range(2):  # a second run tells nobody twice
        await run_job(pool, JOBS["hazards.watch-alerts"], now=now, settings=settings)
        now += timedelta(minutes=1)
    [(template, body)] = await told(pool, watcher_id)
    assert template == "hazards.watch_now" and "회사 근처" in body and "가스 냄새" in body

    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=1)
    await run_job(pool, JOBS["hazards.watch-digest"], now=tomorrow, settings=settings)
    digest = (await told(pool, watcher_id))[1:]
    assert [t for t, _ in digest] == ["hazards.watch_digest"]
    assert "1건" in digest[0][1] and "가로등 고장 1" in digest[0][1]


async def test_a_watched_place_becomes_an_area(client, pool, citizen):
    _, kim = await citizen("+821055550003")
    _, lee = await citizen("+821055550004")
    place = await client.post(
        "/v1/me/places", json={"label": "부모님 댁", "lat": CITY_HALL[0], "lon": CITY_HALL[1]}, headers=kim
    )
    assert place.status_code == 201, place.text
    place_id = place.json()["id"]
    watch = await client.post(WATCHES, json={"label": "부모님 댁", "place_id": place_id, "radius_m": 300}, headers=kim)
    assert watch.status_code == 201, watch.text
    assert watch.json()["place_id"] == place_id
    assert 0.27 < watch.json()["area_km2"] < 0.29  # π × 0.3²
    # Someone else's place is not theirs to watch.
    other = await client.post(WATCHES, json={"label": "x", "place_id": place_id}, headers=lee)
    assert other.status_code == 404


@pytest.mark.parametrize(
    ("area", "code", "says"),
    [
        # 10 km × 10 km over the city centre.
        ([[37.52, 126.93], [37.52, 127.04], [37.61, 127.04], [37.61, 126.93]], "area_too_large", "10 km²"),
        # A bow tie: its edges cross.
        ([[37.564, 126.975], [37.568, 126.981], [37.564, 126.981], [37.568, 126.975]], "invalid_area", "crossing"),
        ([[35.10, 129.03], [35.10, 129.04], [35.11, 129.04]], "area_outside_seoul", "outside Seoul"),
        ([[37.564, 126.975], [37.564, 126.975], [37.564, 126.975]], "invalid_area", "three distinct"),
    ],
)
async def test_a_bad_polygon_is_refused_saying_why(client, citizen, area, code, says):
    _, kim = await citizen("+821055550005")
    response = await client.post(WATCHES, json={"label": "x", "area": area}, headers=kim)
    assert response.status_code == 400, response.text
    assert problem(response)["code"] == code
    assert says in problem(response)["detail"]


async def test_a_sixth_watch_is_refused_and_one_can_be_deleted(client, citizen):
    _, kim = await citizen("+821055550006")
    ids = []
    for n in range(5):
        added = await client.post(WATCHES, json={"label": f"곳 {n}", "area": AROUND_HALL}, headers=kim)
        ids.append(added.json()["id"])
    sixth = await client.post(WATCHES, json={"label": "곳 6", "area": AROUND_HALL}, headers=kim)
    assert sixth.status_code == 409 and problem(sixth)["limit"] == 5
    assert (await client.delete(f"{WATCHES}/{ids[0]}", headers=kim)).status_code == 204
    assert (await client.delete(f"{WATCHES}/{ids[0]}", headers=kim)).status_code == 404
    both = await client.post(WATCHES, json={"label": "x", "area": AROUND_HALL, "place_id": 1}, headers=kim)
    assert both.status_code == 400
