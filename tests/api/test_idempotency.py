"""A retried POST with the same Idempotency-Key returns the first response and creates nothing new."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from api.platform.auth.tokens import Role
from tests.conftest import bearer, problem

STAFF = {"email": "park@seoul.go.kr", "name": "박서연", "role": "social_worker", "districts": ["11110"]}


@pytest.fixture
def operator(token_for) -> dict[str, str]:
    return bearer(token_for(Role.operator, subject="cli:one"))


async def staff_count(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM staff")
    finally:
        await conn.close()


async def test_a_retry_replays_the_first_response_and_creates_nothing(client, operator, database_url):
    headers = {**operator, "Idempotency-Key": "6f1c2a4e-create-park"}
    first = await client.post("/v1/admin/staff", json=STAFF, headers=headers)
    retry = await client.post("/v1/admin/staff", json=STAFF, headers=headers)

    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert retry.headers["content-type"] == first.headers["content-type"]
    assert await staff_count(database_url) == 1


async def test_without_a_key_a_retry_is_a_new_request(client, operator):
    assert (await client.post("/v1/admin/staff", json=STAFF, headers=operator)).status_code == 201
    assert (await client.post("/v1/admin/staff", json=STAFF, headers=operator)).status_code == 409


async def test_the_same_key_with_another_body_is_refused(client, operator, database_url):
    headers = {**operator, "Idempotency-Key": "key-1"}
    assert (await client.post("/v1/admin/staff", json=STAFF, headers=headers)).status_code == 201
    other = await client.post("/v1/admin/staff", json={**STAFF, "email": "lee@seoul.go.kr"}, headers=headers)

    assert other.status_code == 422
    assert problem(other)["code"] == "idempotency_key_reused"
    assert await staff_count(database_url) == 1


async def test_keys_belong_to_their_caller(client, token_for, database_url):
    key = {"Idempotency-Key": "shared-key"}
    one = bearer(token_for(Role.operator, subject="cli:one"))
    two = bearer(token_for(Role.operator, subject="cli:two"))
    assert (await client.post("/v1/admin/staff", json=STAFF, headers={**one, **key})).status_code == 201
    second = {**STAFF, "email": "lee@seoul.go.kr"}
    assert (await client.post("/v1/admin/staff", json=second, headers={**two, **key})).status_code == 201
    assert await staff_count(database_url) == 2


async def test_concurrent_retries_create_one(client, operator, database_url):
    headers = {**operator, "Idempotency-Key": "burst"}
    responses = await asyncio.gather(*(client.post("/v1/admin/staff", json=STAFF, headers=headers) for _ in range(5)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert await staff_count(database_url) == 1


async def test_a_failed_request_is_not_stored_so_a_corrected_retry_can_succeed(client, operator, database_url):
    headers = {**operator, "Idempotency-Key": "fix-and-retry"}
    conflict_first = await client.post("/v1/admin/staff", json=STAFF, headers=operator)
    assert conflict_first.status_code == 201

    failed = await client.post("/v1/admin/staff", json=STAFF, headers=headers)
    assert failed.status_code == 409
    assert "idempotent-replayed" not in failed.headers

    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == 0
        await conn.execute("DELETE FROM staff")
    finally:
        await conn.close()
    assert (await client.post("/v1/admin/staff", json=STAFF, headers=headers)).status_code == 201


async def test_a_citizen_device_registration_replays(client, database_url):
    from tests.conftest import sign_in

    headers = {**bearer(await sign_in(client, "010-5555-1234")), "Idempotency-Key": "device-1"}
    device = {"platform": "android", "fcm_token": "fcm-token-" + "a" * 40}
    first = await client.post("/v1/me/devices", json=device, headers=headers)
    retry = await client.post("/v1/me/devices", json=device, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json()


async def test_callers_the_route_refuses_are_refused_before_anything_is_stored(client, token_for, database_url):
    key = {"Idempotency-Key": "k"}
    assert (await client.post("/v1/admin/staff", json=STAFF, headers=key)).status_code == 401
    social_worker = bearer(token_for(Role.social_worker, districts=("11110",)))
    assert (await client.post("/v1/admin/staff", json=STAFF, headers={**social_worker, **key})).status_code == 403
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == 0
    finally:
        await conn.close()


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "키"], ids=["empty", "long", "space", "hangul"])
async def test_a_malformed_key_is_refused(client, operator, key):
    response = await client.post(
        "/v1/admin/staff", json=STAFF, headers=[*operator.items(), ("Idempotency-Key", key.encode())]
    )
    assert response.status_code == 400
    assert problem(response)["code"] == "invalid_idempotency_key"
