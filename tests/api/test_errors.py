"""Every kind of bad input gets a 4xx problem+json saying what is wrong, never a 500."""

from __future__ import annotations

import pytest

from api.platform.auth.tokens import Role
from tests.conftest import bearer, problem, sign_in


@pytest.fixture
async def citizen(client) -> dict[str, str]:
    return bearer(await sign_in(client, "010-3456-7890"))


async def test_malformed_json(client):
    response = await client.post(
        "/v1/auth/otp", content=b'{"phone": "010-1234', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "JSON" in problem(response)["detail"] or "truncated" in problem(response)["detail"]


async def test_a_body_that_is_not_an_object(client):
    response = await client.post("/v1/auth/otp", json=["010-1234-5678"])
    assert response.status_code == 400
    assert "Expected `object`" in problem(response)["detail"]


async def test_unknown_fields_are_refused_not_ignored(client):
    response = await client.post("/v1/auth/otp", json={"phone": "010-1234-5678", "phon": "typo"})
    assert response.status_code == 400
    assert "unknown field `phon`" in problem(response)["detail"]


async def test_a_missing_field(client):
    response = await client.post("/v1/auth/token", json={"phone": "010-1234-5678"})
    assert response.status_code == 400
    assert "missing required field `code`" in problem(response)["detail"]


async def test_a_wrong_type(client):
    response = await client.post("/v1/auth/otp", json={"phone": 1012345678})
    body = problem(response)
    assert response.status_code == 400
    assert body["errors"][0]["field"] == "phone"
    assert "Expected `str`, got `int`" in body["detail"]


async def test_a_value_out_of_range(client, citizen):
    response = await client.patch("/v1/me", json={"display_name": "x" * 101}, headers=citizen)
    assert response.status_code == 400
    assert "length <= 100" in problem(response)["detail"]


async def test_a_value_not_in_the_allowed_set(client):
    response = await client.post("/v1/auth/otp", json={"phone": "010-1234-5678", "language": "fr"})
    assert response.status_code == 400
    assert "Invalid enum value 'fr'" in problem(response)["detail"]


async def test_an_unknown_district(client, citizen):
    response = await client.patch("/v1/me", json={"district": "11999"}, headers=citizen)
    assert response.status_code == 400
    assert "not one of Seoul's 25 district codes" in problem(response)["detail"]


async def test_a_malformed_code(client):
    response = await client.post("/v1/auth/token", json={"phone": "010-1234-5678", "code": "12ab56"})
    assert response.status_code == 400
    assert "matching regex" in problem(response)["detail"]


async def test_a_path_parameter_of_the_wrong_type(client, citizen):
    response = await client.delete("/v1/me/devices/abc", headers=citizen)
    assert response.status_code in (400, 404)
    problem(response)


async def test_an_id_beyond_any_stored_one(client, citizen):
    response = await client.delete(f"/v1/me/devices/{2**64}", headers=citizen)
    assert response.status_code == 400
    problem(response)


async def test_text_postgres_cannot_store(client, citizen):
    response = await client.patch("/v1/me", json={"display_name": "a\u0000b"}, headers=citizen)
    assert response.status_code == 400
    assert problem(response)["code"] == "invalid_value"


async def test_a_missing_body(client):
    response = await client.post("/v1/auth/otp", content=b"", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert problem(response)["detail"] == "A JSON body is required."


async def test_an_unknown_address(client):
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    problem(response)


async def test_a_method_the_address_does_not_take(client):
    response = await client.put("/v1/auth/otp", json={})
    assert response.status_code == 405
    problem(response)


async def test_a_missing_resource_says_which(client, citizen):
    response = await client.delete("/v1/me/devices/424242", headers=citizen)
    assert response.status_code == 404
    assert "424242" in problem(response)["detail"]


async def test_a_conflict_says_why(client, token_for):
    operator = bearer(token_for(Role.operator))
    staff = {"email": "kim@seoul.go.kr", "name": "김민지", "role": "social_worker", "districts": ["11680"]}
    assert (await client.post("/v1/admin/staff", json=staff, headers=operator)).status_code == 201
    again = await client.post("/v1/admin/staff", json={**staff, "email": "KIM@seoul.go.kr"}, headers=operator)
    assert again.status_code == 409
    assert "kim@seoul.go.kr" in problem(again)["detail"]


async def test_cross_field_rules_are_explained(client, token_for):
    operator = bearer(token_for(Role.operator))
    response = await client.post(
        "/v1/admin/staff", json={"email": "a@b.kr", "name": "A", "role": "social_worker"}, headers=operator
    )
    assert response.status_code == 400
    assert "at least one district" in problem(response)["detail"]


async def test_an_unexpected_failure_is_a_500_problem_that_leaks_nothing(settings):
    from litestar import get
    from litestar.testing import AsyncTestClient

    from api.app import create_app
    from api.platform.auth.guards import PUBLIC

    @get("/v1/boom", opt=PUBLIC)
    async def boom() -> str:
        raise RuntimeError("secret internals")

    app = create_app(settings)
    app.register(boom)
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/v1/boom")
    body = problem(response)
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert body["request_id"] == response.headers["x-request-id"]


async def test_a_query_value_outside_its_set_lists_the_allowed_values(client):
    response = await client.get("/v1/shelters/nearest", params={"lat": 37.5665, "lon": 126.978, "hazard": "quake"})
    assert response.status_code == 400
    body = problem(response)
    [error] = body["errors"]
    assert error["field"] == "hazard" and "earthquake" in error["allowed"]
    assert "allowed: " in body["detail"]
