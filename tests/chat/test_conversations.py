"""Whole conversations with the real Rasa server and our action server, through POST /v1/chat and Twilio SMS.

A session starts Rasa (bot/.venv, the model `make -s bot-model` trains) and the action server exactly as
`safecity run` does (api/cli/chatbot.py), on free ports, with the tracker store on the test PostgreSQL.
Each test serves its own API on the port the action server calls. Skipped without bot/.venv; failing in CI.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest

from api.app import create_app
from api.platform.settings import RasaSettings, Settings
from fakes.server import BackgroundServer
from tests.chat.conftest import Chatbot, enrol, signed
from tests.conftest import bearer, sign_in

_sids = itertools.count(1)
_citizen_ids = itertools.count(1)


@pytest.fixture
def settings(settings: Settings, chatbot_servers: Chatbot) -> Settings:
    """The chat tests' settings, with the real Rasa and time for its first answers."""
    rasa = RasaSettings(url=chatbot_servers.rasa_url, enabled="true", timeout_s=20.0)
    return msgspec.structs.replace(settings, rasa=rasa)


@pytest.fixture
async def live(settings: Settings, chatbot_servers: Chatbot, pool) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """The API on the port the action server calls, and a client of it."""
    async with pool.acquire() as conn:
        # Sender ids are citizen ids; each test's fresh database would reuse the last test's conversation.
        start = 1_000_000 * next(_citizen_ids) + int(time.time()) % 1000 * 1000
        await conn.execute(f"ALTER TABLE citizens ALTER COLUMN id RESTART WITH {start}")
    with BackgroundServer(create_app(settings), port=chatbot_servers.api_port, lifespan="on") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            yield http


