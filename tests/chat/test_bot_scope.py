"""The bot's endpoints act for the person the conversation belongs to: only with a chatbot token, only for a
sender heard from within the hour, and without handing out where they live. Refusals write nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.chat.service import CONVERSATION_WINDOW
from api.platform.auth.tokens import Role, Scope
from tests.chat.conftest import PERSON, enrol, fetch, text_us
from tests.conftest import bearer, problem, sign_in

BOT = "/v1/bot/people"
SENDER = f"sms-{PERSON}"
REPORT = {"category": "sinkhole", "place": "강남역"}
# Every bot endpoint, as (method, path under the sender, body).
ENDPOINTS = [
    ("GET", "", None),
    ("GET", "/shelters?hazard=cold_wave", None),
    ("POST", "/checkins", {"body": "잘 지내요"}),
    ("POST", "/help", {"body": "도와주세요"}),
    ("POST", "/hazard-reports", REPORT),
    ("POST", "/opt-out", None),
]
WRITES = ("checkins", "cases", "sms_opt_outs", "hazard_reports", "outbox")


async def call(client, headers, method: str, path: str, body):  # type: ignore[no-untyped-def]
    return await client.request(method, f"{BOT}/{SENDER}{path}", json=body, headers=headers)


async def written(url: str) -> dict[str, int]:
    return {table: len(await fetch(url, f"SELECT 1 FROM {table}")) for table in WRITES}  # noqa: S608


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_an_open311_token_may_not_act_for_someone_in_care(
    client, worker, token_for, talking, settings, method, path, body
):
    await enrol(client, worker, home=True)
    await talking(SENDER)
    before = await written(settings.db.url)
    partner = bearer(token_for(Role.service, subject="service:open311-partner", scopes=(Scope.open311_submit,)))
    response = await call(client, partner, method, path, body)
    assert response.status_code == 403
    assert problem(response)["code"] == "scope_missing"
    assert problem(response)["scope"] == "chatbot"
    assert await written(settings.db.url) == before


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_the_chatbot_may_not_act_for_someone_who_is_not_talking_to_it(
    client, worker, service, settings, method, path, body
):
    await enrol(client, worker, home=True)
    before = await written(settings.db.url)
    response = await call(client, service, method, path, body)
    assert response.status_code == 403
    assert problem(response)["code"] == "no_conversation"
    assert "home" not in response.text and "in_care" not in response.text
    assert await written(settings.db.url) == before
    assert await fetch(settings.db.url, "SELECT 1 FROM citizens") == []  # no account made for them either


async def test_a_conversation_older_than_the_window_no_longer_counts(client, worker, service, talking, settings):
    await enrol(client, worker)
    await talking(SENDER, ago=CONVERSATION_WINDOW + timedelta(minutes=1))
    response = await call(client, service, "POST", "/checkins", {})
    assert response.status_code == 403
    assert await fetch(settings.db.url, "SELECT 1 FROM checkins") == []
    await talking(SENDER, ago=CONVERSATION_WINDOW - timedelta(minutes=5))
    assert (await call(client, service, "POST", "/checkins", {})).json() == {"in_care": True, "recorded": True}


async def test_an_unknown_citizen_not_talking_is_403_not_404_so_ids_cannot_be_probed(client, service):
    response = await client.get(f"{BOT}/citizen-999", headers=service)
    assert response.status_code == 403
    assert problem(response)["code"] == "no_conversation"


async def test_a_text_to_the_bot_opens_the_conversation(client, worker, service, settings):
    await enrol(client, worker)
    assert (await call(client, service, "GET", "", None)).status_code == 403
    assert (await text_us(client, "대피소 어디예요?")).status_code == 200  # not a keyword: it waits for the bot
    profile = await call(client, service, "GET", "", None)
    assert profile.status_code == 200, profile.text
    assert profile.json()["in_care"] is True
    checkin = await call(client, service, "POST", "/checkins", {"body": "잘 지내요"})
    assert checkin.json() == {"in_care": True, "recorded": True}


async def test_the_apps_chat_opens_the_conversation(client, service):
    token = await sign_in(client, "010-5555-0003")
    me = (await client.get("/v1/me", headers=bearer(token))).json()
    assert (await client.get(f"{BOT}/citizen-{me['id']}", headers=service)).status_code == 403
    chat = await client.post("/v1/chat", json={"message": "안녕하세요"}, headers=bearer(token))
    assert chat.status_code == 200  # the bot is down in these tests: an apology, but the person did speak
    profile = await client.get(f"{BOT}/citizen-{me['id']}", headers=service)
    assert profile.status_code == 200, profile.text
    assert profile.json()["citizen_id"] == me["id"]


async def test_the_profile_says_a_home_is_known_and_the_shelter_search_keeps_it(client, worker, service, talking, pool):
    from api.evacuation.service import load_demo

    async with pool.acquire() as conn:
        await load_demo(conn)
    await enrol(client, worker, home=True)
    await talking(SENDER)
    profile = (await call(client, service, "GET", "", None)).json()
    assert profile["has_home"] is True
    assert "home" not in profile and "phone" not in profile
    found = await call(client, service, "GET", "/shelters?hazard=cold_wave&limit=2", None)
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["hazard"] == "cold_wave" and 1 <= len(body["shelters"]) <= 2
    assert body["measured_from"] == "home" and body["distance_cap_m"] == 5000.0
    assert all(isinstance(s["walking_minutes"], int) for s in body["shelters"])
    assert "origin" not in body
    assert "37.574" not in found.text and "126.985" not in found.text  # enrol()'s home


async def test_the_shelter_search_for_someone_without_a_home_is_404_no_home(client, service, talking):
    await talking("sms-+821077778888")
    response = await client.get(f"{BOT}/sms-+821077778888/shelters", params={"hazard": "heat_wave"}, headers=service)
    assert response.status_code == 404
    assert problem(response)["code"] == "no_home"
