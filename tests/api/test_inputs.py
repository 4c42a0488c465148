"""JSON the decoder cannot take is the client's error (400), and every answer carries the safe headers."""

from __future__ import annotations

import pytest

from tests.conftest import bearer, outbox_sms, problem, sign_in


@pytest.fixture
async def citizen(client) -> dict[str, str]:
    return bearer(await sign_in(client, "010-3456-7002"))


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 1000 + b"]" * 1000, "nested too deeply"),
        (b'{"phone": "010-1234-\xff\xfe"}', "not valid UTF-8"),
    ],
)
async def test_json_that_cannot_be_decoded_is_a_400_even_without_signing_in(client, body, reason):
    response = await client.post("/v1/auth/otp", content=body, headers=JSON)
    assert response.status_code == 400, response.text
    assert reason in problem(response)["detail"]
    assert await outbox_sms(client.app) == []


async def test_and_on_signed_in_routes(client, citizen):
    deep_body = b'{"display_name": ' + b'{"a": ' * 1000 + b"1" + b"}" * 1001
    deep = await client.patch("/v1/me", content=deep_body, headers={**JSON, **citizen})
    assert deep.status_code == 400
    assert "nested too deeply" in problem(deep)["detail"]
    bad = await client.patch("/v1/me", content=b'{"display_name": "\xc3"}', headers={**JSON, **citizen})
    assert bad.status_code == 400
    assert "not valid UTF-8" in problem(bad)["detail"]


async def test_signed_in_answers_are_never_stored_by_a_cache(client, citizen):
    for response in (await client.get("/v1/me", headers=citizen), await client.get("/v1/me")):  # 200 and 401
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_public_answers_are_not_sniffed_and_may_be_cached(client):
    response = await client.get("/v1/alerts")
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "cache-control" not in response.headers
    assert (await client.get("/nowhere")).headers["x-content-type-options"] == "nosniff"


async def test_hsts_only_behind_https(client):
    plain = await client.get("/console/sign-in")
    assert plain.status_code == 200
    assert "strict-transport-security" not in plain.headers
    secure = await client.get("/console/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert secure.headers["strict-transport-security"].startswith("max-age=31536000")


@pytest.mark.parametrize(
    ("path", "misspelt", "allowed"),
    [
        ("/v1/alerts?distrct=11680", "distrct", ["active", "before_id", "district", "limit"]),
        (
            "/v1/shelters/nearest?hazard=heat_wave&lat=37.5&lng=127.0",
            "lng",
            ["district", "hazard", "lat", "limit", "lon"],
        ),
        (
            "/v1/guidance?hazard=heat_wave&language=en",
            "language",
            ["district", "hazard", "lang", "lat", "limit", "lon"],
        ),
    ],
)
async def test_a_misspelt_query_parameter_is_refused_with_the_ones_the_route_takes(client, path, misspelt, allowed):
    # Ignored, the misspelt district would have answered with every warning in Seoul, and the shelters and
    # guidance would have been measured from nowhere or given in Korean.
    response = await client.get(path)
    assert response.status_code == 400, response.text
    body = problem(response)
    assert body["code"] == "query_parameter_unknown"
    assert body["allowed"] == allowed
    assert body["unknown"] == [misspelt]
    assert misspelt in body["detail"] and "district" in body["detail"]


async def test_the_query_parameters_a_route_takes_are_answered(client):
    assert (await client.get("/v1/alerts?district=11680&active=true&limit=5")).status_code == 200
    nearest = await client.get("/v1/shelters/nearest?hazard=heat_wave&lat=37.5&lon=127.0&limit=1")
    assert nearest.status_code == 200, nearest.text
    guidance = await client.get("/v1/guidance?hazard=heat_wave&lang=en")
    assert guidance.status_code == 200, guidance.text
