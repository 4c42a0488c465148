"""The KakaoTalk skill through the real app, called by the fake Open Builder: linking by an SMS code (sent through
the dispatcher and the real SOLAPI SDK to the fake SOLAPI) or by the app's code, check-ins and calls for help, the bot's
answers in the skill format, retries acting once, a slow bot answered by the callback, and bad input."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
import pytest

from api.platform.settings import KakaoSettings, RasaSettings, Settings, SolapiSettings
from fakes.kakao import FakeKakao
from fakes.rasa import FakeRasa
from fakes.server import BackgroundServer
from fakes.solapi import FakeSolapi
from notifications.channels import build_channels
from notifications.dispatcher import Dispatcher
from notifications.service import Notifier
from tests.care.flood_helpers import add_household, warn
from tests.chat.conftest import PERSON, enrol
from tests.conftest import bearer, problem, sign_in

SECRET = "test-kakao-skill-secret-0123456789"
HEADER = "X-Test-Skill-Secret"
USER = "a1b2c3d4e5f6"
PERSON_LOCAL = "010-2468-1357"  # PERSON as people type it


@pytest.fixture
def fake_kakao() -> Iterator[FakeKakao]:
    fake = FakeKakao(secret=SECRET, header=HEADER)
    with fake.serve():
        yield fake


@pytest.fixture
def fake_solapi() -> Iterator[FakeSolapi]:
    fake = FakeSolapi()
    with fake.serve():
        yield fake


@pytest.fixture
def sluggish_rasa() -> Iterator[FakeRasa]:
    """A Rasa slower than the skill's budget (0.3 s with it) and quicker than Rasa's timeout: the callback's case."""
    fake = FakeRasa(delay_s=1.0)
    with BackgroundServer(fake) as server:
        fake.url = server.url
        yield fake


@pytest.fixture
def settings(settings: Settings, rasa_url: str, fake_solapi: FakeSolapi, request: pytest.FixtureRequest) -> Settings:
    solapi = SolapiSettings(
        api_key=fake_solapi.api_key,
        api_secret=fake_solapi.api_secret,
        sender=fake_solapi.sender,
        base_url=fake_solapi.url,
    )
    # The budget is past for certain with the sluggish Rasa (its answers take at least 1 s), and else as long as
    # Kakao allows, so a busy machine never turns a quick answer into a late one.
    marker = request.node.get_closest_marker("rasa")
    budget = 0.3 if marker and marker.args[0] == "sluggish" else 4.9
    kakao = KakaoSettings(
        skill_secret=SECRET, skill_secret_header=HEADER, reply_budget_s=budget, callback_hosts="http://127.0.0.1"
    )
    rasa = RasaSettings(url=rasa_url, enabled="true", timeout_s=5.0)
    notify = msgspec.structs.replace(settings.notify, korean_lms=True)
    return msgspec.structs.replace(settings, solapi=solapi, kakao=kakao, rasa=rasa, notify=notify)


