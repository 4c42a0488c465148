"""SOLAPI through the real app: a reminder out through the dispatcher and the SDK, a reply in that checks the person
in, delivery reports (known, unknown, opted out), 알림톡 falling back to SMS, an outage and recovery, bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from api.platform.auth.tokens import Principal, Role
from api.platform.jobs.runner import run_job
from api.platform.settings import Settings, SolapiSettings
from api.worker import JOBS
from care import service
from care.schemas import GuardianIn, PlanIn, RecipientCreate
from fakes.solapi import FakeSolapi
from notifications.channels import RoutedSmsChannel, build_channels
from notifications.dispatcher import Dispatcher
from notifications.service import Notifier
from notifications.solapi_routes import SECRET_HEADER
from tests.conftest import problem
from tests.notifications.conftest import NOW, deliveries

SEOUL = ZoneInfo("Asia/Seoul")
WORKER = Principal(subject="staff:1", role=Role.social_worker, districts=("11110",))
PERSON, GUARDIAN = "+821012340000", "+821098760000"
WEBHOOK_SECRET = "test-solapi-webhook-secret-0123456789"
TEMPLATE_ID = "KA01TP" + "2" * 24
PFID = "KA01PF" + "3" * 24


def kst(hhmm: str) -> datetime:
    return datetime(2026, 11, 24, int(hhmm[:2]), int(hhmm[3:]), tzinfo=SEOUL)


class Clock:
    now = kst("08:00")

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def fake_solapi() -> Iterator[FakeSolapi]:
    fake = FakeSolapi(pfid=PFID, templates={TEMPLATE_ID: "[안전서울] #{text}"}, webhook_secret=WEBHOOK_SECRET)
    with fake.serve():
        yield fake


@pytest.fixture
def settings(settings: Settings, fake_solapi: FakeSolapi) -> Settings:
    """The notifications tests' settings, with Korean numbers sent through the fake SOLAPI."""
    solapi = SolapiSettings(
        api_key=fake_solapi.api_key,
        api_secret=fake_solapi.api_secret,
        sender=fake_solapi.sender,
        base_url=fake_solapi.url,
        kakao_pfid=PFID,
        kakao_templates=f"notice.test={TEMPLATE_ID}",
        webhook_secret=WEBHOOK_SECRET,
    )
    notify = msgspec.structs.replace(settings.notify, korean_lms=True)
    return msgspec.structs.replace(settings, solapi=solapi, notify=notify)


