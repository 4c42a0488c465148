"""Which failures leave a send's outcome unknown, and the Twilio lookup that settles one: real sockets and fakes.

A connect timeout or a refused connection sent nothing; a read timeout or a connection dropped after the request
went out may have left the message with the provider.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import httpx
import msgspec
import pytest
from firebase_admin import exceptions

from api.platform.settings import FcmSettings, TwilioSettings
from fakes.twilio import FakeTwilio
from notifications.channels.base import Failure, OutboundMessage, Reconcile
from notifications.channels.fcm import FcmChannel
from notifications.channels.fcm import outcome_unknown as fcm_outcome_unknown
from notifications.channels.sms import TwilioSmsChannel
from notifications.channels.sms import outcome_unknown as sms_outcome_unknown

SID = "AC" + "7b" * 16
TOKEN = "test-auth-token-unknown-outcomes"
FROM = "+15005550006"
SERVICE = "MG" + "3" * 32
TO = "+821055550001"


def sms(body: str = "[안전서울] 인증번호 123456", to: str = TO, since: datetime | None = None, **kw) -> OutboundMessage:  # type: ignore[no-untyped-def]
    reconcile = Reconcile(since=since, **kw) if since else None
    return OutboundMessage(channel="sms", to=to, body=body, reconcile=reconcile)


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(account_sid=SID, auth_token=TOKEN)
    with fake.serve():
        yield fake


def twilio_at(url: str, **changes: object) -> TwilioSettings:
    base = TwilioSettings(account_sid=SID, auth_token=TOKEN, from_number=FROM, api_base_url=url, timeout_s=0.3)
    return msgspec.structs.replace(base, **changes)


@pytest.fixture
async def channel(fake: FakeTwilio) -> AsyncIterator[TwilioSmsChannel]:
    channel = TwilioSmsChannel(twilio_at(fake.url), status_callback=None)
    yield channel
    await channel.aclose()


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose listen queue is full: connecting to it hangs, as to a host that drops packets."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    fillers = []
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(server.getsockname())
        fillers.append(filler)
    yield server.getsockname()[1]
    for s in [*fillers, server]:
        s.close()


@pytest.fixture
async def dropping_server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server that reads each request whole, then closes the connection without answering."""
    received: list[bytes] = []

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
        )
        received.append(head + await reader.readexactly(length))
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", received


# -- Twilio: what is unknown, what is a clean failure ---------------------------------------------------------------


async def test_a_connect_timeout_is_a_clean_transient_failure(full_backlog: int) -> None:
    channel = TwilioSmsChannel(twilio_at(f"http://127.0.0.1:{full_backlog}"), status_callback=None)
    try:
        [result] = await channel.send_many([sms()])
    finally:
        await channel.aclose()
    assert result.failure is Failure.transient
    assert result.error is not None and result.error.startswith("ConnectionTimeoutError")


async def test_a_connection_dropped_after_the_request_is_an_unknown_outcome(
    dropping_server: tuple[str, list[bytes]],
) -> None:
    url, received = dropping_server
    channel = TwilioSmsChannel(twilio_at(url), status_callback=None)
    try:
        [result] = await channel.send_many([sms()])
    finally:
        await channel.aclose()
    assert len(received) == 1 and b"POST /2010-04-01/Accounts/" in received[0]  # it went out whole
    assert (result.failure, result.retry_after_s) == (Failure.unknown, pytest.approx(0.6))


@pytest.mark.parametrize(
    ("exc", "unknown"),
    [
        (aiohttp.SocketTimeoutError("Timeout on reading data from socket"), True),
        (TimeoutError(), True),  # aiohttp's total timeout, which only a started request reaches
        (aiohttp.ServerDisconnectedError(), True),
        (aiohttp.ClientPayloadError("truncated"), True),
        (aiohttp.ConnectionTimeoutError("Connection timeout to host"), False),
        (ValueError("not JSON"), False),
    ],
)
def test_which_twilio_errors_leave_the_outcome_unknown(exc: BaseException, unknown: bool) -> None:
    assert sms_outcome_unknown(exc) is unknown


# -- FCM: the same line, through the SDK's wrapped httpx errors ------------------------------------------------------


async def test_fcm_through_a_dropped_connection_is_unknown_and_a_refused_one_is_not(
    dropping_server: tuple[str, list[bytes]],
) -> None:
    url, received = dropping_server
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{sock.getsockname()[1]}"
        results = []
        for endpoint in (url, refused):
            channel = FcmChannel(FcmSettings(endpoint=endpoint, project_id="safecity-test", timeout_s=0.3))
            try:
                results += await channel.send_many(
                    [OutboundMessage(channel="push", to="district-11110", body="x", topic=True)]
                )
            finally:
                await channel.aclose()
    assert [r.failure for r in results] == [Failure.unknown, Failure.transient]
    assert len(received) == 1


@pytest.mark.parametrize(
    ("cause", "unknown"),
    [
        (httpx.ReadTimeout("slow"), True),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), True),
        (httpx.ReadError("reset"), True),
        (httpx.ConnectTimeout("slow to connect"), False),
        (httpx.ConnectError("refused"), False),
        (httpx.PoolTimeout("no free connection"), False),
        (httpx.WriteTimeout("not all written"), False),
    ],
)
def test_which_fcm_errors_leave_the_outcome_unknown(cause: Exception, unknown: bool) -> None:
    assert fcm_outcome_unknown(exceptions.UnknownError("wrapped", cause=cause)) is unknown


# -- Twilio: looking a message up before sending it again --------------------------------------------------------------


