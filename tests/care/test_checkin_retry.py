"""An app check-in retried with the same Idempotency-Key is one check-in."""

from __future__ import annotations

import asyncpg

from api.platform.auth.tokens import Role
from tests.conftest import bearer, sign_in

PERSON = "010-2468-7777"


async def checkins(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM checkins")
    finally:
        await conn.close()


async def test_a_retried_check_in_is_recorded_once(client, token_for, database_url):
    worker = bearer(token_for(Role.social_worker, districts=("11110",)))
    person = {
        "name": "박영희",
        "phone": PERSON,
        "district": "11110",
        "address": "서울 종로구 삼일대로 1",
        "plan": {"times": ["09:00", "19:00"], "window_minutes": 120},
    }
    assert (await client.post("/v1/care/recipients", json=person, headers=worker)).status_code == 201
    headers = {**bearer(await sign_in(client, PERSON)), "Idempotency-Key": "b3f1-checkin-0900"}

    first = await client.post("/v1/care/checkins", headers=headers)
    retry = await client.post("/v1/care/checkins", headers=headers)  # the answer was lost; the app sends again

    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert retry.headers["idempotent-replayed"] == "true"
    assert await checkins(database_url) == 1
    other_key = await client.post("/v1/care/checkins", headers={**headers, "Idempotency-Key": "b3f1-checkin-1900"})
    assert other_key.status_code == 201
    assert await checkins(database_url) == 2
