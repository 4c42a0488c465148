"""Sign-in code budgets: a ceiling on SMS cost, city-wide and per number prefix, that answers as if it sent."""

from __future__ import annotations

import asyncpg
import msgspec
import pytest
from structlog.testing import capture_logs

from api.platform.settings import Settings
from tests.conftest import outbox_sms

PREFIX_BUDGET = 30
GLOBAL_BUDGET = 5


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    marker = request.node.get_closest_marker("budget")
    limits = marker.kwargs if marker else {}
    return msgspec.structs.replace(settings, auth=msgspec.structs.replace(settings.auth, **limits))


def numbers(count: int, block: str = "2345") -> list[str]:
    return [f"+8210{block}{n:04d}" for n in range(count)]


async def sms_recipients(client) -> list[str]:  # type: ignore[no-untyped-def]
    return [row["recipient"] for row in await outbox_sms(client.app)]


async def alerts(settings: Settings) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(settings.db.url)
    try:
        return await conn.fetch("SELECT budget, prefix, refused FROM signin_budget_alerts ORDER BY budget, prefix")
    finally:
        await conn.close()


async def add_citizen(settings: Settings, phone: str) -> None:
    conn = await asyncpg.connect(settings.db.url)
    try:
        await conn.execute("INSERT INTO citizens (phone, language) VALUES ($1, 'ko')", phone)
    finally:
        await conn.close()


@pytest.mark.budget(otp_prefix_per_hour=PREFIX_BUDGET)
async def test_a_flood_in_one_prefix_is_answered_alike_but_only_the_budget_is_sent(client, settings):
    asked = numbers(41)
    with capture_logs() as logs:
        answers = [await client.post("/v1/auth/otp", json={"phone": phone}) for phone in asked]

    assert {r.status_code for r in answers} == {202}
    # Nothing in the answer tells a sent code from a withheld one.
    assert len({r.content for r in answers}) == 1
    assert await sms_recipients(client) == asked[:PREFIX_BUDGET]
    assert [tuple(a) for a in await alerts(settings)] == [("prefix", "+82102345", 41 - PREFIX_BUDGET)]
    warned = [e for e in logs if e["log_level"] == "warning" and e.get("budget") == "prefix"]
    assert len(warned) == 1

    # Another block is untouched.
    assert (await client.post("/v1/auth/otp", json={"phone": "+821098760001"})).status_code == 202
    assert (await sms_recipients(client))[-1] == "+821098760001"


@pytest.mark.budget(otp_prefix_per_hour=PREFIX_BUDGET)
async def test_a_citizen_still_gets_a_code_while_their_prefix_is_over_budget(client, settings):
    citizen = "+821023459999"
    await add_citizen(settings, citizen)
    for phone in numbers(PREFIX_BUDGET + 1):
        await client.post("/v1/auth/otp", json={"phone": phone})
    assert len(await sms_recipients(client)) == PREFIX_BUDGET

    assert (await client.post("/v1/auth/otp", json={"phone": citizen})).status_code == 202
    assert (await sms_recipients(client))[-1] == citizen


@pytest.mark.budget(otp_global_per_hour=GLOBAL_BUDGET)
async def test_the_city_wide_budget_caps_every_prefix_and_alerts_once(client, settings):
    asked = [f"+8210{block}0001" for block in range(2000, 2000 + GLOBAL_BUDGET + 3)]
    for phone in asked:
        assert (await client.post("/v1/auth/otp", json={"phone": phone})).status_code == 202
    assert await sms_recipients(client) == asked[:GLOBAL_BUDGET]
    assert [tuple(a) for a in await alerts(settings)] == [("global", "", 3)]
