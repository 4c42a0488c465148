"""Whole KakaoTalk conversations through the fake Open Builder, the real API server, the real Rasa and our actions.

Rasa and the action server are the session's (tests/chat/conftest.py, as `safecity run` starts them); each test serves
its own API on the port the actions call, and talks as a Kakao user of its own, linked by the SMS code.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgspec
import pytest

from api.app import create_app
from api.platform.settings import KakaoSettings, RasaSettings, Settings
from fakes.kakao import FakeKakao, texts_of
from fakes.server import BackgroundServer
from tests.chat.conftest import PERSON, Chatbot, enrol

SECRET = "test-kakao-skill-secret-0123456789"


@pytest.fixture
def fake_kakao() -> Iterator[FakeKakao]:
    fake = FakeKakao(secret=SECRET)
    with fake.serve():
        yield fake


@pytest.fixture
def settings(settings: Settings, chatbot_servers: Chatbot) -> Settings:
    # Time for Rasa's first answers on a busy machine: they come by the callback when past the skill's budget.
    rasa = RasaSettings(url=chatbot_servers.rasa_url, enabled="true", timeout_s=60.0)
    kakao = KakaoSettings(skill_secret=SECRET, callback_hosts="http://127.0.0.1")
    return msgspec.structs.replace(settings, rasa=rasa, kakao=kakao)


@pytest.fixture
async def live(settings: Settings, chatbot_servers: Chatbot) -> AsyncIterator[httpx.AsyncClient]:
    with BackgroundServer(create_app(settings), port=chatbot_servers.api_port, lifespan="on") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            yield http


class Talk:
    """One Kakao user talking to the skill; each turn's texts and quick replies, by the response or the callback."""

    def __init__(self, live: httpx.AsyncClient, fake: FakeKakao) -> None:
        self.live, self.fake = live, fake
        self.user = f"u{uuid.uuid4().hex}"
        self.quick: list[str] = []

    async def say(self, text: str) -> str:
        answer = await self.fake.say(self.live, text, user=self.user, callback=True)
        assert answer.status == 200, answer.body
        body: Any = answer.body
        if body.get("useCallback"):  # the bot took longer than the budget: its answer comes by the callback
            body = await self.fake.callback(answer.callback_token, timeout_s=90)  # type: ignore[arg-type]
        self.quick = [q["label"] for q in body["template"].get("quickReplies") or []]
        return "\n".join(texts_of(body))


async def linked(live: httpx.AsyncClient, fake: FakeKakao, pool) -> Talk:  # type: ignore[no-untyped-def]
    talk = Talk(live, fake)
    assert "인증번호" in await talk.say("010-2468-1357")
    async with pool.acquire() as conn:
        body = await conn.fetchval(
            "SELECT body FROM outbox WHERE recipient = $1 AND template = 'kakao.link_code' ORDER BY id DESC LIMIT 1",
            PERSON,
        )
    code = re.search(r"(?<!\d)\d{6}(?!\d)", body).group(0)  # type: ignore[union-attr]
    assert "연결되었습니다" in await talk.say(code)
    return talk


async def checkins(pool) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        return [tuple(r) for r in await conn.fetch("SELECT channel, kind FROM checkins ORDER BY id")]


async def test_a_check_in_in_kakaotalk_through_the_bot_and_by_its_words(live, client, worker, fake_kakao, pool):
    await enrol(client, worker)
    talk = await linked(live, fake_kakao, pool)
    assert "서울 안전 도우미" in await talk.say("안녕하세요")
    assert talk.quick == ["괜찮아요", "도와주세요"]
    assert "안부 확인되었습니다" in await talk.say("잘 지내요 걱정 마세요")  # the bot's check_in, by its action
    assert "안부 확인되었습니다" in await talk.say("괜찮아요")  # the keyword, as a text's: the bot is not asked
    assert await checkins(pool) == [
        ("kakao", "message"),
        ("kakao", "message"),
        ("kakao", "checkin"),
        ("kakao", "checkin"),
    ]


async def test_help_in_kakaotalk_asked_about_by_the_bot_then_opened(live, client, worker, fake_kakao, pool):
    await enrol(client, worker)
    talk = await linked(live, fake_kakao, pool)
    # The classifier is unsure of this one (an ache, then "but I'm fine"): the cues make help plausible, so it asks.
    assert "도움이 필요하세요? 네 / 아니요" in await talk.say("다리가 아파서 못 나가요 근데 괜찮아요")
    assert talk.quick == ["네", "아니요"]
    assert "사회복지사에게 바로 알렸습니다" in await talk.say("네")  # the bot's question answered, not a check-in
    async with pool.acquire() as conn:
        cases = [tuple(r) for r in await conn.fetch("SELECT reason, priority FROM cases")]
    assert cases == [("help_request", "urgent")]
    assert ("kakao", "help") in await checkins(pool)
    assert ("kakao", "checkin") not in await checkins(pool)
    assert "이미 담당 사회복지사에게 알려져 있어요" in await talk.say("도와주세요")


async def test_no_to_the_bots_question_is_a_check_in_and_opens_nothing(live, client, worker, fake_kakao, pool):
    await enrol(client, worker)
    talk = await linked(live, fake_kakao, pool)
    assert "도움이 필요하세요?" in await talk.say("다리가 아파서 못 나가요 근데 괜찮아요")
    assert "알겠습니다" in await talk.say("괜찮아요")
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM cases") == 0
    assert ("kakao", "checkin") in await checkins(pool)
