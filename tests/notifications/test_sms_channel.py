"""TwilioSmsChannel with the real Twilio SDK against the fake Twilio server, and the fake's webhook helpers."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs

import httpx
import msgspec
import pytest
from twilio.request_validator import RequestValidator

from api.platform.settings import TwilioSettings
from fakes.twilio import FakeTwilio
from notifications.channels.base import Failure, OutboundMessage, SendResult
from notifications.channels.sms import TwilioSmsChannel

SID = "AC" + "5a" * 16
TOKEN = "test-auth-token-0123456789abcdef"
FROM = "+15005550006"
CALLBACK = "https://safecity.test/webhooks/twilio/status"
KOREAN = "[서울시] 강풍 경보가 발효되었습니다. 외출을 자제해 주십시오."
ENGLISH = "[Seoul] A strong wind warning is in effect. Please stay indoors."


def sms(to: str, body: str = ENGLISH) -> OutboundMessage:
    return OutboundMessage(channel="sms", to=to, body=body)


def number(n: int) -> str:
    return f"+8210{n:08d}"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(account_sid=SID, auth_token=TOKEN)
    with fake.serve():
        yield fake


def settings_for(fake: FakeTwilio, **changes: str) -> TwilioSettings:
    fields = {"account_sid": SID, "auth_token": TOKEN, "from_number": FROM, "api_base_url": fake.url} | changes
    return TwilioSettings(**fields)


@pytest.fixture
async def channel(fake: FakeTwilio) -> AsyncIterator[TwilioSmsChannel]:
    channel = TwilioSmsChannel(settings_for(fake), status_callback=CALLBACK)
    yield channel
    await channel.aclose()


async def test_korean_and_english_messages_arrive(channel: TwilioSmsChannel, fake: FakeTwilio) -> None:
    results = await channel.send_many([sms(number(1), KOREAN), sms(number(2), ENGLISH)])

    assert [r.ok for r in results] == [True, True]
    # Sent concurrently, so Twilio may receive them in either order; each result names its own message.
    by_to = {s["To"]: s for s in fake.sent}
    sent = [by_to[number(1)], by_to[number(2)]]
    assert [r.provider_id for r in results] == [s["sid"] for s in sent]
    assert all(s["sid"].startswith("SM") and len(s["sid"]) == 34 for s in sent)
    assert sent[0] | {"sid": None, "received_at": None} == {
        "To": number(1),
        "From": FROM,
        "MessagingServiceSid": None,
        "Body": KOREAN,
        "StatusCallback": CALLBACK,
        "sid": None,
        "received_at": None,  # when the fake had it (Unix seconds), for benchmarks
    }
    assert (sent[1]["To"], sent[1]["Body"]) == (number(2), ENGLISH)


async def test_without_status_callback_none_is_sent(fake: FakeTwilio) -> None:
    channel = TwilioSmsChannel(settings_for(fake), status_callback=None)
    try:
        [result] = await channel.send_many([sms(number(1))])
    finally:
        await channel.aclose()
    assert result.ok
    assert fake.sent[0]["StatusCallback"] is None


async def test_messaging_service_is_used_when_set(fake: FakeTwilio) -> None:
    service = "MG" + "0" * 32
    channel = TwilioSmsChannel(settings_for(fake, messaging_service_sid=service), status_callback=CALLBACK)
    try:
        [result] = await channel.send_many([sms(number(1))])
    finally:
        await channel.aclose()
    assert result.ok
    assert fake.sent[0]["MessagingServiceSid"] == service
    assert fake.sent[0]["From"] is None


@pytest.mark.parametrize(
    ("code", "failure"),
    [
        (21610, Failure.opted_out),
        (21211, Failure.bad_recipient),
        (21614, Failure.bad_recipient),
        (21612, Failure.bad_recipient),
        (21408, Failure.bad_recipient),
        (21620, Failure.rejected),  # any other 4xx: this message will never go
    ],
)
async def test_permanent_errors_by_code(
    channel: TwilioSmsChannel, fake: FakeTwilio, code: int, failure: Failure
) -> None:
    fake.fail_number(number(9), code)

    bad, good = await channel.send_many([sms(number(9)), sms(number(1))])

    assert (bad.ok, bad.failure, bad.permanent) == (False, failure, True)
    assert bad.error is not None and bad.error.startswith(f"twilio {code}: ")
    assert "Unable to create record" not in bad.error
    assert good.ok
    assert [s["To"] for s in fake.sent] == [number(1)]


@pytest.mark.parametrize(("status", "retry_after"), [(500, None), (503, 2.0), (429, 7.0)])
async def test_server_errors_and_throttling_are_transient(
    channel: TwilioSmsChannel, fake: FakeTwilio, status: int, retry_after: float | None
) -> None:
    fake.fail_next(1, status, retry_after=retry_after)

    [failed] = await channel.send_many([sms(number(1))])
    [then] = await channel.send_many([sms(number(1))])

    assert (failed.ok, failed.failure, failed.permanent) == (False, Failure.transient, False)
    assert failed.retry_after_s == retry_after
    assert failed.error is not None and failed.error.startswith(f"twilio 20{status}: ")
    assert then.ok and then.retry_after_s is None


async def test_retry_after_belongs_to_its_own_message(channel: TwilioSmsChannel, fake: FakeTwilio) -> None:
    fake.fail_next(3, 429, retry_after=5)
    results = await channel.send_many([sms(number(n)) for n in range(10)])
    throttled = [r for r in results if not r.ok]
    assert len(throttled) == 3
    assert all(r.retry_after_s == 5 for r in throttled)
    assert all(r.retry_after_s is None for r in results if r.ok)


async def test_down_makes_everything_transient_quickly(channel: TwilioSmsChannel, fake: FakeTwilio) -> None:
    fake.down()

    results = await channel.send_many([sms(number(n)) for n in range(100)])

    assert {(r.ok, r.failure) for r in results} == {(False, Failure.transient)}
    assert fake.requests == 100  # one attempt each: no retries inside the SDK
    assert fake.sent == []

    fake.down(False)
    [result] = await channel.send_many([sms(number(1))])
    assert result.ok


async def test_wrong_auth_token_keeps_messages_for_later(fake: FakeTwilio) -> None:
    channel = TwilioSmsChannel(settings_for(fake, auth_token="wrong"), status_callback=CALLBACK)
    try:
        results = await channel.send_many([sms(number(1)), sms(number(2))])
    finally:
        await channel.aclose()
    assert all(not r.ok and r.failure is Failure.transient for r in results)
    assert results[0].error is not None and results[0].error.startswith("twilio 20003: ")
    assert fake.sent == []


async def test_a_read_timeout_leaves_the_outcome_unknown(fake: FakeTwilio) -> None:
    fake.delay(1)
    channel = TwilioSmsChannel(msgspec.structs.replace(settings_for(fake), timeout_s=0.3), status_callback=CALLBACK)
    try:
        [result] = await channel.send_many([sms(number(1))])
    finally:
        await channel.aclose()
    # Without the timeout the slow answer would have come, and been a success: Twilio may well have the message.
    assert (result.ok, result.failure, result.permanent) == (False, Failure.unknown, False)
    assert result.error is not None and result.error.startswith("SocketTimeoutError: ")
    assert result.retry_after_s == pytest.approx(0.6)  # twice the timeout


async def test_connection_refused_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings = TwilioSettings(
        account_sid=SID, auth_token=TOKEN, from_number=FROM, api_base_url=f"http://127.0.0.1:{closed_port}"
    )
    channel = TwilioSmsChannel(settings, status_callback=None)
    try:
        results = await channel.send_many([sms(number(1)), sms(number(2))])
    finally:
        await channel.aclose()
    assert all(not r.ok and r.failure is Failure.transient for r in results)


async def test_many_messages_concurrently_answered_in_order(fake: FakeTwilio) -> None:
    fake.delay(0.05)
    fake.fail_number(number(7), 21610)
    channel = TwilioSmsChannel(settings_for(fake), status_callback=CALLBACK, concurrency=10)
    messages = [sms(number(n), f"메시지 {n}") for n in range(100)]
    try:
        results = await channel.send_many(messages)
    finally:
        await channel.aclose()

    assert fake.max_in_flight == 10  # concurrent, and never beyond the limit
    by_sid = {s["sid"]: s for s in fake.sent}
    assert len(results) == len(messages)
    for n, (message, result) in enumerate(zip(messages, results, strict=True)):
        if n == 7:
            assert result.failure is Failure.opted_out
            continue
        assert result.ok
        assert by_sid[result.provider_id]["To"] == message.to
        assert by_sid[result.provider_id]["Body"] == message.body


async def test_nothing_to_send(channel: TwilioSmsChannel) -> None:
    assert await channel.send_many([]) == []


def test_construction_needs_credentials_and_a_sender() -> None:
    with pytest.raises(ValueError, match="account SID"):
        TwilioSmsChannel(TwilioSettings(from_number=FROM), status_callback=None)
    with pytest.raises(ValueError, match="from number or a messaging service"):
        TwilioSmsChannel(TwilioSettings(account_sid=SID, auth_token=TOKEN), status_callback=None)
    # No event loop needed to build one: the aiohttp session comes with the first send.
    TwilioSmsChannel(TwilioSettings(account_sid=SID, auth_token=TOKEN, from_number=FROM), status_callback=None)


async def test_control_over_http(channel: TwilioSmsChannel, fake: FakeTwilio) -> None:
    async with httpx.AsyncClient(base_url=str(fake.url)) as http:
        response = await http.post("/_fake/control", json={"fail_number": {"phone": number(3), "code": 21211}})
        assert response.json() == {"ok": True}
        await http.post("/_fake/control", json={"fail_next": {"n": 1, "status": 429, "retry_after": 3}})

        results = await channel.send_many([sms(number(1)), sms(number(3)), sms(number(2))])
        sent = (await http.get("/_fake/sent")).json()
        later = (await http.get("/_fake/sent", params={"after": 1})).json()

        await http.post("/_fake/control", json={"reset": True, "down": True})
        [down] = await channel.send_many([sms(number(1))])

    assert sorted(r.failure or "ok" for r in results) == ["bad_recipient", "ok", "transient"]
    assert [s["sid"] for s in sent] == [r.provider_id for r in results if r.ok]
    assert later == sent[1:]
    assert down.failure is Failure.transient
    assert fake.sent == []


def _signed_receiver(seen: list[tuple[str, dict[str, str], bool]]) -> httpx.AsyncClient:
    """An httpx client whose transport checks each request's Twilio signature as our webhook will."""
    validator = RequestValidator(TOKEN)

    def handle(request: httpx.Request) -> httpx.Response:
        params = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        valid = validator.validate(str(request.url), params, request.headers["X-Twilio-Signature"])
        seen.append((str(request.url), params, valid))
        return httpx.Response(204 if valid else 403)

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


