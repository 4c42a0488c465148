"""A slow provider makes no duplicates: the dispatcher with the real SDKs against fakes slowed past the timeouts.

A send past its timeout may have reached the provider. It is tried once more at most, after a longer wait; an SMS
is first looked up at Twilio, and every copy of a push carries its notice's collapse id. The fakes count what they
received, so no test here depends on how long anything took.
"""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from api.platform.settings import NotifySettings, Settings
from notifications import repository
from notifications.channels import Failure, SendResult, build_channels
from notifications.dispatcher import Dispatcher
from notifications.outcomes import FOUND_AT_PROVIDER, is_outage, outcome_of
from tests.notifications.conftest import deliveries

TIMEOUT_S = 0.3
SLOW_S = 1.0  # past the timeout: each send's answer is lost, and the fake accepts the message all the same


class Clock:
    """The real time to start from (a lookup at the fake compares with its clock), moved on by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The notifications test settings with client timeouts small enough to pass quickly."""
    return msgspec.structs.replace(
        settings,
        fcm=msgspec.structs.replace(settings.fcm, timeout_s=TIMEOUT_S),
        twilio=msgspec.structs.replace(settings.twilio, timeout_s=TIMEOUT_S),
    )


@pytest.fixture
async def dispatcher(pool, settings, clock):  # type: ignore[no-untyped-def]
    channels = build_channels(settings)
    yield Dispatcher(pool, channels, settings.notify, clock=clock)
    for channel in channels.values():
        await channel.aclose()


async def sms_to(pool, notifier, clock, phone="010-2345-6789", text="문자"):  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn, conn.transaction():
        return await notifier.to_phone(
            conn, phone=phone, language="ko", template="notice.test", params={"text": text}, now=clock()
        )


async def until(predicate) -> None:  # type: ignore[no-untyped-def]
    """Wait for the slowed fake to finish what it was given (it answers after the client gave up)."""
    async with asyncio.timeout(30):
        while not predicate():  # noqa: ASYNC110 - the fake serves in another thread
            await asyncio.sleep(0.05)


async def test_an_sms_accepted_by_a_slow_twilio_is_found_and_not_sent_again(
    pool, notifier, dispatcher, clock, fake_twilio
):
    fake_twilio.delay(SLOW_S)
    await sms_to(pool, notifier, clock)

    [report] = await dispatcher.drain()
    assert (report.sent, report.retrying) == (0, 1)
    [row] = await deliveries(pool)
    assert (row["state"], row["unknown_since"]) == ("pending", clock.now)
    assert row["last_error"].startswith("outcome unknown: ")
    # Not sooner than twice the timeout, so the provider is done with the first try.
    assert row["next_attempt_at"] >= clock.now + timedelta(seconds=2 * TIMEOUT_S)

    await until(lambda: len(fake_twilio.sent) == 1)  # Twilio took it, after the client gave up
    clock.advance(minutes=1)
    [report] = await dispatcher.drain()

    assert report.sent == 1
    [row] = await deliveries(pool)
    [accepted] = fake_twilio.sent
    assert (row["state"], row["provider_id"], row["last_error"]) == ("sent", accepted["sid"], FOUND_AT_PROVIDER)
    assert (fake_twilio.requests, fake_twilio.lookups) == (1, 1)  # one send, one look-up: the phone got it once


async def test_a_sign_in_code_from_a_slow_twilio_reaches_the_phone_once_and_signs_in(
    client, pool, dispatcher, clock, fake_twilio
):
    fake_twilio.delay(SLOW_S)
    assert (await client.post("/v1/auth/otp", json={"phone": "010-4321-8765"})).status_code == 202
    clock.advance(seconds=1)  # the API's clock has moved on as well

    await dispatcher.drain()
    await until(lambda: len(fake_twilio.sent) == 1)
    clock.advance(minutes=1)
    await dispatcher.drain()
    clock.advance(hours=1)
    await dispatcher.drain()

    [code_sms] = fake_twilio.sent
    assert fake_twilio.requests == 1
    code = next(word for word in code_sms["Body"].split() if word.isdigit() and len(word) == 6)
    response = await client.post("/v1/auth/token", json={"phone": "010-4321-8765", "code": code})
    assert response.status_code == 200, response.text