@pytest.fixture
async def dispatcher(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[Dispatcher]:
    channels = build_channels(settings)
    yield Dispatcher(pool, channels, settings.notify)
    for channel in channels.values():
        await channel.aclose()


async def rows(pool: asyncpg.Pool, query: str, *args: object) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        return [dict(r) for r in await conn.fetch(query, *args)]


async def sms_code(dispatcher: Dispatcher, fake_solapi: FakeSolapi, phone: str) -> str:
    """Send what the outbox holds, and read the code from the SMS the fake SOLAPI took for ``phone`` (01…)."""
    while (await dispatcher.dispatch_batch("sms")).claimed:
        pass
    [text] = [m["text"] for m in fake_solapi.sent if m["to"] == phone]
    return re.search(r"\b(\d{6})\b", text).group(1)  # type: ignore[union-attr]


async def link_by_sms(client, fake_kakao, dispatcher, fake_solapi, *, user: str = USER) -> None:  # type: ignore[no-untyped-def]
    sent = await fake_kakao.say(client, PERSON_LOCAL, user=user)
    assert "인증번호" in sent.texts[0]
    code = await sms_code(dispatcher, fake_solapi, "01024681357")
    linked = await fake_kakao.say(client, code, user=user)
    assert "연결되었습니다" in linked.texts[0], linked.body


async def test_an_unlinked_user_is_told_how_to_link_in_korean_then_english(client, fake_kakao, pool) -> None:
    answer = await fake_kakao.say(client, "안녕하세요", user=USER)
    assert answer.status == 200
    [text] = answer.texts
    assert text.index("전화번호를 연결") < text.index("link your phone number")
    assert await rows(pool, "SELECT handled_by, state FROM kakao_messages") == [
        {"handled_by": "link.how", "state": "answered"}
    ]


async def test_linking_by_an_sms_code_then_a_check_in_and_a_call_for_help(
    client, worker, fake_kakao, dispatcher, fake_solapi, pool
) -> None:
    recipient = await enrol(client, worker)
    await link_by_sms(client, fake_kakao, dispatcher, fake_solapi)
    assert await rows(pool, "SELECT user_key, phone, via FROM kakao_links") == [
        {"user_key": USER, "phone": PERSON, "via": "sms"}
    ]
    # What was kept of the linking: never the code, the phone only masked.
    kept = [r["utterance"] for r in await rows(pool, "SELECT utterance FROM kakao_messages ORDER BY id")]
    assert kept[1] == "******" and "2468" not in kept[0]

    fine = await fake_kakao.say(client, "괜찮아요", user=USER)
    assert fine.texts == ["안부 확인되었습니다. 오늘도 건강하세요!"]
    assert fine.quick_replies == ["괜찮아요", "도와주세요"]
    help_ = await fake_kakao.say(client, "도와주세요", user=USER)
    assert "보호자와 담당 사회복지사에게" in help_.texts[0]

    checkins = await rows(
        pool, "SELECT channel, kind, body FROM checkins WHERE recipient_id = $1 ORDER BY id", recipient["id"]
    )
    assert checkins == [
        {"channel": "kakao", "kind": "checkin", "body": "괜찮아요"},
        {"channel": "kakao", "kind": "help", "body": "도와주세요"},
    ]
    cases = await rows(pool, "SELECT priority FROM cases WHERE recipient_id = $1", recipient["id"])
    assert len(cases) == 1 and cases[0]["priority"] == "urgent"


async def test_a_wrong_code_links_nobody_and_five_lock_the_user_out_for_an_hour(
    client, worker, fake_kakao, dispatcher, fake_solapi, pool
) -> None:
    await enrol(client, worker)
    await fake_kakao.say(client, PERSON_LOCAL, user=USER)
    code = await sms_code(dispatcher, fake_solapi, "01024681357")
    for i in range(1, 6):
        answer = await fake_kakao.say(client, f"{(int(code) + i) % 10**6:06d}", user=USER)
        assert "맞지 않거나" in answer.texts[0]
    locked = await fake_kakao.say(client, code, user=USER)
    assert "잘못된 인증번호가 너무 많습니다" in locked.texts[0]
    assert await rows(pool, "SELECT * FROM kakao_links") == []


async def test_a_number_nobody_has_gets_the_same_answer_and_no_sms(
    client, fake_kakao, dispatcher, fake_solapi, pool
) -> None:
    answer = await fake_kakao.say(client, "010-9999-8888", user=USER)
    assert "인증번호" in answer.texts[0]
    while (await dispatcher.dispatch_batch("sms")).claimed:
        pass
    assert fake_solapi.sent == []


async def test_linking_by_the_apps_code(client, fake_kakao, pool) -> None:
    token = await sign_in(client, "010-5555-1234")
    response = await client.post("/v1/me/kakao/link-code", headers=bearer(token))
    assert response.status_code == 201, response.text
    code = response.json()["code"]
    assert re.fullmatch(r"\d{8}", code)
    linked = await fake_kakao.say(client, code, user=USER)
    assert "연결되었습니다" in linked.texts[0]
    again = await fake_kakao.say(client, code, user="another-user")  # a code works once
    assert "맞지 않거나" in again.texts[0]
    assert [r["via"] for r in await rows(pool, "SELECT via FROM kakao_links")] == ["app"]
    response = await client.delete("/v1/me/kakao", headers=bearer(token))
    assert response.status_code == 204
    assert await rows(pool, "SELECT * FROM kakao_links") == []


@pytest.mark.rasa("fake")
async def test_other_messages_go_to_the_bot_as_a_kakao_sender(
    client, worker, fake_kakao, dispatcher, fake_solapi, fake_rasa: FakeRasa, pool
) -> None:
    recipient = await enrol(client, worker)
    await link_by_sms(client, fake_kakao, dispatcher, fake_solapi)
    answer = await fake_kakao.say(client, "가까운 대피소 알려줘", user=USER)
    assert answer.texts == ["bot: 가까운 대피소 알려줘"]
    assert answer.quick_replies == ["괜찮아요", "도와주세요"]
    [sent] = fake_rasa.received
    assert sent["sender"] == f"kakao-{USER}" and sent["metadata"] == {"language": "ko", "channel": "kakao"}
    # Still a sign of life, as a text would be; and the bot's endpoints may act for them now.
    assert await rows(pool, "SELECT kind FROM checkins WHERE recipient_id = $1", recipient["id"]) == [
        {"kind": "message"}
    ]
    assert await rows(pool, "SELECT sender FROM chat_conversations") == [{"sender": f"kakao-{USER}"}]
    [row] = await rows(pool, "SELECT state, delivery FROM kakao_messages WHERE handled_by = 'chat'")
    assert row == {"state": "answered", "delivery": "response"}


@pytest.mark.rasa("fake")
async def test_the_bots_yes_or_no_question_gets_yes_and_no_to_tap_and_its_yes_is_not_a_check_in(
    client, worker, fake_kakao, dispatcher, fake_solapi, fake_rasa: FakeRasa, pool
) -> None:
    recipient = await enrol(client, worker)
    await link_by_sms(client, fake_kakao, dispatcher, fake_solapi)
    fake_rasa.reply = lambda m: (
        ["도움이 필요하세요? 네 / 아니요"] if m["message"] != "네" else ["담당자에게 알렸습니다."]
    )
    asked = await fake_kakao.say(client, "넘어졌어요", user=USER)
    assert asked.quick_replies == ["네", "아니요"]
    yes = await fake_kakao.say(client, "네", user=USER)
    assert yes.texts == ["담당자에게 알렸습니다."]
    assert [m["message"] for m in fake_rasa.received] == ["넘어졌어요", "네"]
    kinds = await rows(pool, "SELECT kind FROM checkins WHERE recipient_id = $1 ORDER BY id", recipient["id"])
    assert kinds == [{"kind": "message"}, {"kind": "message"}]


async def test_a_retried_request_acts_once_and_gets_the_same_answer(
    client, worker, fake_kakao, dispatcher, fake_solapi, pool
) -> None:
    recipient = await enrol(client, worker)
    await link_by_sms(client, fake_kakao, dispatcher, fake_solapi)
    first = await fake_kakao.say(client, "도와주세요", user=USER, callback=True)
    again = await fake_kakao.resend(client, first)
    retyped = await fake_kakao.say(client, "도와주세요", user=USER)  # the same words within seconds, no callback
    assert again.body == first.body == retyped.body
    assert (
        len(await rows(pool, "SELECT id FROM checkins WHERE recipient_id = $1 AND kind = 'help'", recipient["id"])) == 1
    )
    notes = await rows(pool, "SELECT body FROM case_notes")
    assert not any("다시 도움 요청" in n["body"] for n in notes)


@pytest.mark.rasa("sluggish")
async def test_a_bot_slower_than_kakao_waits_answers_by_the_callback(
    client, worker, fake_kakao, dispatcher, fake_solapi, pool
) -> None:
    await enrol(client, worker)
    await link_by_sms(client, fake_kakao, dispatcher, fake_solapi)
    answer = await fake_kakao.say(client, "오늘 날씨 어때", user=USER, callback=True)
    assert answer.body == {
        "version": "2.0",
        "useCallback": True,
        "data": {"text": "답을 준비하고 있어요. 잠시만 기다려 주세요."},
    }
    later = await fake_kakao.callback(answer.callback_token)  # type: ignore[arg-type]
    assert later["template"]["outputs"] == [{"simpleText": {"text": "bot: 오늘 날씨 어때"}}]
    await until(
        lambda: rows(pool, "SELECT delivery FROM kakao_messages WHERE handled_by = 'chat' AND delivery IS NOT NULL")
    )
    assert await rows(pool, "SELECT delivery FROM kakao_messages WHERE handled_by = 'chat'") == [
        {"delivery": "callback"}
    ]


@pytest.mark.rasa("sluggish")
async def test_without_a_callback_a_slow_bot_gets_a_holding_reply_and_the_retry_its_answer(
    client, worker, fake_kakao, dispatcher, fake_solapi, pool
) -> None:
    await enrol(client, worker)
    await link_by_sms(client, fake_kakao, dispatcher, fake_solapi)
    first = await fake_kakao.say(client, "오늘 날씨 어때", user=USER)
    assert "답이 늦어지고" in first.texts[0]
    await until(lambda: rows(pool, "SELECT id FROM kakao_messages WHERE handled_by = 'chat' AND state = 'answered'"))
    again = await fake_kakao.resend(client, first)
    assert again.texts == ["bot: 오늘 날씨 어때"]


@pytest.mark.rasa("sluggish")
async def test_a_callback_endpoint_that_fails_is_recorded_never_a_500(
    client, worker, fake_kakao, dispatcher, fake_solapi, pool
) -> None:
    await enrol(client, worker)
    await link_by_sms(client, fake_kakao, dispatcher, fake_solapi)
    fake_kakao.fail_callbacks(500)
    answer = await fake_kakao.say(client, "오늘 날씨 어때", user=USER, callback=True)
    assert answer.status == 200 and answer.body["useCallback"] is True
    await until(lambda: rows(pool, "SELECT 1 FROM kakao_messages WHERE delivery = 'callback_failed'"))
    assert fake_kakao.refused == [(answer.callback_token, 500)]


async def test_rasa_down_a_linked_user_gets_an_apology_in_the_skill_format(
    client, worker, fake_kakao, dispatcher, fake_solapi
) -> None:
    await enrol(client, worker)
    await link_by_sms(client, fake_kakao, dispatcher, fake_solapi)
    answer = await fake_kakao.say(client, "대피소 어디예요", user=USER)
    assert "죄송합니다" in answer.texts[0] and "119" in answer.texts[0]


async def test_a_callback_url_outside_the_allowed_hosts_is_never_called(
    client, worker, fake_kakao, settings, pool
) -> None:
    payload, _ = fake_kakao.payload("안녕", user=USER)
    payload["userRequest"]["callbackUrl"] = "http://10.0.0.1/internal"
    raw = msgspec.json.encode(payload)
    answer = await fake_kakao.say(client, "", user=USER, raw=raw)
    assert answer.status == 200 and "전화번호를 연결" in answer.texts[0]
    assert await rows(pool, "SELECT callback_url FROM kakao_messages") == [{"callback_url": None}]


@pytest.mark.parametrize(
    ("secret", "status", "code"), [("", 401, "secret_missing"), ("not-the-secret", 403, "bad_secret")]
)
async def test_a_caller_without_the_secret_is_refused_and_nothing_is_kept(
    client, fake_kakao, pool, secret: str, status: int, code: str
) -> None:
    answer = await fake_kakao.say(client, "괜찮아요", user=USER, secret=secret)
    assert answer.status == status
    assert answer.body["code"] == code
    assert await rows(pool, "SELECT * FROM kakao_messages") == []


async def test_the_skill_is_refused_until_its_secret_is_set(app, client, fake_kakao, pool) -> None:
    app.state.settings = msgspec.structs.replace(app.state.settings, kakao=KakaoSettings())
    answer = await fake_kakao.say(client, "괜찮아요", user=USER)
    assert (answer.status, answer.body["code"]) == (403, "webhooks_disabled")


async def test_bad_input_is_a_clear_error_or_reply(client, fake_kakao, pool) -> None:
    not_json = await client.post("/webhooks/kakao/skill", content=b"{nope", headers={HEADER: SECRET})
    assert (not_json.status_code, problem(not_json)["code"]) == (400, "bad_json")

    payload, _ = fake_kakao.payload("안녕", user=USER)
    unknown = await fake_kakao.say(client, "", user=USER, raw=msgspec.json.encode({**payload, "version": "1.0"}))
    assert (unknown.status, unknown.body["code"], unknown.body["allowed"]) == (422, "unknown_version", ["2.0"])

    del payload["userRequest"]["utterance"]
    missing = await fake_kakao.say(client, "", user=USER, raw=msgspec.json.encode(payload))
    assert (missing.status, missing.body["code"]) == (422, "bad_skill_request")
    assert "utterance" in missing.body["detail"]

    bad_user = await fake_kakao.say(client, "안녕", user="no spaces allowed")
    assert (bad_user.status, bad_user.body["code"]) == (422, "bad_skill_request")

    too_long = await fake_kakao.say(client, "가" * 1001, user=USER)
    assert too_long.status == 200
    assert "1,001자" in too_long.texts[0] and "1,000 characters" in too_long.texts[0]
    empty = await fake_kakao.say(client, "   ", user=USER)
    assert "비어 있어요" in empty.texts[0]
    assert await rows(pool, "SELECT * FROM kakao_messages") == []


async def until(condition, timeout_s: float = 10.0):  # type: ignore[no-untyped-def]
    """Wait for the skill's work after its answer (the callback's post, the bot's late answer kept)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not (result := await condition()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)
    return result


async def test_a_flood_partner_answers_in_kakaotalk_as_by_sms(
    client, worker, fake_kakao, dispatcher, fake_solapi, pool, settings
) -> None:
    """A 동행파트너 linked in KakaoTalk who says "도착했어요" there is recorded as arrived, by kakao, and told so; the
    message is not a check-in, and a message that is no flood answer goes on as before."""
    recipient = await enrol(client, worker)  # the partner is a neighbour in care, and linked
    await link_by_sms(client, fake_kakao, dispatcher, fake_solapi)
    household = await add_household(pool, partners=(PERSON_LOCAL,), name="박영자")
    ingested = await warn(pool, Notifier(settings.notify), at=datetime.now(UTC).replace(microsecond=0))
    assert ingested.flood_checks == 1

    arrived = await fake_kakao.say(client, "도착했어요", user=USER)

    assert arrived.texts == [f"'도착'(으)로 기록했습니다 (박영자님 댁, 가구번호 {household}). 고맙습니다."]
    asked = await rows(pool, "SELECT phone, answer, answered_via FROM flood_partner_asks")
    assert asked == [{"phone": PERSON, "answer": "arrived", "answered_via": "kakao"}]
    assert await rows(pool, "SELECT kind FROM checkins WHERE recipient_id = $1", recipient["id"]) == []
    fine = await fake_kakao.say(client, "괜찮아요", user=USER)
    assert fine.texts == ["안부 확인되었습니다. 오늘도 건강하세요!"]
