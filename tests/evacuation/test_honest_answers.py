"""Honest shelter answers: nothing nearby beyond the distance cap, and where the distances are measured from."""

from __future__ import annotations

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from api.alerts.areas import DISTRICT_CENTROIDS
from api.app import create_app
from api.evacuation import service
from api.evacuation.importer import parse
from api.evacuation.schemas import Hazard, MeasuredFrom
from api.platform import geo
from api.platform.districts import DISTRICT_OFFICES, DISTRICTS
from api.platform.settings import EvacuationSettings, Settings, SettingsError
from tests.evacuation.conftest import AS_OF

NEAREST = "/v1/shelters/nearest"
GUIDANCE = "/v1/guidance"
GANGSEO_WEST = {"lat": 37.5600, "lon": 126.8000}  # west 강서구, near Gimpo airport: 12 km from any demo cold shelter
HEAT = "seoul_heat_shelters_2025.utf8.csv"


async def test_a_cold_wave_question_far_from_any_shelter_says_nothing_nearby_and_gives_the_nearest(client, conn):
    await service.load_demo(conn)
    response = await client.get(NEAREST, params={**GANGSEO_WEST, "hazard": "cold_wave", "limit": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["nothing_nearby"], body["distance_cap_m"], body["measured_from"]) == (True, 5000.0, "point")
    [nearest] = body["shelters"]  # the nearest only, not three shelters 12 km and more away
    assert nearest["far"] is True and nearest["distance_m"] > 5000
    assert nearest["name"] == "[데모] 신림 경로당 한파쉼터"

    guide = (await client.get(GUIDANCE, params={**GANGSEO_WEST, "hazard": "cold_wave"})).json()
    assert guide["nothing_nearby"] is True and guide["shelters"] == body["shelters"]
    assert guide["shelter_note"].startswith("근처(5 km 안)에 알맞은 대피소가 없습니다.")
    english = (await client.get(GUIDANCE, params={**GANGSEO_WEST, "hazard": "cold_wave", "lang": "en"})).json()
    assert english["shelter_note"].startswith("There is no suitable shelter nearby (within 5 km).")


async def test_a_real_cold_wave_file_far_away_still_gives_its_nearest_marked_far(client, conn, shelter_dir):
    # The heat- and cold-wave files share one layout: a few 마포구 rows stand in for a cold-wave file.
    lines = (shelter_dir / HEAT).read_text(encoding="utf-8-sig").splitlines()[:4]
    cold = parse(("\n".join(lines) + "\n").encode(), filename="한파쉼터.csv")
    await service.import_file(conn, cold, file="한파쉼터.csv", source="seoul-open-data", as_of=AS_OF)
    gangnam = {"lat": 37.4979, "lon": 127.0276, "hazard": "cold_wave", "limit": 3}
    body = (await client.get(NEAREST, params=gangnam)).json()
    assert body["nothing_nearby"] is True
    assert [s["far"] for s in body["shelters"]] == [True]
    near_mapo = (await client.get(NEAREST, params={**gangnam, "lat": 37.5645, "lon": 126.9011})).json()
    assert near_mapo["nothing_nearby"] is False
    assert len(near_mapo["shelters"]) == 3 and not any(s["far"] for s in near_mapo["shelters"])


async def test_shelters_beyond_the_cap_are_left_out_and_a_tier_with_none_nearer_gives_its_nearest(conn, real_shelters):
    # In 마포구: the nearest indoor relief shelter is 402 m away, the nearest outdoor site 407 m.
    at = service.Start(37.5645, 126.9011, MeasuredFrom.point)
    found = await service.nearest(conn, hazard=Hazard.earthquake, at=at, limit=20, cap_m=405.0)
    assert found.nothing_nearby is False
    assert [(s.kind, s.far) for s in found.shelters] == [("earthquake_outdoor", True), ("earthquake_indoor", False)]
    wider = await service.nearest(conn, hazard=Hazard.earthquake, at=at, limit=20, cap_m=1000.0)
    assert len(wider.shelters) == 20 and not any(s.far for s in wider.shelters)
    assert all(s.distance_m <= 1000 for s in wider.shelters)


async def test_a_district_only_answer_is_measured_from_the_district_office_with_no_walking_time(client, real_shelters):
    response = await client.get(NEAREST, params={"district": "11110", "hazard": "heat_wave"})
    assert response.status_code == 200, response.text
    body = response.json()
    office = DISTRICT_OFFICES["11110"]
    assert body["measured_from"] == "district_office"
    assert body["origin"] == {"lat": office[0], "lon": office[1]}
    assert len(body["shelters"]) == 3
    assert all(s["walking_minutes"] is None for s in body["shelters"])
    from_point = (await client.get(NEAREST, params={"lat": office[0], "lon": office[1], "hazard": "heat_wave"})).json()
    assert [s["id"] for s in body["shelters"]] == [s["id"] for s in from_point["shelters"]]
    assert from_point["measured_from"] == "point"
    assert all(isinstance(s["walking_minutes"], int) for s in from_point["shelters"])

    ko = (await client.get(GUIDANCE, params={"district": "11110", "hazard": "heat_wave"})).json()
    assert ko["measured_from"] == "district_office" and ko["shelter_note"].startswith("구청 기준")
    assert all(s["walking_minutes"] is None for s in ko["shelters"])
    en = (await client.get(GUIDANCE, params={"district": "11110", "hazard": "heat_wave", "lang": "en"})).json()
    assert "from the district office" in en["shelter_note"] and "no walking time" in en["shelter_note"]


async def test_a_point_answer_says_it_is_measured_from_the_point(client, real_shelters):
    body = (await client.get(GUIDANCE, params={"lat": 37.5645, "lon": 126.9011, "hazard": "heat_wave"})).json()
    assert body["measured_from"] == "point" and body["nothing_nearby"] is False
    assert body["shelter_note"] == "알려 주신 곳에서 잰 직선거리입니다."
    assert body["shelters"][0]["walking_minutes"] == geo.walking_minutes(body["shelters"][0]["distance_m"])


async def test_without_a_location_guidance_has_no_note(client):
    body = (await client.get(GUIDANCE, params={"hazard": "heat_wave"})).json()
    assert (body["measured_from"], body["shelter_note"], body["nothing_nearby"]) == (None, None, False)


async def test_the_cap_is_the_setting(settings, real_shelters):
    # As SHELTER_DISTANCE_CAP_M=405 would set it; the same place in 마포구 as above.
    capped = msgspec.structs.replace(settings, evacuation=EvacuationSettings(distance_cap_m=405.0))
    async with AsyncTestClient(app=create_app(capped), base_url="http://safecity.test") as client:
        params = {"lat": 37.5645, "lon": 126.9011, "hazard": "earthquake", "limit": 5}
        body = (await client.get(NEAREST, params=params)).json()
    assert (body["distance_cap_m"], body["nothing_nearby"]) == (405.0, False)
    assert [(s["kind"], s["far"]) for s in body["shelters"]] == [
        ("earthquake_outdoor", True),
        ("earthquake_indoor", False),
    ]


def test_the_cap_is_read_from_the_environment_and_must_be_positive():
    assert Settings.from_env({}).evacuation.distance_cap_m == 5000.0
    assert Settings.from_env({"SHELTER_DISTANCE_CAP_M": "2500"}).evacuation.distance_cap_m == 2500.0
    for bad in ("0", "-1"):
        with pytest.raises(SettingsError, match="SHELTER_DISTANCE_CAP_M"):
            Settings.from_env({"SHELTER_DISTANCE_CAP_M": bad})
    with pytest.raises(SettingsError, match="EvacuationSettings"):
        Settings.from_env({"SHELTER_DISTANCE_CAP_M": "far"})


def test_every_district_has_its_office_and_the_alerts_use_the_same_points():
    assert set(DISTRICT_OFFICES) == set(DISTRICTS)
    assert DISTRICT_OFFICES == DISTRICT_CENTROIDS
    assert all(geo.SEOUL_BOUNDS.contains(lat, lon) for lat, lon in DISTRICT_OFFICES.values())
