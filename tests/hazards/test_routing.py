"""Routing: each incident's district (from the true boundaries), its category's department and deadline,
the table operators edit, Open311's agency_responsible, overdue incidents and the share handled in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import Litestar
from shapely.geometry import Point, Polygon

from api.platform import boundaries
from api.platform.auth.tokens import Role
from api.platform.geo import great_circle_m
from api.platform.settings import Settings
from tests.conftest import bearer, problem
from tests.hazards import CITY_HALL, hazards_app, make_citizen, report_body

ADMIN = "/v1/admin/incidents"
ROUTING = "/v1/admin/hazard-routing"
GANGNAM_STATION = (37.5172, 127.0473)  # by Gangnam-gu office


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return hazards_app(settings)


@pytest.fixture
def operator(token_for):  # type: ignore[no-untyped-def]
    return bearer(token_for(Role.operator))


@pytest.fixture
def citizen(pool, token_for):  # type: ignore[no-untyped-def]
    async def make(phone: str) -> dict[str, str]:
        return bearer(token_for(Role.citizen, subject=f"citizen:{await make_citizen(pool, phone)}"))

    return make


async def reported(client, headers, point=CITY_HALL, **overrides) -> dict:  # type: ignore[no-untyped-def]
    response = await client.post("/v1/hazard-reports", json=report_body(point, **overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_an_incident_goes_to_the_district_it_lies_in_and_its_categorys_department(client, citizen, operator):
    kim = await citizen("+821033330001")
    hall = await reported(client, kim, public=True)
    gangnam = await reported(client, kim, GANGNAM_STATION, category="gas_smell")
    first = (await client.get(f"{ADMIN}/{hall['incident']['id']}", headers=operator)).json()
    second = (await client.get(f"{ADMIN}/{gangnam['incident']['id']}", headers=operator)).json()
    assert (first["district"], first["department_ko"], first["department_en"]) == (
        "11140",
        "도로과",
        "Road Management Division",
    )
    assert second["district"] == "11680" and second["department_ko"] == "안전총괄과"
    opened = datetime.fromisoformat(first["first_reported_at"])
    assert datetime.fromisoformat(first["due_at"]) - opened == timedelta(hours=4)  # sinkhole: 4 h
    assert datetime.fromisoformat(second["due_at"]) - datetime.fromisoformat(second["first_reported_at"]) == timedelta(
        hours=1
    )  # gas smell: 1 h
    assert first["overdue"] is False and first["handled_at"] is None

    ko = (await client.get(f"/open311/v2/requests/{hall['id']}.json")).json()[0]
    en = (await client.get(f"/open311/v2/requests/{hall['id']}.json?locale=en")).json()[0]
    assert ko["agency_responsible"] == "중구 도로과"
    assert en["agency_responsible"] == "Jung-gu Road Management Division"


async def test_operators_edit_the_table_and_new_incidents_take_it(client, citizen, operator, pool):
    table = (await client.get(ROUTING, headers=operator)).json()
    assert len(table) == 11
    assert table[0]["deadline_minutes"] == 60  # shortest first: gas smell and fire
    assert {r["category"]: r["deadline_minutes"] for r in table}["broken_streetlight"] == 7 * 24 * 60

    kim = await citizen("+821033330002")
    before = await reported(client, kim)
    body = {"department_ko": "도로관리과", "department_en": "Road Maintenance Division", "deadline_minutes": 120}
    changed = await client.put(f"{ROUTING}/sinkhole", json=body, headers=operator)
    assert changed.status_code == 200, changed.text
    assert changed.json()["department_ko"] == "도로관리과" and changed.json()["updated_by"].startswith("operator")

    after = await reported(client, kim, GANGNAM_STATION)
    old = (await client.get(f"{ADMIN}/{before['incident']['id']}", headers=operator)).json()
    new = (await client.get(f"{ADMIN}/{after['incident']['id']}", headers=operator)).json()
    assert old["department_ko"] == "도로과"  # a promise made is kept
    assert new["department_ko"] == "도로관리과"
    assert datetime.fromisoformat(new["due_at"]) - datetime.fromisoformat(new["first_reported_at"]) == timedelta(
        hours=2
    )

    assert (await client.put(f"{ROUTING}/sinkhole", json=body, headers=kim)).status_code == 403
    unknown = await client.put(f"{ROUTING}/pothole", json=body, headers=operator)
    assert unknown.status_code == 400
    assert "road_damage" in problem(unknown)["detail"]  # the allowed values are listed
    too_short = await client.put(f"{ROUTING}/sinkhole", json=body | {"deadline_minutes": 5}, headers=operator)
    assert too_short.status_code == 400
    assert "10" in problem(too_short)["detail"]


async def test_overdue_incidents_and_the_share_handled_in_time_per_district(client, citizen, operator, pool):
    kim = await citizen("+821033330003")
    quick = (await reported(client, kim))["incident"]["id"]
    late = (await reported(client, kim, category="fallen_tree"))["incident"]["id"]
    waiting = (await reported(client, kim, category="flooding"))["incident"]["id"]
    # The late one and the waiting one were promised for an hour ago.
    await pool.execute(
        "UPDATE hazard_incidents SET due_at = now() - interval '1 hour' WHERE id = ANY($1::bigint[])", [late, waiting]
    )
    for incident in (quick, late):
        for status in ("acknowledged", "in_progress", "resolved"):
            assert (
                await client.post(f"{ADMIN}/{incident}/status", json={"status": status}, headers=operator)
            ).status_code == 200
    detail = (await client.get(f"{ADMIN}/{late}", headers=operator)).json()
    assert detail["overdue"] is True and detail["handled_at"] is not None
    assert (await client.get(f"{ADMIN}/{waiting}", headers=operator)).json()["overdue"] is True
    assert (await client.get(f"{ADMIN}/{quick}", headers=operator)).json()["overdue"] is False

    figures = (await client.get(f"{ROUTING}/timeliness", headers=operator)).json()
    by_code = {d["district"]: d for d in figures["districts"]}
    assert len(by_code) == 25
    assert (by_code["11140"]["handled"], by_code["11140"]["handled_in_time"]) == (2, 1)
    assert by_code["11140"]["share_in_time"] == 0.5
    assert by_code["11140"]["open_overdue"] == 1
    assert by_code["11680"]["share_in_time"] is None  # nothing handled: no share

    backwards = await client.get(
        f"{ROUTING}/timeliness?since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", headers=operator
    )
    assert backwards.status_code == 400


async def test_incidents_from_before_routing_are_placed_by_the_job(client, citizen, operator, pool, settings):
    from api.platform.jobs.runner import run_job
    from api.worker import JOBS

    kim = await citizen("+821033330004")
    incident = (await reported(client, kim, GANGNAM_STATION))["incident"]["id"]
    await pool.execute("UPDATE hazard_incidents SET district = NULL WHERE id = $1", incident)
    await run_job(pool, JOBS["hazards.route"], now=datetime.now(UTC), settings=settings)
    assert await pool.fetchval("SELECT district FROM hazard_incidents WHERE id = $1", incident) == "11680"


def _outline() -> Polygon:
    whole = shapely.union_all([r.shape for r in boundaries.districts().values()])
    return Polygon(whole.exterior)  # the city without the slivers between its districts


OUTLINE = _outline()
WEST, SOUTH, EAST, NORTH = OUTLINE.bounds


@settings(max_examples=300, deadline=None)
@given(st.floats(SOUTH, NORTH), st.floats(WEST, EAST))
def test_every_point_in_seoul_has_exactly_one_district(lat: float, lon: float) -> None:
    """Invariant: every point inside Seoul's outline answers to one district, always the same one: the one
    covering it (the lowest code on a line between two), or, in a sliver between districts, the nearest."""
    point = Point(lon, lat)
    if not OUTLINE.covers(point):
        return
    chosen = boundaries.responsible_district(lat, lon)
    assert chosen == boundaries.responsible_district(lat, lon)
    covering = [r for r in boundaries.districts().values() if r.shape.covers(point)]
    if covering:
        assert chosen.code == min(r.code for r in covering)
    else:
        nearest = shapely.ops.nearest_points(chosen.shape, point)[0]
        assert great_circle_m(lat, lon, nearest.y, nearest.x) < 100  # slivers are metres wide


def test_the_sliver_between_two_districts_goes_to_the_nearer() -> None:
    hole = next(h for h in shapely.union_all([r.shape for r in boundaries.districts().values()]).interiors)
    inside = Polygon(hole).representative_point()
    assert boundaries.district_at(inside.y, inside.x) is None
    assert boundaries.responsible_district(inside.y, inside.x).code in boundaries.districts()
