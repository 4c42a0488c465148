"""A citizen's home and watched places, through the app's API."""

from __future__ import annotations

import pytest

from tests.conftest import bearer, problem, sign_in

YANGJAE = {"label": "부모님 댁", "lat": 37.475, "lon": 127.04}


@pytest.fixture
async def citizen(client) -> dict[str, str]:
    return bearer(await sign_in(client, "010-4444-5555"))


async def test_places_are_added_listed_and_deleted(client, citizen):
    home = await client.post("/v1/me/places", json={"label": "집", "kind": "home", "dong": "11110119"}, headers=citizen)
    assert home.status_code == 201
    watched = (await client.post("/v1/me/places", json=YANGJAE, headers=citizen)).json()
    assert (watched["kind"], watched["dong"], watched["dong_name_ko"], watched["district"]) == (
        "watched",
        "11650102",
        "양재동",
        "11650",
    )
    listed = (await client.get("/v1/me/places", headers=citizen)).json()
    assert [(p["label"], p["kind"]) for p in listed] == [("집", "home"), ("부모님 댁", "watched")]
    assert listed[0]["lat"] is None and listed[0]["dong"] == "11110119"

    assert (await client.delete(f"/v1/me/places/{watched['id']}", headers=citizen)).status_code == 204
    assert [p["label"] for p in (await client.get("/v1/me/places", headers=citizen)).json()] == ["집"]
    other = bearer(await sign_in(client, "010-6666-7777"))
    assert (await client.delete(f"/v1/me/places/{home.json()['id']}", headers=other)).status_code == 404


async def test_a_new_home_replaces_the_old_one(client, citizen):
    await client.post("/v1/me/places", json={**YANGJAE, "kind": "home", "label": "옛집"}, headers=citizen)
    new_home = {"label": "집", "kind": "home", "lat": 37.5, "lon": 127.06}
    await client.post("/v1/me/places", json=new_home, headers=citizen)
    assert [p["label"] for p in (await client.get("/v1/me/places", headers=citizen)).json()] == ["집"]


async def test_a_sixth_watched_place_is_refused_with_the_limit(client, citizen):
    for n in range(5):
        created = await client.post("/v1/me/places", json={**YANGJAE, "label": f"곳 {n}"}, headers=citizen)
        assert created.status_code == 201
    sixth = await client.post("/v1/me/places", json={**YANGJAE, "label": "여섯"}, headers=citizen)
    assert sixth.status_code == 409
    body = problem(sixth)
    assert body["limit"] == 5 and "5 places" in body["detail"]
    # The home is not one of the five.
    home = await client.post("/v1/me/places", json={**YANGJAE, "label": "집", "kind": "home"}, headers=citizen)
    assert home.status_code == 201


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"label": "부산", "lat": 35.1796, "lon": 129.0756}, "not in Seoul"),
        ({"label": "가", "lat": 37.5, "lon": 127.06, "dong": "11650102"}, "one of the two"),
        ({"label": "가", "lat": 37.5}, "both lat and lon"),
        ({"label": "가", "dong": "11650999"}, "no dong 11650999"),
        ({"label": "가", "dong": "2611010"}, "^11[0-9]{6}$"),
        ({"label": "   ", "dong": "11650102"}, "label"),
        ({"label": "가", "dong": "11650102", "kind": "office"}, "allowed: home, watched"),
    ],
)
async def test_bad_places_are_refused_saying_why(client, citizen, body, says):
    response = await client.post("/v1/me/places", json=body, headers=citizen)
    assert response.status_code in (400, 422)
    assert says in problem(response)["detail"]
    assert (await client.get("/v1/me/places", headers=citizen)).json() == []