async def test_an_sms_twilio_never_got_is_sent_once_more(pool, notifier, dispatcher, clock, fake_twilio):
    fake_twilio.delay(SLOW_S)
    fake_twilio.fail_next(1, 503)  # slow, and then not taken: the client has given up by then
    await sms_to(pool, notifier, clock)
    await dispatcher.drain()
    fake_twilio.delay(0)

    clock.advance(minutes=1)
    await dispatcher.drain()

    [row] = await deliveries(pool)
    [sent] = fake_twilio.sent
    assert (row["state"], row["provider_id"], row["last_error"]) == ("sent", sent["sid"], None)
    assert (fake_twilio.requests, fake_twilio.lookups) == (2, 1)


async def test_an_unknown_outcome_is_retried_once_and_never_a_third_time(
    pool, notifier, dispatcher, clock, fake_twilio
):
    fake_twilio.delay(SLOW_S)
    fake_twilio.fail_next(1, 503)  # the first is lost for good; the second is taken, slowly
    await sms_to(pool, notifier, clock)
    for _ in range(4):
        await dispatcher.drain()
        clock.advance(hours=1)
    await until(lambda: len(fake_twilio.sent) == 1)

    [row] = await deliveries(pool)
    assert (row["state"], row["attempts"]) == ("unknown", 2)
    assert row["last_error"].startswith("not sent again after 2 attempts whose outcome is unknown: ")
    assert fake_twilio.requests == 2  # at most one extra, whatever the number of rounds


async def test_a_slow_fcm_sends_a_topic_push_at_most_twice_and_the_phone_shows_it_once(
    pool, notifier, dispatcher, clock, fake_fcm
):
    fake_fcm.delay(SLOW_S)
    async with pool.acquire() as conn, conn.transaction():
        notice = await notifier.to_district_topics(
            conn, districts=["11110"], template="notice.test", params={"text": "호우경보"}, now=clock()
        )
    for _ in range(4):
        await dispatcher.drain()
        clock.advance(hours=1)
    await until(lambda: len(fake_fcm.sent) == 2)

    [row] = await deliveries(pool)
    assert (row["state"], row["attempts"]) == ("unknown", 2)
    assert fake_fcm.state()["requests"] == 2
    first, second = fake_fcm.sent
    assert first == second  # the same message, so the second replaces the first on the phone:
    notice_id = str(notice.notice_id)
    assert first["topic"] == "district-11110"
    assert first["android"]["collapse_key"] == notice_id
    assert first["android"]["notification"]["tag"] == notice_id
    assert first["apns"]["headers"]["apns-collapse-id"] == notice_id


async def test_a_critical_push_unanswered_twice_keeps_its_sms_fallback_for_the_ack(
    pool, notifier, make_citizen, dispatcher, clock, fake_fcm, fake_twilio, settings
):
    citizen = await make_citizen(phone="+821090004444", tokens=("tok-slow",))
    fake_fcm.delay(SLOW_S)
    async with pool.acquire() as conn, conn.transaction():
        await notifier.to_citizen(
            conn, citizen_id=citizen, template="notice.test", params={"text": "괜찮으세요?"}, now=clock(), critical=True
        )
    await dispatcher.drain()
    clock.advance(minutes=1)
    await dispatcher.drain()
    # The push may have arrived: the SMS waits for the app's ack as it would have, rather than going at once.
    states = {r["channel"]: r["state"] for r in await deliveries(pool)}
    assert states == {"push": "unknown", "sms": "pending"}
    assert fake_twilio.sent == []

    clock.advance(seconds=settings.notify.push_fallback_s)
    await dispatcher.drain()
    assert [m["To"] for m in fake_twilio.sent] == ["+821090004444"]


async def test_a_refused_connection_is_still_retried_as_usual(pool, notifier, settings, clock, fake_twilio):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    refused = msgspec.structs.replace(settings.twilio, api_base_url=f"http://127.0.0.1:{closed.getsockname()[1]}")
    channels = build_channels(msgspec.structs.replace(settings, twilio=refused))
    dispatcher = Dispatcher(pool, channels, settings.notify, clock=clock)
    try:
        await sms_to(pool, notifier, clock)
        for _ in range(settings.notify.max_attempts):
            await dispatcher.drain()
            [row] = await deliveries(pool)
            assert row["unknown_since"] is None  # nothing went out: no outcome to doubt
            clock.advance(minutes=1)
    finally:
        closed.close()
        for channel in channels.values():
            await channel.aclose()
    assert (row["state"], row["attempts"]) == ("failed", settings.notify.max_attempts)
    assert row["last_error"].startswith(f"gave up after {settings.notify.max_attempts} attempts: ")


