"""The nearest suitable shelters, checked against a brute-force great-circle search of every real shelter."""

from __future__ import annotations

import random

import pytest

from api.evacuation import service
from api.evacuation.schemas import Hazard, MeasuredFrom
from api.platform import geo
from tests.conftest import problem

NEAREST = "/v1/shelters/nearest"
TIERS = {
    "heat_wave": [["heat_wave"]],
    "cold_wave": [["cold_wave"]],
    "earthquake": [["earthquake_outdoor"], ["earthquake_indoor"]],
    "flooding": [["temporary_housing", "earthquake_indoor"]],
    "typhoon": [["temporary_housing", "earthquake_indoor"]],
    "air_raid": [["civil_defense"]],
}


CAP_M = 5000.0  # SHELTER_DISTANCE_CAP_M's default


def brute_force(
    shelters, lat: float, lon: float, hazard: str, limit: int, cap_m: float = CAP_M
) -> list[tuple[int, float]]:
    """Every active shelter of each tier, by exact distance then id: what the answer must be.

    Per tier, those of the ``limit`` nearest within the cap; when none is, the nearest alone (marked far).
    """
    answer = []
    for kinds in TIERS[hazard]:
        ranked = sorted(
            (geo.great_circle_m(lat, lon, s["lat"], s["lon"]), s["id"])
            for s in shelters
            if s["active"] and s["kind"] in kinds
        )[:limit]
        kept = [r for r in ranked if r[0] <= cap_m] or ranked[:1]
        answer += [(shelter_id, distance) for distance, shelter_id in kept]
    return answer


def sample_points(n: int, seed: int) -> list[tuple[float, float]]:
    """Random points over Seoul and its surroundings, and the far corners where the plane is least true."""
    rnd = random.Random(seed)
    q = geo.QUERY_BOUNDS
    corners = [(lat, lon) for lat in (q.south, q.north) for lon in (q.west, q.east)]
    return corners + [(rnd.uniform(q.south, q.north), rnd.uniform(q.west, q.east)) for _ in range(n)]


def test_every_hazard_maps_to_the_kinds_the_issue_names():
    assert {h.value: [[k.value for k in tier] for tier in service.HAZARD_TIERS[h]] for h in Hazard} == TIERS


@pytest.mark.parametrize("hazard", ["heat_wave", "earthquake", "flooding"])
async def test_the_answer_is_the_brute_force_answer_everywhere(client, real_shelters, hazard):
    for lat, lon in sample_points(60, seed=len(hazard)):
        response = await client.get(NEAREST, params={"lat": lat, "lon": lon, "hazard": hazard, "limit": 5})
        assert response.status_code == 200, response.text
        got = [(s["id"], s["distance_m"]) for s in response.json()["shelters"]]
        expected = brute_force(real_shelters, lat, lon, hazard, 5)
        assert [i for i, _ in got] == [i for i, _ in expected], (lat, lon)
        assert all(abs(d - e) <= 0.05 for (_, d), (_, e) in zip(got, expected, strict=True))


async def test_the_service_matches_brute_force_for_many_points_limits_and_caps(conn, real_shelters):
    rnd = random.Random(11)
    for lat, lon in sample_points(400, seed=3):
        hazard = rnd.choice(["heat_wave", "earthquake", "typhoon"])
        limit = rnd.choice([1, 2, 7, 20])
        cap_m = rnd.choice([150.0, 800.0, CAP_M, 1e9])
        at = service.Start(lat, lon, MeasuredFrom.point)
        got = await service.nearest(conn, hazard=Hazard(hazard), at=at, limit=limit, cap_m=cap_m)
        expected = brute_force(real_shelters, lat, lon, hazard, limit, cap_m)
        assert [s.id for s in got.shelters] == [i for i, _ in expected]
        assert [s.far for s in got.shelters] == [d > cap_m for _, d in expected]
        assert got.nothing_nearby == all(d > cap_m for _, d in expected)