async def test_a_message_twilio_has_is_found_and_not_sent_again(channel: TwilioSmsChannel, fake: FakeTwilio) -> None:
    before = datetime.now(UTC)
    [first] = await channel.send_many([sms()])

    [again] = await channel.send_many([sms(since=before)])

    assert (again.ok, again.reconciled, again.provider_id) == (True, True, first.provider_id)
    assert (fake.requests, len(fake.sent), fake.lookups) == (1, 1, 1)


async def test_a_message_twilio_does_not_have_is_sent(channel: TwilioSmsChannel, fake: FakeTwilio) -> None:
    await channel.send_many([sms("[안전서울] 다른 문자"), sms(to="+821055550002")])  # other texts, other numbers

    [result] = await channel.send_many([sms(since=datetime.now(UTC))])

    assert (result.ok, result.reconciled) == (True, False)
    assert [m["Body"] for m in fake.sent].count(sms().body) == 2  # the other number's, and this one


async def test_the_lookup_passes_over_other_deliveries_and_older_messages(
    channel: TwilioSmsChannel, fake: FakeTwilio
) -> None:
    # Two reminders may say the same thing: one already recorded for another delivery is not this one's.
    [other] = await channel.send_many([sms()])
    [result] = await channel.send_many(
        [sms(since=datetime.now(UTC) - timedelta(minutes=1), skip_ids=frozenset({other.provider_id}))]
    )
    assert (result.ok, result.reconciled) == (True, False)
    # And a message sent long before the first attempt is not its answer either.
    await channel.send_many([sms("[안전서울] 오래된 문자")])
    [later] = await channel.send_many([sms("[안전서울] 오래된 문자", since=datetime.now(UTC) + timedelta(hours=1))])
    assert (later.ok, later.reconciled) == (True, False)
    assert len(fake.sent) == 4


async def test_two_lost_answers_in_one_batch_do_not_claim_the_same_message(
    channel: TwilioSmsChannel, fake: FakeTwilio
) -> None:
    before = datetime.now(UTC)
    [accepted] = await channel.send_many([sms()])
    results = await channel.send_many([sms(since=before), sms(since=before)])
    assert sorted(r.reconciled for r in results) == [False, True]
    assert {r.provider_id for r in results if r.reconciled} == {accepted.provider_id}


async def test_the_lookup_reads_every_page(channel: TwilioSmsChannel, fake: FakeTwilio) -> None:
    before = datetime.now(UTC)
    [first] = await channel.send_many([sms("[안전서울] 첫 문자")])
    await channel.send_many([sms(f"[안전서울] 문자 {n}") for n in range(60)])  # newer, so the first is on page 2

    [found] = await channel.send_many([sms("[안전서울] 첫 문자", since=before)])

    assert (found.reconciled, found.provider_id) == (True, first.provider_id)
    assert fake.lookups == 2


async def test_with_a_messaging_service_the_lookup_matches_the_service(fake: FakeTwilio) -> None:
    channel = TwilioSmsChannel(
        twilio_at(fake.url, from_number=None, messaging_service_sid=SERVICE), status_callback=None
    )
    try:
        before = datetime.now(UTC)
        [first] = await channel.send_many([sms()])
        [again] = await channel.send_many([sms(since=before)])
    finally:
        await channel.aclose()
    assert (again.reconciled, again.provider_id) == (True, first.provider_id)


async def test_when_twilio_cannot_be_asked_nothing_is_sent(channel: TwilioSmsChannel, fake: FakeTwilio) -> None:
    fake.down()
    [result] = await channel.send_many([sms(since=datetime.now(UTC))])
    assert result.failure is Failure.transient
    assert result.error is not None and result.error.startswith("could not look the earlier attempt up at Twilio")
    assert (fake.requests, fake.lookups) == (0, 1)


async def test_the_fake_lists_messages_as_twilio_does(channel: TwilioSmsChannel, fake: FakeTwilio) -> None:
    await channel.send_many([sms(f"[안전서울] {n}") for n in range(3)] + [sms(to="+821055550009")])
    path = f"/2010-04-01/Accounts/{SID}/Messages.json"
    async with httpx.AsyncClient(base_url=fake.url, auth=(SID, TOKEN)) as http:
        today = datetime.now(UTC).date().isoformat()
        page = (await http.get(path, params={"To": TO, "From": FROM, "DateSent>": today, "PageSize": 2})).json()
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        none = (await http.get(path, params={"To": TO, "DateSent>": tomorrow})).json()
        refused = await http.get(path, params={"DateSent>": "yesterday"})
    assert set(page) == {
        "end", "first_page_uri", "messages", "next_page_uri", "page", "page_size", "previous_page_uri", "start", "uri"
    }  # fmt: skip
    assert [m["body"] for m in page["messages"]] == ["[안전서울] 2", "[안전서울] 1"]  # the newest first
    assert (page["page"], page["page_size"], page["start"], page["end"]) == (0, 2, 0, 1)
    assert page["next_page_uri"].startswith(path + "?") and "Page=1" in page["next_page_uri"]
    assert "PageToken=PA" in page["next_page_uri"] and page["previous_page_uri"] is None
    message = page["messages"][0]
    assert (message["to"], message["from"], message["status"], message["direction"]) == (
        TO,
        FROM,
        "sent",
        "outbound-api",
    )
    assert message["date_sent"].endswith("GMT")  # RFC 2822, as Twilio writes dates
    assert none["messages"] == [] and none["next_page_uri"] is None
    assert refused.status_code == 400