async def test_a_status_callback_settles_an_sms_whose_answer_was_lost(
    client, pool, notifier, dispatcher, clock, fake_twilio
):
    fake_twilio.delay(SLOW_S)
    await sms_to(pool, notifier, clock)
    await dispatcher.drain()
    await until(lambda: len(fake_twilio.sent) == 1)
    [accepted] = fake_twilio.sent

    response = await fake_twilio.status_callback(accepted["sid"], "sent", client=client)
    assert response.status_code == 204

    [row] = await deliveries(pool)
    assert (row["state"], row["provider_id"]) == ("sent", accepted["sid"])
    clock.advance(hours=1)
    assert await dispatcher.drain() == []  # nothing left to send, or to look up
    assert (fake_twilio.requests, fake_twilio.lookups) == (1, 0)
    await fake_twilio.status_callback(accepted["sid"], "delivered", client=client)
    [row] = await deliveries(pool)
    assert row["state"] == "delivered"


async def test_a_row_whose_dispatcher_died_is_looked_up_before_it_goes_again(
    pool, notifier, dispatcher, clock, fake_twilio, settings
):
    await sms_to(pool, notifier, clock)
    async with pool.acquire() as conn:  # claimed by a dispatcher that then died, lease and all
        await repository.claim(conn, channel="sms", limit=10, now=clock(), lease_until=clock())
    clock.advance(seconds=1)
    assert (await dispatcher.maintain())["reclaimed"] == 1
    [row] = await deliveries(pool)
    assert (row["state"], row["unknown_since"] is not None) == ("pending", True)

    await dispatcher.drain()

    [row] = await deliveries(pool)
    assert row["state"] == "sent"
    assert (fake_twilio.lookups, fake_twilio.requests) == (1, 1)  # looked up, not found, sent


# -- the rule itself, on rows as the claim returns them ----------------------------------------------------------


def claimed(**row: object) -> dict[str, object]:
    base = {"id": 1, "notice_id": 1, "channel": "sms", "topic": False, "recipient": "+821011112222"}
    return base | {"attempts": 1, "max_attempts": 16, "unknown_since": None} | row


UNKNOWN = SendResult(ok=False, failure=Failure.unknown, error="SocketTimeoutError: slow", retry_after_s=30.0)
REFUSED = SendResult(ok=False, failure=Failure.transient, error="ClientConnectorError: refused")


def decide(rows, results, *, outage=False):  # type: ignore[no-untyped-def]
    now = datetime(2026, 12, 1, tzinfo=UTC)
    began = now - timedelta(seconds=15)
    return now, began, outcome_of(rows, results, began=began, now=now, settings=NotifySettings(), outage=outage)


def test_a_first_unknown_waits_at_least_its_longer_wait_and_remembers_when_it_began() -> None:
    now, began, out = decide([claimed()], [UNKNOWN])
    assert (out.states, out.unknown_since, out.refund) == (["pending"], [began], [False])
    assert out.next_attempts[0] >= now + timedelta(seconds=30)


@pytest.mark.parametrize(
    "row", [claimed(attempts=2, unknown_since=datetime(2026, 12, 1, tzinfo=UTC)), claimed(attempts=16)]
)
def test_a_second_unknown_or_one_without_attempts_left_ends_as_unknown(row) -> None:  # type: ignore[no-untyped-def]
    _, _, out = decide([row], [UNKNOWN])
    assert out.states == ["unknown"] and out.errors[0].startswith("not sent again after ")


def test_a_clean_failure_after_an_unknown_is_retried_and_ends_as_unknown_when_out_of_attempts() -> None:
    doubt = datetime(2026, 12, 1, tzinfo=UTC)
    _, _, out = decide(
        [claimed(attempts=3, unknown_since=doubt), claimed(attempts=16, unknown_since=doubt)], [REFUSED] * 2
    )
    assert out.states == ["pending", "unknown"]


def test_a_batch_of_unknowns_is_no_outage_and_keeps_its_attempts() -> None:
    assert not is_outage([UNKNOWN, UNKNOWN])
    assert is_outage([REFUSED, REFUSED])
