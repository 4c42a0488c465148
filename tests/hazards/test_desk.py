"""The hazard desk's data: filtered list, map counts and heat, bulk status, and the open-data export streamed
without personal data (a period over the limit refused, saying the limit)."""

from __future__ import annotations

import csv
import io

import pytest
from litestar import Litestar

from api.platform.auth.tokens import Role
from api.platform.settings import Settings
from tests.conftest import bearer, problem
from tests.hazards import CITY_HALL, hazards_app, make_citizen, north_of, report_body

DESK = "/v1/admin/hazard-desk"
GANGNAM = (37.5172, 127.0473)


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return hazards_app(settings)


@pytest.fixture
def operator(token_for):  # type: ignore[no-untyped-def]
    return bearer(token_for(Role.operator))


@pytest.fixture
async def incidents(client, pool, token_for):  # type: ignore[no-untyped-def]
    kim = bearer(token_for(Role.citizen, subject=f"citizen:{await make_citizen(pool, '+821088880001')}"))
    made = []
    for point, category in [(CITY_HALL, "sinkhole"), (north_of(CITY_HALL, 500), "fallen_tree"), (GANGNAM, "sinkhole")]:
        body = report_body(point, category=category, description="제 번호는 010-1234-5678")
        response = await client.post("/v1/hazard-reports", json=body, headers=kim)
        made.append(response.json()["incident"]["id"])
    await pool.execute("UPDATE hazard_incidents SET due_at = now() - interval '1 hour' WHERE id = $1", made[1])
    return made


async def test_the_list_filters_by_category_district_and_overdue(client, operator, incidents):
    everything = (await client.get(f"{DESK}/incidents", headers=operator)).json()["items"]
    assert [i["id"] for i in everything] == sorted(incidents, reverse=True)
    sinkholes = (await client.get(f"{DESK}/incidents?category=sinkhole&district=11680", headers=operator)).json()
    assert [i["id"] for i in sinkholes["items"]] == [incidents[2]]
    late = (await client.get(f"{DESK}/incidents?overdue=true", headers=operator)).json()["items"]
    assert [(i["id"], i["overdue"]) for i in late] == [(incidents[1], True)]
    bad = await client.get(f"{DESK}/incidents?category=pothole", headers=operator)
    assert bad.status_code == 400 and "broken_streetlight" in problem(bad)["detail"]
    nowhere = await client.get(f"{DESK}/incidents?district=99999", headers=operator)
    assert nowhere.status_code == 400 and "11680 Gangnam-gu" in problem(nowhere)["detail"]
    assert (await client.get(f"{DESK}/incidents")).status_code == 401


async def test_the_map_counts_per_district_and_heat_per_cell(client, operator, incidents):
    data = (await client.get(f"{DESK}/map", headers=operator)).json()
    by_code = {d["code"]: d for d in data["districts"]}
    assert len(by_code) == 25
    assert (by_code["11140"]["incidents"], by_code["11140"]["overdue"]) == (1, 0)
    assert sum(d["incidents"] for d in data["districts"]) == 3
    assert sum(c["n"] for c in data["heat"]) == 3
    only = (await client.get(f"{DESK}/map?category=fallen_tree", headers=operator)).json()
    assert sum(c["n"] for c in only["heat"]) == 1


async def test_bulk_status_answers_for_each(client, operator, incidents):
    body = {"incident_ids": [*incidents, 999999], "status": "acknowledged", "reason": "현장 확인 중"}
    results = (await client.post(f"{DESK}/bulk-status", json=body, headers=operator)).json()
    assert [(r["id"], r["ok"]) for r in results] == [(i, True) for i in sorted(incidents)] + [(999999, False)]
    again = (await client.post(f"{DESK}/bulk-status", json=body, headers=operator)).json()
    assert {r.get("code") for r in again} == {"illegal_status_transition", "incident_not_found"}


async def test_the_export_is_open_data_without_personal_data(client, operator, incidents):
    response = await client.get(f"{DESK}/export.csv", headers=operator)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [int(r["id"]) for r in rows] == sorted(incidents)
    assert rows[0]["district"] == "11140" and rows[0]["department_ko"] == "도로과"
    for text in ("010-1234-5678", "세종대로", "citizen"):
        assert text not in response.text
    assert float(rows[0]["lat"]) != CITY_HALL[0]  # on the public grid

    geo = (await client.get(f"{DESK}/export.geojson?category=sinkhole", headers=operator)).json()
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 2
    assert geo["features"][0]["geometry"]["type"] == "Point"

    huge = await client.get(f"{DESK}/export.csv?since=2020-01-01T00:00:00Z", headers=operator)
    assert huge.status_code == 400 and "366 days" in problem(huge)["detail"]
