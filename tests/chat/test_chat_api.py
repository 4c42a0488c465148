"""POST /v1/chat: what reaches Rasa, bad input, and Rasa down or slow (an apology, never a 500)."""

from __future__ import annotations

import time

import pytest

from fakes.rasa import FakeRasa
from tests.conftest import bearer, problem, sign_in

APOLOGY_KO = "죄송합니다. 지금은 챗봇이 답할 수 없습니다"
APOLOGY_EN = "Sorry, the chatbot cannot answer right now"


async def citizen(client, phone: str = "010-5555-1000", language: str = "ko"):  # type: ignore[no-untyped-def]
    headers = bearer(await sign_in(client, phone))
    if language != "ko":
        assert (await client.patch("/v1/me", json={"language": language}, headers=headers)).status_code == 200
    me = (await client.get("/v1/me", headers=headers)).json()
    return headers, me["id"]


@pytest.mark.rasa("fake")
@pytest.mark.parametrize("message", ["안녕하세요", "🙂🙂🙂", "강남역 near 싱크홀 there is a hole ✋", "x" * 5000])
async def test_a_message_goes_to_rasa_as_the_citizen_and_the_replies_come_back(client, fake_rasa: FakeRasa, message):
    headers, citizen_id = await citizen(client)
    response = await client.post("/v1/chat", json={"message": message}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"replies": [{"text": f"bot: {message}"}], "bot_available": True}
    [sent] = fake_rasa.received
    assert sent["sender"] == f"citizen-{citizen_id}"
    assert sent["message"] == message
    assert sent["metadata"]["channel"] == "app"
    assert sent["metadata"]["language"] in ("ko", "en")


@pytest.mark.rasa("fake")
async def test_the_language_is_the_citizens_unless_the_text_is_plainly_the_other(client, fake_rasa: FakeRasa):
    headers, _ = await citizen(client, language="en")
    for message in ("🙂", "where is the nearest shelter?", "대피소 어디예요?"):
        await client.post("/v1/chat", json={"message": message}, headers=headers)
    assert [m["metadata"]["language"] for m in fake_rasa.received] == ["en", "en", "ko"]


@pytest.mark.rasa("fake")
@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"message": ""}, "empty_message"),
        ({"message": " \n\t "}, "empty_message"),
        ({"message": "x" * 5001}, "message_too_long"),
    ],
)
async def test_empty_or_overlong_messages_are_a_400_that_says_so(client, fake_rasa: FakeRasa, body, code):
    headers, _ = await citizen(client)
    response = await client.post("/v1/chat", json=body, headers=headers)
    assert response.status_code == 400
    assert problem(response)["code"] == code
    assert fake_rasa.received == []


async def test_malformed_bodies_and_no_token_are_refused(client):
    headers, _ = await citizen(client)
    assert (await client.post("/v1/chat", json={"message": "hi", "extra": 1}, headers=headers)).status_code == 400
    assert (await client.post("/v1/chat", json={"text": "hi"}, headers=headers)).status_code == 400
    assert (await client.post("/v1/chat", json={"message": 5}, headers=headers)).status_code == 400
    assert (await client.post("/v1/chat", json={"message": "hi"})).status_code == 401


@pytest.mark.parametrize(("language", "apology"), [("ko", APOLOGY_KO), ("en", APOLOGY_EN)])
async def test_rasa_down_gets_an_apology_in_the_persons_language(client, language, apology):
    headers, _ = await citizen(client, language=language)
    response = await client.post("/v1/chat", json={"message": "🙂"}, headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["bot_available"] is False
    [reply] = body["replies"]
    assert reply["text"].startswith(apology)
    assert "119" in reply["text"]


@pytest.mark.rasa("slow")
async def test_rasa_slow_past_the_timeout_gets_an_apology(client, slow_rasa: FakeRasa):
    headers, _ = await citizen(client)
    started = time.monotonic()
    response = await client.post("/v1/chat", json={"message": "대피소 어디예요?"}, headers=headers)
    assert time.monotonic() - started < 2.5  # the timeout is 1 s; the fake would take 3
    assert response.status_code == 200
    assert response.json()["bot_available"] is False
    assert response.json()["replies"][0]["text"].startswith(APOLOGY_KO)
    assert len(slow_rasa.received) == 1


async def test_the_chatbot_switched_off_answers_with_the_apology_at_once(client, app):
    from api.chat.rasa import RasaClient
    from api.platform.settings import RasaSettings

    headers, _ = await citizen(client, language="en")
    app.state.rasa = RasaClient(RasaSettings(enabled="false"))
    response = await client.post("/v1/chat", json={"message": "hello there"}, headers=headers)
    assert response.json()["replies"][0]["text"].startswith(APOLOGY_EN)