@pytest.fixture
async def dispatcher(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[tuple[Dispatcher, Clock]]:
    channels = build_channels(settings)
    assert isinstance(channels["sms"], RoutedSmsChannel)
    clock = Clock()
    yield Dispatcher(pool, channels, settings.notify, clock=clock), clock
    for channel in channels.values():
        await channel.aclose()


async def drain(send: Dispatcher) -> None:
    while (await send.dispatch_batch("sms")).claimed:
        pass


async def enroll(pool: asyncpg.Pool) -> int:
    data = RecipientCreate(
        name="김순자",
        phone="010-1234-0000",
        district="11110",
        address="서울 종로구 세종대로 1",
        guardians=[GuardianIn(name="김민수", phone="010-9876-0000", relation="아들")],
        plan=PlanIn(times=["09:00"], window_minutes=120),
    )
    async with pool.acquire() as conn:
        return (await service.enroll(conn, data=data, principal=WORKER, now=kst("07:00"))).id


async def test_a_reminder_goes_by_solapi_and_a_korean_reply_checks_the_person_in(
    client: AsyncTestClient, pool: asyncpg.Pool, settings: Settings, dispatcher, fake_solapi: FakeSolapi, fake_twilio
) -> None:
    send, clock = dispatcher
    recipient_id = await enroll(pool)
    await run_job(pool, JOBS["care.sweep"], now=kst("09:00"), settings=settings)
    clock.now = kst("09:00")
    await drain(send)
    [reminder] = [m for m in fake_solapi.sent if m["to"] == "01012340000"]
    assert reminder["from"] == fake_solapi.sender and reminder["type"] in ("SMS", "LMS")
    assert fake_twilio.sent == []  # Korea does not go through Twilio once SOLAPI is there

    response = await fake_solapi.inbound_sms(
        "http://safecity.test/webhooks/solapi/inbound", "01012340000", "괜찮아요", client=client
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"received": 1, "unknown": 0}
    async with pool.acquire() as conn:
        handled = await conn.fetchval("SELECT handled_by FROM sms_inbound WHERE phone = $1", PERSON)
        checkins = await conn.fetch("SELECT channel, kind FROM checkins WHERE recipient_id = $1", recipient_id)
    assert handled == "care.checkin"
    assert len(checkins) == 1


async def test_a_retried_inbound_webhook_acts_once(client: AsyncTestClient, pool: asyncpg.Pool, fake_solapi) -> None:
    body = [{"data": {"messageId": "M4VSAME", "from": "01011112222", "text": "수신거부"}}]
    for _ in range(3):
        response = await client.post("/webhooks/solapi/inbound", json=body, headers={SECRET_HEADER: WEBHOOK_SECRET})
        assert response.status_code == 200
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM sms_inbound") == 1
        assert await conn.fetchval("SELECT count(*) FROM sms_opt_outs WHERE phone = '+821011112222'") == 1
    assert [r["template"] for r in await deliveries(pool)] == ["sms.opted_out"]


async def notice(pool: asyncpg.Pool, settings: Settings, phone: str, text: str = "시험") -> int:
    async with pool.acquire() as conn, conn.transaction():
        enqueued = await Notifier(settings.notify).to_phone(
            conn, phone=phone, language="ko", template="notice.test", params={"text": text}, now=NOW
        )
    return enqueued.notice_id


async def test_alimtalk_falls_back_to_sms_and_its_report_marks_it_delivered(
    client: AsyncTestClient, pool: asyncpg.Pool, settings: Settings, dispatcher, fake_solapi: FakeSolapi
) -> None:
    send, clock = dispatcher
    clock.now = NOW
    fake_solapi.no_kakao("01055556666")
    notice_id = await notice(pool, settings, "+821055556666")
    await drain(send)

    [sent] = fake_solapi.sent
    assert (sent["type"], sent["delivered_as"]) == ("ATA", "SMS")  # 알림톡 asked, SMS delivered instead
    response = await fake_solapi.report("http://safecity.test/webhooks/solapi/report", sent["messageId"], client=client)

    assert response.status_code == 200 and response.json() == {"received": 1, "unknown": 0}
    [row] = await deliveries(pool, notice_id=notice_id)
    assert (row["state"], row["provider_id"]) == ("delivered", sent["messageId"])


async def test_a_report_of_080_opt_out_fails_the_delivery_and_opts_the_number_out(
    client: AsyncTestClient, pool: asyncpg.Pool, settings: Settings, dispatcher, fake_solapi: FakeSolapi
) -> None:
    send, clock = dispatcher
    clock.now = NOW
    notice_id = await notice(pool, settings, "+821077778888")
    await drain(send)
    [sent] = fake_solapi.sent
    response = await fake_solapi.report(
        "http://safecity.test/webhooks/solapi/report", sent["messageId"], "2061", client=client
    )
    assert response.status_code == 200
    [row] = await deliveries(pool, notice_id=notice_id)
    assert row["state"] == "failed" and row["last_error"].startswith("solapi 2061: ")
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT source FROM sms_opt_outs WHERE phone = '+821077778888'") == "provider"


async def test_a_report_for_a_message_we_do_not_know_is_answered_200(client: AsyncTestClient) -> None:
    body = [{"eventDataId": "E1", "data": {"messageId": "M4VNOBODY", "statusCode": "4000", "to": "01000000000"}}]
    response = await client.post("/webhooks/solapi/report", json=body, headers={SECRET_HEADER: WEBHOOK_SECRET})
    assert response.status_code == 200
    assert response.json() == {"received": 1, "unknown": 1}


async def test_an_outage_keeps_the_messages_and_they_leave_when_solapi_returns(
    pool: asyncpg.Pool, settings: Settings, dispatcher, fake_solapi: FakeSolapi
) -> None:
    send, clock = dispatcher
    clock.now = NOW
    notices = [await notice(pool, settings, f"+8210{2000_0000 + n:08d}", f"경보 {n}") for n in range(5)]
    fake_solapi.down()

    report = await send.dispatch_batch("sms")

    assert report.outage and report.claimed == 5
    rows = await deliveries(pool)
    assert {r["state"] for r in rows} == {"pending"} and {r["attempts"] for r in rows} == {0}  # attempts given back
    assert fake_solapi.sent == []

    fake_solapi.down(False)
    await drain(send)

    rows = await deliveries(pool)
    assert [r["state"] for r in rows] == ["sent"] * 5
    expected = [f"[안전서울] 안전서울 알림 시험\n경보 {n}" for n in range(5)]
    assert sorted(s["text"] for s in fake_solapi.sent) == expected
    assert len(notices) == 5


async def test_an_opted_out_number_at_solapi_is_recorded_as_ours(
    pool: asyncpg.Pool, settings: Settings, dispatcher, fake_solapi: FakeSolapi
) -> None:
    send, clock = dispatcher
    clock.now = NOW
    fake_solapi.fail_number("01033334444", "1061")
    await notice(pool, settings, "+821033334444")
    await drain(send)
    [row] = await deliveries(pool)
    assert row["state"] == "failed"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM sms_opt_outs WHERE phone = '+821033334444'") == 1


@pytest.mark.parametrize("path", ["/webhooks/solapi/report", "/webhooks/solapi/inbound"])
@pytest.mark.parametrize(
    ("headers", "query", "status", "code"),
    [
        ({}, "", 403, "bad_secret"),
        ({SECRET_HEADER: "wrong"}, "", 403, "bad_secret"),
        ({}, "?secret=wrong", 403, "bad_secret"),
    ],
)
async def test_a_webhook_without_the_secret_is_refused(
    client: AsyncTestClient, pool: asyncpg.Pool, path: str, headers: dict[str, str], query: str, status: int, code: str
) -> None:
    body = [{"data": {"messageId": "M1", "statusCode": "4000", "from": "01011112222", "text": "수신거부"}}]
    response = await client.post(path + query, json=body, headers=headers)
    assert response.status_code == status
    assert problem(response)["code"] == code
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM sms_inbound") == 0


async def test_the_secret_may_ride_in_the_registered_url(client: AsyncTestClient) -> None:
    body = [{"data": {"messageId": "M4VNOBODY", "statusCode": "3000"}}]
    response = await client.post(f"/webhooks/solapi/report?secret={WEBHOOK_SECRET}", json=body)
    assert response.status_code == 200 and response.json() == {"received": 1, "unknown": 0}


@pytest.mark.parametrize(
    ("path", "content", "status", "code"),
    [
        ("/webhooks/solapi/report", b"not json", 400, "bad_json"),
        ("/webhooks/solapi/report", b"", 400, "bad_json"),
        ("/webhooks/solapi/report", b'[{"data": {"messageId": "M1"}}]', 422, "bad_callback"),
        ("/webhooks/solapi/report", b'[{"data": {"messageId": "M1", "statusCode": "delivered"}}]', 422, "bad_callback"),
        ("/webhooks/solapi/report", b'{"data": []}', 422, "bad_callback"),
        ("/webhooks/solapi/report", b"42", 422, "bad_callback"),
        ("/webhooks/solapi/inbound", b'[{"data": {"messageId": "M1", "from": "01011112222"}}]', 422, "bad_callback"),
        (
            "/webhooks/solapi/inbound",
            b'[{"data": {"messageId": "M1", "from": "hello", "text": "x"}}]',
            422,
            "bad_sender",
        ),
        (
            "/webhooks/solapi/inbound",
            b'[{"data": {"messageId": "", "from": "01011112222", "text": "x"}}]',
            422,
            "bad_callback",
        ),
        (
            "/webhooks/solapi/inbound",
            ('[{"data": {"messageId": "M1", "from": "01011112222", "text": "' + "가" * 2001 + '"}}]').encode(),
            422,
            "bad_callback",
        ),
    ],
)
async def test_bad_webhook_input_is_a_problem_never_a_500(
    client: AsyncTestClient, path: str, content: bytes, status: int, code: str
) -> None:
    headers = {SECRET_HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"}
    response = await client.post(path, content=content, headers=headers)
    assert response.status_code == status, response.text
    assert problem(response)["code"] == code


async def test_without_a_webhook_secret_configured_every_solapi_webhook_is_refused(
    settings: Settings, fake_solapi: FakeSolapi
) -> None:
    from api.app import create_app

    app = create_app(msgspec.structs.replace(settings, solapi=SolapiSettings()))
    async with AsyncTestClient(app=app, base_url="http://safecity.test") as bare:
        response = await bare.post("/webhooks/solapi/report", json=[], headers={SECRET_HEADER: WEBHOOK_SECRET})
    assert response.status_code == 403
    assert problem(response)["code"] == "webhooks_disabled"