async def test_near_a_district_border_the_nearest_may_be_in_the_next_district(client, real_shelters):
    # On Jongno-gu's side of Cheonggyecheon, a stone's throw from Jung-gu: the nearest heat-wave shelters
    # lie on both sides of the line, and distance alone decides.
    districts = set()
    for lat, lon in [(37.5695, 126.9900), (37.5690, 127.0050), (37.5505, 126.9700), (37.5170, 127.0190)]:
        shelters = (await client.get(NEAREST, params={"lat": lat, "lon": lon, "hazard": "heat_wave"})).json()
        districts |= {s["district"] for s in shelters["shelters"]}
        assert [s["id"] for s in shelters["shelters"]] == [
            i for i, _ in brute_force(real_shelters, lat, lon, "heat_wave", 3)
        ]
    assert len(districts) >= 4


async def test_an_answer_says_how_far_how_long_on_foot_and_what_the_shelter_offers(client, real_shelters):
    response = await client.get(NEAREST, params={"lat": 37.5645, "lon": 126.9011, "hazard": "heat_wave", "limit": 1})
    body = response.json()
    assert body["hazard"] == "heat_wave" and body["kinds"] == ["heat_wave"]
    assert body["origin"] == {"lat": 37.5645, "lon": 126.9011}
    [shelter] = body["shelters"]
    assert shelter["name"] == "백합경로당"
    assert shelter["address"] == "서울특별시 마포구 월드컵로 215"
    assert (shelter["kind"], shelter["district"], shelter["capacity_people"]) == ("heat_wave", "11440", 36)
    assert shelter["distance_m"] == pytest.approx(
        geo.great_circle_m(37.5645, 126.9011, 37.5645129, 126.9011031), abs=0.05
    )
    assert shelter["walking_minutes"] == geo.walking_minutes(shelter["distance_m"])
    assert (shelter["source"], shelter["as_of"]) == ("seoul-open-data", "2025-07-01")

    read = await client.get(f"/v1/shelters/{shelter['id']}")
    assert read.status_code == 200
    assert read.json()["name"] == "백합경로당" and read.json()["active"] is True


async def test_earthquake_offers_outdoor_sites_first_then_indoor_relief(client, real_shelters):
    response = await client.get(NEAREST, params={"lat": 37.55, "lon": 126.98, "hazard": "earthquake", "limit": 2})
    body = response.json()
    assert body["kinds"] == ["earthquake_outdoor", "earthquake_indoor"]
    assert [s["kind"] for s in body["shelters"]] == ["earthquake_outdoor"] * 2 + ["earthquake_indoor"] * 2
    outdoor, indoor = body["shelters"][:2], body["shelters"][2:]
    assert outdoor[0]["distance_m"] <= outdoor[1]["distance_m"] and indoor[0]["distance_m"] <= indoor[1]["distance_m"]


async def test_flooding_mixes_temporary_housing_and_indoor_relief_by_distance(client, real_shelters):
    body = (await client.get(NEAREST, params={"lat": 37.6, "lon": 127.0, "hazard": "typhoon", "limit": 20})).json()
    assert {s["kind"] for s in body["shelters"]} == {"temporary_housing", "earthquake_indoor"}
    distances = [s["distance_m"] for s in body["shelters"]]
    assert distances == sorted(distances)


async def test_a_hazard_with_no_shelter_of_its_kind_loaded_answers_an_empty_list(client, real_shelters):
    for hazard in ("cold_wave", "air_raid"):
        response = await client.get(NEAREST, params={"lat": 37.55, "lon": 126.98, "hazard": hazard})
        assert response.status_code == 200
        assert response.json()["shelters"] == []


async def test_an_inactive_shelter_is_never_offered(client, conn, real_shelters):
    params = {"lat": 37.5645, "lon": 126.9011, "hazard": "heat_wave", "limit": 1}
    first = (await client.get(NEAREST, params=params)).json()["shelters"][0]["id"]
    await conn.execute("UPDATE shelters SET active = false WHERE id = $1", first)
    second = (await client.get(NEAREST, params=params)).json()["shelters"][0]["id"]
    assert second != first
    still = [s for s in real_shelters if s["id"] != first]
    assert second == brute_force(still, 37.5645, 126.9011, "heat_wave", 1)[0][0]