async def test_status_callback_is_signed(channel: TwilioSmsChannel, fake: FakeTwilio) -> None:
    [result] = await channel.send_many([sms(number(1), KOREAN)])
    assert result.provider_id is not None
    seen: list[tuple[str, dict[str, str], bool]] = []

    async with _signed_receiver(seen) as receiver:
        response = await fake.status_callback(result.provider_id, "undelivered", 30003, client=receiver)

    assert response.status_code == 204
    [(url, params, valid)] = seen
    assert valid
    assert url == CALLBACK
    assert params["MessageSid"] == params["SmsSid"] == result.provider_id
    assert params["MessageStatus"] == "undelivered"
    assert params["ErrorCode"] == "30003"
    assert (params["AccountSid"], params["To"], params["From"]) == (SID, number(1), FROM)


async def test_status_callback_needs_a_known_message(fake: FakeTwilio) -> None:
    with pytest.raises(LookupError):
        await fake.status_callback("SM" + "0" * 32, "delivered")


async def test_inbound_sms_is_signed(fake: FakeTwilio) -> None:
    seen: list[tuple[str, dict[str, str], bool]] = []
    url = "https://safecity.test/webhooks/twilio/inbound?x=1"
    async with _signed_receiver(seen) as receiver:
        response = await fake.inbound_sms(url, number(4), "괜찮아요 STOP", to=FROM, client=receiver)

    assert response.status_code == 204
    [(_, params, valid)] = seen
    assert valid
    assert (params["From"], params["To"], params["Body"]) == (number(4), FROM, "괜찮아요 STOP")
    assert params["MessageSid"].startswith("SM")
    assert params["NumSegments"] == "1"


async def test_sdk_sees_a_full_message_resource(fake: FakeTwilio) -> None:
    """The fake's 201 answer parses into a MessageInstance with Twilio's fields."""
    channel = TwilioSmsChannel(settings_for(fake), status_callback=CALLBACK)
    try:
        client = channel._twilio()
        message = await client.messages.create_async(to=number(1), from_=FROM, body=KOREAN * 3)
    finally:
        await channel.aclose()
    assert message.sid == fake.sent[0]["sid"]
    assert (message.status, message.to, message.from_, message.body) == ("queued", number(1), FROM, KOREAN * 3)
    assert message.num_segments == "2"
    assert message.date_created is not None and message.date_created.tzinfo is not None
    assert message.account_sid == SID


def test_results_are_send_results() -> None:
    assert SendResult(ok=False, failure=Failure.opted_out).permanent
