"""The signed-in citizen, their devices, districts, and staff administration."""

from __future__ import annotations

import pytest

from api.platform.auth.tokens import Role
from tests.conftest import bearer, problem, sign_in

TOKEN = "fcm-registration-token-" + "x" * 40


@pytest.fixture
async def citizen(client) -> dict[str, str]:
    return bearer(await sign_in(client, "010-4444-5555"))


async def test_a_new_citizen_starts_in_korean_with_no_district(client, citizen):
    me = (await client.get("/v1/me", headers=citizen)).json()
    assert me["language"] == "ko"
    assert me["district"] is None
    assert me["phone"] == "+821044445555"


async def test_a_citizen_sets_language_and_district_and_only_those_change(client, citizen):
    await client.patch("/v1/me", json={"display_name": "할머니"}, headers=citizen)
    response = await client.patch("/v1/me", json={"language": "en", "district": "11440"}, headers=citizen)
    assert response.status_code == 200
    me = (await client.get("/v1/me", headers=citizen)).json()
    assert (me["language"], me["district"], me["display_name"]) == ("en", "11440", "할머니")


async def test_a_citizen_clears_their_district(client, citizen):
    await client.patch("/v1/me", json={"district": "11440"}, headers=citizen)
    await client.patch("/v1/me", json={"district": None}, headers=citizen)
    assert (await client.get("/v1/me", headers=citizen)).json()["district"] is None


async def test_devices_are_registered_listed_and_removed(client, citizen):
    created = await client.post("/v1/me/devices", json={"platform": "ios", "fcm_token": TOKEN}, headers=citizen)
    assert created.status_code == 201
    device_id = created.json()["id"]
    assert [d["id"] for d in (await client.get("/v1/me/devices", headers=citizen)).json()] == [device_id]

    assert (await client.delete(f"/v1/me/devices/{device_id}", headers=citizen)).status_code == 204
    assert (await client.get("/v1/me/devices", headers=citizen)).json() == []


async def test_a_token_moves_to_whoever_registers_it_last(client, citizen):
    await client.post("/v1/me/devices", json={"platform": "android", "fcm_token": TOKEN}, headers=citizen)
    other = bearer(await sign_in(client, "010-6666-7777"))
    await client.post("/v1/me/devices", json={"platform": "android", "fcm_token": TOKEN}, headers=other)
    assert (await client.get("/v1/me/devices", headers=citizen)).json() == []
    assert len((await client.get("/v1/me/devices", headers=other)).json()) == 1


async def test_a_citizen_cannot_remove_anothers_device(client, citizen):
    created = await client.post("/v1/me/devices", json={"platform": "ios", "fcm_token": TOKEN}, headers=citizen)
    other = bearer(await sign_in(client, "010-6666-7777"))
    response = await client.delete(f"/v1/me/devices/{created.json()['id']}", headers=other)
    assert response.status_code == 404
    problem(response)


async def test_districts_are_public(client):
    districts = (await client.get("/v1/districts")).json()
    assert len(districts) == 25
    assert {"code": "11680", "name_ko": "강남구", "name_en": "Gangnam-gu"} in districts


async def test_a_district_summary_counts_people_reached(client, citizen, token_for):
    await client.patch("/v1/me", json={"district": "11680"}, headers=citizen)
    await client.post("/v1/me/devices", json={"platform": "ios", "fcm_token": TOKEN}, headers=citizen)
    without_app = bearer(await sign_in(client, "010-6666-7777"))
    await client.patch("/v1/me", json={"district": "11680"}, headers=without_app)
    operator = bearer(token_for(Role.operator))
    await client.post(
        "/v1/admin/staff",
        json={"email": "choi@gangnam.go.kr", "name": "최", "role": "social_worker", "districts": ["11680", "11650"]},
        headers=operator,
    )

    summary = (await client.get("/v1/districts/11680/summary", headers=operator)).json()
    assert (summary["citizens"], summary["citizens_with_app"], summary["social_workers"]) == (2, 1, 1)


async def test_operators_create_and_list_staff(client, token_for):
    operator = bearer(token_for(Role.operator))
    created = await client.post(
        "/v1/admin/staff",
        json={
            "email": " Jung@Seoul.go.kr ",
            "name": "정하늘",
            "role": "social_worker",
            "districts": ["11650", "11680", "11650"],
            "password": "correct horse battery",
        },
        headers=operator,
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["email"], body["districts"], body["has_password"]) == ("jung@seoul.go.kr", ["11650", "11680"], True)
    assert "password" not in body

    listed = (await client.get("/v1/admin/staff", headers=operator)).json()
    assert [s["email"] for s in listed] == ["jung@seoul.go.kr"]


async def test_operators_have_no_districts(client, token_for):
    response = await client.post(
        "/v1/admin/staff",
        json={"email": "ops@seoul.go.kr", "name": "Ops", "role": "operator", "districts": ["11110"]},
        headers=bearer(token_for(Role.operator)),
    )
    assert response.status_code == 400
    assert "whole city" in problem(response)["detail"]


async def test_social_workers_cannot_create_staff(client, token_for):
    response = await client.post(
        "/v1/admin/staff",
        json={"email": "x@seoul.go.kr", "name": "X", "role": "operator"},
        headers=bearer(token_for(Role.social_worker, districts=("11110",))),
    )
    assert response.status_code == 403


async def test_concurrent_edits_of_different_fields_both_stick(client, citizen):
    import asyncio

    await asyncio.gather(
        *(client.patch("/v1/me", json={"display_name": f"이름{i}"}, headers=citizen) for i in range(3)),
        *(client.patch("/v1/me", json={"district": "11230"}, headers=citizen) for _ in range(3)),
        client.patch("/v1/me", json={"language": "en"}, headers=citizen),
    )
    me = (await client.get("/v1/me", headers=citizen)).json()
    assert (me["district"], me["language"]) == ("11230", "en")
    assert me["display_name"].startswith("이름")