async def test_the_demo_set_answers_every_hazard(client, conn):
    await service.load_demo(conn)
    for hazard in TIERS:
        response = await client.get(NEAREST, params={"lat": 37.5665, "lon": 126.978, "hazard": hazard, "limit": 1})
        shelters = response.json()["shelters"]
        assert shelters, hazard
        assert all(s["name"].startswith("[데모]") and s["source"] == "demo" for s in shelters)
    air = (await client.get(NEAREST, params={"lat": 37.5665, "lon": 126.978, "hazard": "air_raid"})).json()
    assert air["shelters"][0]["name"] == "[데모] 시청역 지하 민방위대피시설"


@pytest.mark.parametrize(
    ("params", "field", "code", "says"),
    [
        ({"lat": 35.1796, "lon": 129.0756}, None, "outside_seoul", "within latitude"),
        ({"lat": 37.57, "lon": 127.5}, None, "outside_seoul", "within latitude"),
        ({"lat": 126.97, "lon": 37.57}, None, "outside_seoul", "within latitude"),
        ({"lat": "nan", "lon": 126.97}, None, "outside_seoul", "within latitude"),
        ({"lat": 37.57, "lon": 126.97, "hazard": "tornado"}, "hazard", None, "Invalid enum value 'tornado'"),
        ({"lat": 37.57}, None, "incomplete_location", "Give both lat and lon, or a district."),
        ({}, None, "incomplete_location", "Give lat and lon, or a district."),
        ({"lat": "north", "lon": 126.97}, "lat", None, ""),
        ({"lat": 37.57, "lon": 126.97, "limit": 0}, "limit", None, ""),
        ({"lat": 37.57, "lon": 126.97, "limit": 21}, "limit", None, ""),
        ({"district": "11110", "lat": 37.57, "lon": 126.97}, None, "ambiguous_location", "not both"),
        ({"district": "11110", "lon": 126.97}, None, "ambiguous_location", "not both"),
        ({"district": "11999"}, None, "unknown_district", "not one of Seoul's 25 district codes"),
        ({"district": "종로구"}, "district", None, ""),
    ],
)
async def test_bad_input_is_a_400_that_says_why(client, params, field, code, says):
    response = await client.get(NEAREST, params={"hazard": "heat_wave", **params})
    assert response.status_code == 400, response.text
    body = problem(response)
    assert says in body["detail"]
    if code is not None:
        assert body["code"] == code
    elif "errors" in body:
        assert body["errors"][0]["field"] == field


async def test_a_shelter_that_does_not_exist_is_404(client):
    response = await client.get("/v1/shelters/999999")
    assert response.status_code == 404
    assert problem(response)["code"] == "shelter_not_found"


async def test_the_bulk_search_for_a_warning_matches_brute_force(conn, real_shelters):
    points = sample_points(3000, seed=5)
    lats, lons = [p[0] for p in points] + [35.18, 37.5], [p[1] for p in points] + [129.07, 127.0]
    for hazard in (Hazard.heat_wave, Hazard.earthquake, Hazard.flooding):
        result = await service.nearest_for_points(conn, hazard=hazard, lats=lats, lons=lons)
        kinds = TIERS[hazard.value][0]
        assert result.kinds == kinds
        assert result.shelter_ids[-2] is None and result.distances_m[-2] is None  # Busan: not ours to answer
        for i, (lat, lon) in enumerate(points[:300]):
            # The first tier's nearest: what a warning message carries.
            expected_id, expected_m = brute_force(real_shelters, lat, lon, hazard.value, 1)[0]
            assert result.shelter_ids[i] == expected_id, (lat, lon)
            assert result.distances_m[i] == pytest.approx(expected_m, abs=1e-3)
        assert None not in result.shelter_ids[:-2]


async def test_the_bulk_search_with_nothing_to_offer_gives_none_for_every_point(conn):
    result = await service.nearest_for_points(conn, hazard=Hazard.air_raid, lats=[37.5, 37.6], lons=[127.0, 127.0])
    assert (result.kinds, result.shelter_ids, result.distances_m) == ([], [None, None], [None, None])


async def test_the_routes_are_public_and_documented(client):
    spec = (await client.get("/schema/openapi.json")).json()
    nearest = spec["paths"]["/v1/shelters/nearest"]["get"]
    params = {p["name"]: p for p in nearest["parameters"]}
    assert set(params) == {"lat", "lon", "district", "hazard", "limit"}
    assert "/v1/guidance" in spec["paths"]
