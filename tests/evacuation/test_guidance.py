"""Guidance: what to do in each hazard, in Korean and English, with the nearest suitable shelters."""

from __future__ import annotations

import pytest

from api.evacuation import guidance
from api.evacuation.schemas import Hazard
from api.platform.types import Language
from tests.conftest import problem

GUIDANCE = "/v1/guidance"


@pytest.mark.parametrize("hazard", list(Hazard))
def test_every_hazard_has_short_actionable_steps_in_both_languages(hazard):
    ko, en = guidance.for_hazard(hazard, Language.ko), guidance.for_hazard(hazard, Language.en)
    assert len(ko.steps) == len(en.steps) >= 4
    for text in (ko, en):
        assert text.title and text.shelter_advice
        assert all(0 < len(step) <= 160 for step in text.steps)
    assert all(any("\uac00" <= ch <= "\ud7a3" for ch in step) for step in ko.steps)  # Hangul
    assert not any(any("\uac00" <= ch <= "\ud7a3" for ch in step) for step in en.steps)


async def test_guidance_in_korean_by_default_with_the_nearest_shelters(client, real_shelters):
    params = {"hazard": "earthquake", "lat": 37.55, "lon": 126.98, "limit": 1}
    response = await client.get(GUIDANCE, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["hazard"], body["language"], body["title"]) == ("earthquake", "ko", "지진 행동요령")
    assert body["instructions"][0].startswith("흔들리는 동안에는 탁자 아래로")
    assert "옥외대피장소" in body["shelter_advice"]
    assert body["origin"] == {"lat": 37.55, "lon": 126.98}
    nearest = (await client.get("/v1/shelters/nearest", params=params)).json()
    assert body["shelters"] == nearest["shelters"]
    assert [s["kind"] for s in body["shelters"]] == ["earthquake_outdoor", "earthquake_indoor"]


async def test_guidance_in_english(client, real_shelters):
    response = await client.get(GUIDANCE, params={"hazard": "heat_wave", "lat": 37.5, "lon": 127.0, "lang": "en"})
    body = response.json()
    assert (body["language"], body["title"]) == ("en", "Heat wave: what to do")
    assert any("119" in step for step in body["instructions"])
    assert "heat-wave shelter" in body["shelter_advice"]
    assert len(body["shelters"]) == 3 and all(s["kind"] == "heat_wave" for s in body["shelters"])


async def test_guidance_without_a_location_gives_the_instructions_alone(client):
    response = await client.get(GUIDANCE, params={"hazard": "typhoon", "lang": "en"})
    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["origin"], body["shelters"]) == ("Typhoon: what to do", None, [])


async def test_guidance_for_the_demo_set_names_demo_shelters(client, conn):
    from api.evacuation import service

    await service.load_demo(conn)
    body = (await client.get(GUIDANCE, params={"hazard": "air_raid", "lat": 37.5665, "lon": 126.978})).json()
    assert body["title"] == "공습 대피 요령"
    assert body["shelters"][0]["name"].startswith("[데모]")


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"hazard": "volcano"}, "Invalid enum value 'volcano'"),
        ({"hazard": "heat_wave", "lang": "fr"}, "Invalid enum value 'fr'"),
        ({"hazard": "heat_wave", "lat": 37.5}, "Give both lat and lon, or a district."),
        ({"hazard": "heat_wave", "lat": 33.5, "lon": 126.5}, "outside Seoul"),
        ({}, "hazard"),
    ],
)
async def test_bad_guidance_requests_are_400_with_the_reason(client, params, says):
    response = await client.get(GUIDANCE, params=params)
    assert response.status_code == 400
    assert says in problem(response)["detail"]
