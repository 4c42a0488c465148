"""A sensor's sign of life counts only when it is recent: a misdated one is refused, saying the allowed range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from api.platform.auth.tokens import Role, Scope
from tests.conftest import bearer, problem


@pytest.fixture
async def person(client, token_for) -> int:  # type: ignore[no-untyped-def]
    worker = bearer(token_for(Role.social_worker, districts=("11110",)))
    body = {
        "name": "박영희",
        "phone": "010-2468-8888",
        "district": "11110",
        "address": "서울 종로구 삼일대로 1",
        "plan": {"times": ["09:00", "19:00"], "window_minutes": 120},
    }
    response = await client.post("/v1/care/recipients", json=body, headers=worker)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def signals(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM checkins WHERE kind = 'signal'")
    finally:
        await conn.close()


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


@pytest.mark.parametrize(
    "at",
    [0, "1970-01-01T00:00:00Z", ago(days=2), ago(hours=-1)],
    ids=["unix-zero", "1970", "two-days-ago", "an-hour-ahead"],
)
async def test_a_signal_outside_the_last_day_is_refused_and_not_kept(client, token_for, database_url, person, at):
    sensors = bearer(token_for(Role.service, subject="service:sensors", scopes=(Scope.sensors_write,)))
    signal = {"recipient_id": person, "device_id": "motion-kitchen", "kind": "motion", "at": at}
    response = await client.post("/v1/care/signals", json=signal, headers=sensors)
    body = problem(response)
    assert response.status_code == 422
    assert (body["code"], body["field"]) == ("signal_time_out_of_range", "at")
    assert "the last 24 hours, or up to 5 minutes ahead" in body["detail"]
    assert datetime.fromisoformat(body["earliest"]) < datetime.fromisoformat(body["latest"])
    assert await signals(database_url) == 0


async def test_a_recent_signal_counts_and_a_clock_slightly_ahead_is_taken_as_now(client, token_for, person):
    sensors = bearer(token_for(Role.service, subject="service:sensors", scopes=(Scope.sensors_write,)))
    for at in (ago(hours=3), ago(minutes=-2)):
        signal = {"recipient_id": person, "device_id": "door-front", "kind": "door", "at": at}
        response = await client.post("/v1/care/signals", json=signal, headers=sensors)
        assert response.status_code == 201, response.text
        assert datetime.fromisoformat(response.json()["at"]) <= datetime.now(UTC)


async def test_a_time_without_its_offset_is_refused(client, token_for, person):
    sensors = bearer(token_for(Role.service, subject="service:sensors", scopes=(Scope.sensors_write,)))
    signal = {"recipient_id": person, "device_id": "door-front", "kind": "door", "at": "2026-01-01T09:00:00"}
    response = await client.post("/v1/care/signals", json=signal, headers=sensors)
    assert response.status_code == 400
    assert "timezone" in problem(response)["detail"]