async def say(live: httpx.AsyncClient, headers: dict[str, str], text: str) -> str:
    response = await live.post("/v1/chat", json={"message": text}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["bot_available"], body
    return "\n".join(r["text"] for r in body["replies"])


async def text(live: httpx.AsyncClient, pool, phone: str, body: str) -> str:  # type: ignore[no-untyped-def]
    """Send an SMS to the webhook; the bot's answer, once it is in the outbox."""
    sid = f"SM{next(_sids):032x}"
    params = {"MessageSid": sid, "From": phone, "To": "+15005550006", "Body": body}
    response = await live.post("/webhooks/twilio/sms", data=params, headers=signed("/webhooks/twilio/sms", params))
    assert response.status_code == 200
    deadline = time.monotonic() + 30
    async with pool.acquire() as conn:
        while time.monotonic() < deadline:
            rows = await conn.fetch(
                "SELECT o.template, o.body FROM outbox o JOIN notices n ON n.id = o.notice_id "
                "WHERE n.dedupe_key = $1 ORDER BY o.id",
                f"chat-reply:{sid}",
            )
            if rows:
                assert rows[0]["template"] == "chat.reply", rows[0]["body"]
                return "\n".join(r["body"] for r in rows)
            await asyncio.sleep(0.1)
    raise AssertionError(f"no answer to {body!r}")


async def in_care_citizen(client, worker, *, phone: str, language: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    await enrol(client, worker, phone=phone, language=language, home=True)
    headers = bearer(await sign_in(client, phone))
    if language == "en":
        await client.patch("/v1/me", json={"language": "en"}, headers=headers)
    return headers


async def test_check_in_in_korean_in_the_app(live, client, worker, pool):
    headers = await in_care_citizen(client, worker, phone="+821024681357", language="ko")
    reply = await say(live, headers, "잘 지내요 걱정 마세요")
    assert "안부 확인되었습니다" in reply
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT channel, kind FROM checkins")
    assert [tuple(r) for r in rows] == [("chat", "checkin")]


async def test_check_in_in_english_by_sms(live, client, worker, pool):
    await enrol(client, worker, phone="+821024681358", language="en")
    reply = await text(live, pool, "+821024681358", "doing well, thanks for checking")
    assert "your check-in is recorded" in reply
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT channel, kind FROM checkins ORDER BY id")
    assert [tuple(r) for r in rows] == [("sms", "message"), ("chat", "checkin")]


async def test_a_hazard_report_with_slot_filling_in_korean_by_sms(live, pool):
    phone = "+821033334444"
    assert "어떤 위험" in await text(live, pool, phone, "위험한 곳 신고하려고요")
    assert "어디인가요" in await text(live, pool, phone, "싱크홀")
    assert "찾지 못했어요" in await text(live, pool, phone, "해운대 해수욕장")
    assert "강남역 근처 싱크홀(으)로 신고할까요? 네 / 아니요" in await text(live, pool, phone, "강남역")
    filed = await text(live, pool, phone, "네")
    assert "신고가 접수되었습니다" in filed
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT category, address, source FROM hazard_reports")
    assert tuple(row) == ("sinkhole", "강남역", "chat")


async def test_a_hazard_report_with_slot_filling_in_english_in_the_app(live, client, pool):
    headers = bearer(await sign_in(client, "010-5555-2000"))
    await client.patch("/v1/me", json={"language": "en"}, headers=headers)
    assert "What would you like to report" in await say(live, headers, "I want to report a hazard")
    assert "Where is it" in await say(live, headers, "there's a fallen tree blocking the sidewalk")
    summary = await say(live, headers, "Hongik University station")
    assert "Shall I report a fallen tree near Hongik University Station? yes / no" in summary
    filed = await say(live, headers, "yes")
    assert "Your report is filed" in filed
    assert "Hongik University Station" in filed
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT category, address FROM hazard_reports")
    assert tuple(row) == ("fallen_tree", "홍대입구역")


async def test_shelter_questions_in_both_languages(live, client, pool):
    from api.evacuation.service import load_demo

    async with pool.acquire() as conn:
        await load_demo(conn)
    headers = bearer(await sign_in(client, "010-5555-3000"))
    assert "종로구청에서 가까운 대피소" in await say(live, headers, "종로구청 근처 무더위쉼터")
    # The demo set's earthquake sites are all more than 5 km from 강남역: said so, and the nearest still named.
    far = await say(live, headers, "지진 나면 강남역 근처 대피소 어디예요?")
    assert "근처에 알맞은 대피소가 없습니다" in far and "가장 가까운 곳" in far
    assert "Nearest shelter to Gangnam Station" in await text(
        live, pool, "+821055553001", "where is the nearest heat wave shelter near Gangnam station"
    )


async def test_help_opens_an_urgent_case_in_korean_by_sms_and_english_in_the_app(live, client, worker, pool):
    await enrol(client, worker, phone="+821024681359", language="ko")
    assert "사회복지사에게 바로 알렸습니다" in await text(live, pool, "+821024681359", "누가 좀 와 주세요")
    headers = await in_care_citizen(client, worker, phone="+821024681360", language="en")
    assert "I have told your social worker" in await say(live, headers, "I fell and can't get up")
    async with pool.acquire() as conn:
        cases = await conn.fetch("SELECT reason, priority FROM cases")
    assert [tuple(r) for r in cases] == [("help_request", "urgent")] * 2


async def reports(pool) -> list[tuple]:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        return [tuple(r) for r in await conn.fetch("SELECT category, address FROM hazard_reports ORDER BY id")]


async def test_a_question_in_the_middle_of_a_report_files_nothing_and_the_report_resumes_on_a_yes(live, client, pool):
    """The issue's false report: a gas smell, then a question about a shelter near 종로구청, filed nothing."""
    headers = bearer(await sign_in(client, "010-5555-4000"))
    assert "어디인가요" in await say(live, headers, "가스냄새가나요")
    answer = await say(live, headers, "종로구청 근처 대피소")
    assert "대피소" in answer and "하시던 신고를 계속할까요? 네 / 아니요" in answer
    assert "어디인가요" not in answer  # the form's question is not tacked onto the answer
    assert await reports(pool) == []
    assert "어디인가요" in await say(live, headers, "네")  # resumed: the kind is kept, the place asked
    assert "종로구청 근처 가스 냄새(으)로 신고할까요?" in await say(live, headers, "종로구청")
    assert "신고가 접수되었습니다" in await say(live, headers, "네")
    assert await reports(pool) == [("gas_smell", "종로구청")]


async def test_gibberish_at_the_summary_files_nothing_and_asks_again_and_a_yes_then_files(live, client, pool):
    """The classifier can read gibberish as affirm; a report goes to the city only on a recognisable yes."""
    headers = bearer(await sign_in(client, "010-5555-4010"))
    assert "어디인가요" in await say(live, headers, "도로에 싱크홀이 생겼어요")
    assert "강남역 근처 싱크홀(으)로 신고할까요?" in await say(live, headers, "강남역")
    again = await say(live, headers, "블라블라")
    assert "강남역 근처 싱크홀(으)로 신고할까요?" in again and "접수" not in again
    assert await reports(pool) == []
    assert "신고가 접수되었습니다" in await say(live, headers, "넵")
    assert await reports(pool) == [("sinkhole", "강남역")]
    english = bearer(await sign_in(client, "010-5555-4011"))
    await client.patch("/v1/me", json={"language": "en"}, headers=english)
    assert "Where is it" in await say(live, english, "there's a fallen tree blocking the sidewalk")
    summary = "Shall I report a fallen tree near Hongik University Station?"
    assert summary in await say(live, english, "Hongik University station")
    again = await say(live, english, "asdf")
    assert summary in again and "filed" not in again
    assert len(await reports(pool)) == 1
    assert "Your report is filed" in await say(live, english, "yes")
    assert await reports(pool) == [("sinkhole", "강남역"), ("fallen_tree", "홍대입구역")]


async def test_cancel_words_and_a_no_to_the_summary_end_the_report_with_nothing_filed(live, client, pool):
    headers = bearer(await sign_in(client, "010-5555-4001"))
    assert "어디인가요" in await say(live, headers, "도로에 싱크홀이 생겼어요")
    assert "신고를 취소했어요" in await say(live, headers, "취소")
    assert "어디인가요" in await say(live, headers, "가로등이 고장 났어요")
    assert "신고할까요" in await say(live, headers, "강남역")
    assert "신고를 취소했어요" in await say(live, headers, "아니요")
    assert await reports(pool) == []


async def test_a_greeting_and_thanks_in_the_middle_of_a_report_are_answered_and_the_form_asks_on(live, client, pool):
    headers = bearer(await sign_in(client, "010-5555-4005"))
    assert "어디인가요" in await say(live, headers, "도로에 싱크홀이 생겼어요")
    greeted = await say(live, headers, "안녕하세요")
    assert "안녕하세요, 서울 안전 도우미입니다" in greeted and "어디인가요" in greeted  # not taken as the place
    thanked = await say(live, headers, "고마워요")
    assert "천만에요" in thanked and "어디인가요" in thanked
    assert "강남역 근처 싱크홀(으)로 신고할까요?" in await say(live, headers, "강남역")
    assert "신고가 접수되었습니다" in await say(live, headers, "네")
    assert await reports(pool) == [("sinkhole", "강남역")]


async def test_a_goodbye_in_the_middle_of_a_report_files_nothing_and_says_so_in_english(live, client, pool):
    headers = bearer(await sign_in(client, "010-5555-4006"))
    await client.patch("/v1/me", json={"language": "en"}, headers=headers)
    assert "What would you like to report" in await say(live, headers, "I want to report a hazard")
    off_topic = await say(live, headers, "tell me a joke")
    assert "Sorry, I can't help with that" in off_topic and "What would you like to report" in off_topic
    assert "Where is it" in await say(live, headers, "there's a fallen tree blocking the sidewalk")
    left = await say(live, headers, "bye")
    assert "nothing was filed" in left and "Goodbye" in left
    assert await reports(pool) == []


async def test_free_text_is_not_a_place_and_a_second_miss_offers_to_cancel_in_english(live, client, pool):
    headers = bearer(await sign_in(client, "010-5555-4002"))
    await client.patch("/v1/me", json={"language": "en"}, headers=headers)
    assert "Where is it" in await say(live, headers, "there is a big pothole on my road")
    assert "I couldn't find" in await say(live, headers, "I smell gas in my building")
    assert "say 'cancel' to drop the report" in await say(live, headers, "the corner by the bakery")
    assert "nothing was filed" in await say(live, headers, "never mind")
    assert await reports(pool) == []


async def test_distress_in_the_middle_of_a_report_is_asked_about_and_opens_help_unless_they_say_no(
    live, client, worker, pool
):
    headers = await in_care_citizen(client, worker, phone="+821024681361", language="ko")
    assert "어디인가요" in await say(live, headers, "길에 싱크홀이 있어요")
    # The classifier is unsure of these (a fall, an ache): the cues make help plausible, so the bot asks.
    assert "Do you need help? yes / no" in await say(live, headers, "I fell in the bathroom")
    assert "I have told your social worker" in await say(live, headers, "please hurry")
    assert await reports(pool) == []
    assert "도움이 필요하세요? 네 / 아니요" in await say(live, headers, "다리가 아파서 못 나가요 근데 괜찮아요")
    assert "알겠습니다" in await say(live, headers, "괜찮아요")
    async with pool.acquire() as conn:
        cases = await conn.fetch("SELECT reason, priority FROM cases")
    assert [tuple(r) for r in cases] == [("help_request", "urgent")]


@pytest.mark.parametrize(
    "cry", ["사람살려", "할머니가 의식이 없어요", "my chest hurts really bad", "I fell in the bathroom"]
)
async def test_a_cry_for_help_from_someone_not_in_care_gets_119_at_once(live, client, cry):
    headers = bearer(await sign_in(client, "010-5555-4003"))
    assert "119" in await say(live, headers, cry)


async def test_a_goodbye_from_someone_in_care_is_a_check_in_recorded_for_the_social_worker(live, client, worker, pool):
    headers = await in_care_citizen(client, worker, phone="+821024681362", language="ko")
    assert "안부 확인되었습니다" in await say(live, headers, "잘있어요")
    assert "안부 확인되었습니다" in await say(live, headers, "밥묵었다 잘있다")
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT channel, kind, body FROM checkins ORDER BY id")
    assert [tuple(r) for r in rows] == [("chat", "checkin", "잘있어요"), ("chat", "checkin", "밥묵었다 잘있다")]


async def test_the_reply_follows_the_language_of_each_message(live, client):
    headers = bearer(await sign_in(client, "010-5555-4004"))
    assert "안녕하세요" in await say(live, headers, "안녕하세요")
    assert "What would you like to report" in await say(live, headers, "I want to report a hazard")
    assert "어떤 위험을 신고하시나요" in await say(live, headers, "신고할게요")
    assert "신고를 취소했어요" in await say(live, headers, "취소할게요")
    assert "You're welcome" in await say(live, headers, "thanks a lot")
