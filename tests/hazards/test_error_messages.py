"""Bad input says what is allowed: enum values listed, ranges as people write them."""

from __future__ import annotations

import pytest
from litestar import Litestar

from api.platform.auth.tokens import Role
from api.platform.geo import QUERY_BOUNDS, span
from api.platform.settings import Settings
from tests.conftest import bearer, problem
from tests.hazards import hazards_app, make_citizen, report_body


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return hazards_app(settings)


def test_ranges_read_as_people_write_them() -> None:
    assert QUERY_BOUNDS.describe() == "latitude 37.36–37.78, longitude 126.70–127.25"
    assert span(37.36, 37.779999999999994) == "37.36–37.78"


async def test_a_report_outside_seoul_and_an_unknown_category_say_what_is_allowed(client, pool, token_for):
    kim = bearer(token_for(Role.citizen, subject=f"citizen:{await make_citizen(pool, '+821077770001')}"))
    outside = await client.post("/v1/hazard-reports", json=report_body((35.1, 129.0)), headers=kim)
    assert outside.status_code == 400
    detail = problem(outside)["detail"]
    assert "latitude 37.39–37.75, longitude 126.73–127.22" in detail and "99999" not in detail

    pothole = await client.post("/v1/hazard-reports", json=report_body(category="pothole"), headers=kim)
    assert pothole.status_code == 400
    assert "sinkhole" in problem(pothole)["detail"] and "road_damage" in problem(pothole)["detail"]
    unknown = await client.get("/open311/v2/requests.json?service_code=pothole")
    assert unknown.status_code == 400 and "road_damage" in unknown.json()[0]["description"]
