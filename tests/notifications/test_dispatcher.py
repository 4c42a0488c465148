"""The dispatcher with the real firebase-admin and twilio SDKs against the fake providers."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import msgspec
import pytest

from api.accounts.places import add_place, remove_place
from api.accounts.places_schemas import PlaceCreate, PlaceKind
from api.accounts.schemas import CitizenUpdate
from api.accounts.service import update_citizen
from api.platform.db.pool import create_pool
from notifications.channels import build_channels
from notifications.dispatcher import Dispatcher
from notifications.receipts import acknowledge
from notifications.schemas import Priority
from tests.notifications.conftest import NOW, deliveries


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def channels(settings):  # type: ignore[no-untyped-def]
    built = build_channels(settings)
    yield built
    for channel in built.values():
        await channel.aclose()


@pytest.fixture
def dispatcher(pool, channels, settings, clock) -> Dispatcher:
    return Dispatcher(pool, channels, settings.notify, clock=clock)


async def push_to(pool, notifier, citizen, text="알림", **kwargs):  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn, conn.transaction():
        return await notifier.to_citizen(
            conn, citizen_id=citizen, template="notice.test", params={"text": text}, now=NOW, **kwargs
        )


async def sms_to(pool, notifier, phone, text="문자", **kwargs):  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn, conn.transaction():
        return await notifier.to_phone(
            conn, phone=phone, language="ko", template="notice.test", params={"text": text}, now=NOW, **kwargs
        )


async def test_push_and_sms_reach_the_providers_as_they_expect(
    pool, notifier, make_citizen, dispatcher, fake_fcm, fake_twilio
):
    app_user = await make_citizen(tokens=("tok-1",))
    await push_to(pool, notifier, app_user, "호우경보입니다", priority=Priority.urgent)
    await sms_to(pool, notifier, "010-2222-3333", "안녕하세요")

    await dispatcher.drain()

    [push] = fake_fcm.sent
    assert push["token"] == "tok-1"
    assert push["notification"] == {"title": "안전서울 알림 시험", "body": "호우경보입니다"}
    assert push["android"]["priority"] == "high"
    assert push["apns"]["headers"]["apns-priority"] == "10"
    [sms] = fake_twilio.sent
    assert sms["To"] == "+821022223333"
    assert sms["Body"] == "[안전서울] 안전서울 알림 시험\n안녕하세요"
    rows = await deliveries(pool)
    # The callback names the delivery, so it can tell us of a message whose answer was lost.
    assert sms["StatusCallback"] == f"http://safecity.test/webhooks/twilio/status?outbox={rows[1]['id']}"
    assert {r["state"] for r in rows} == {"sent"}
    assert rows[1]["provider_id"] == sms["sid"]
    # A repeat of the notice would replace this one on the phone, not show beside it.
    notice = str(rows[0]["notice_id"])
    assert push["android"]["collapse_key"] == notice
    assert push["android"]["notification"] == {"tag": notice}
    assert push["apns"]["headers"]["apns-collapse-id"] == notice


async def test_routine_push_goes_at_normal_priority(pool, notifier, make_citizen, dispatcher, fake_fcm):
    await push_to(pool, notifier, await make_citizen(tokens=("tok-r",)), priority=Priority.routine)
    await dispatcher.drain()
    [push] = fake_fcm.sent
    assert push["android"]["priority"] == "normal"
    assert push["apns"]["headers"]["apns-priority"] == "5"


async def test_urgent_messages_leave_before_routine_ones(
    pool, notifier, make_citizen, channels, settings, clock, fake_twilio
):
    for i in range(3):
        await sms_to(pool, notifier, f"010-3000-000{i}", f"routine {i}", priority=Priority.routine)
    await sms_to(pool, notifier, "010-3000-0009", "urgent", priority=Priority.urgent)
    one_at_a_time = msgspec.structs.replace(settings.notify, batch_size=1)
    dispatcher = Dispatcher(pool, channels, one_at_a_time, clock=clock)
    await dispatcher.drain()
    bodies = [m["Body"] for m in fake_twilio.sent]
    assert bodies[0].endswith("\nurgent")
    assert len(bodies) == 4


@pytest.mark.parametrize("status", ["UNAVAILABLE", "INTERNAL", "QUOTA_EXCEEDED"])
async def test_transient_fcm_failures_are_retried_with_backoff(
    pool, notifier, make_citizen, dispatcher, clock, fake_fcm, status
):
    await push_to(pool, notifier, await make_citizen(tokens=("tok-t",)))
    fake_fcm.fail_next(1, status, retry_after=3 if status == "QUOTA_EXCEEDED" else None)

    await dispatcher.drain()
    [row] = await deliveries(pool)
    assert (row["state"], row["attempts"]) == ("pending", 1)
    assert status in row["last_error"]
    assert row["next_attempt_at"] > NOW
    if status == "QUOTA_EXCEEDED":
        assert row["next_attempt_at"] >= NOW + timedelta(seconds=3)

    await dispatcher.drain()  # not due yet
    assert fake_fcm.sent == []
    clock.advance(seconds=10)
    await dispatcher.drain()
    [row] = await deliveries(pool)
    assert (row["state"], row["attempts"]) == ("sent", 2)
    assert [m["token"] for m in fake_fcm.sent] == ["tok-t"]


async def test_a_message_that_keeps_failing_fails_with_the_reason(
    pool, notifier, make_citizen, dispatcher, clock, fake_fcm, settings
):
    await push_to(pool, notifier, await make_citizen(tokens=("tok-x",)))
    fake_fcm.fail_next(100, "INTERNAL")
    for _ in range(settings.notify.max_attempts):
        await dispatcher.drain()
        clock.advance(seconds=60)
    [row] = await deliveries(pool)
    assert row["state"] == "failed"
    assert row["last_error"].startswith(f"gave up after {settings.notify.max_attempts} attempts")


@pytest.mark.parametrize("status", ["UNREGISTERED", "SENDER_ID_MISMATCH", "INVALID_ARGUMENT"])
async def test_a_dead_device_token_is_never_retried_and_is_forgotten(
    pool, notifier, make_citizen, dispatcher, clock, fake_fcm, status
):
    citizen = await make_citizen(tokens=("tok-dead", "tok-live"))
    fake_fcm.fail_token("tok-dead", status)
    await push_to(pool, notifier, citizen)

    await dispatcher.drain()
    clock.advance(hours=1)
    await dispatcher.drain()

    states = {r["recipient"]: (r["state"], r["attempts"]) for r in await deliveries(pool)}
    assert states == {"tok-dead": ("failed", 1), "tok-live": ("sent", 1)}
    async with pool.acquire() as conn:
        tokens = await conn.fetch("SELECT fcm_token FROM devices WHERE citizen_id = $1", citizen)
    assert [r["fcm_token"] for r in tokens] == ["tok-live"]


async def test_a_number_twilio_says_opted_out_is_marked_and_gets_nothing_more(
    pool, notifier, dispatcher, clock, fake_twilio
):
    fake_twilio.fail_number("+821044445555", 21610)
    await sms_to(pool, notifier, "010-4444-5555")
    await dispatcher.drain()
    clock.advance(hours=1)
    await dispatcher.drain()
    [row] = await deliveries(pool)
    assert (row["state"], row["attempts"]) == ("failed", 1)
    assert "21610" in row["last_error"]

    notice = await sms_to(pool, notifier, "010-4444-5555", "또 보냄")
    [later] = await deliveries(pool, notice_id=notice.notice_id)
    assert later["state"] == "suppressed"
    assert len(fake_twilio.sent) == 0


@pytest.mark.parametrize("code", [21211, 21614])
async def test_an_invalid_number_is_never_retried(pool, notifier, dispatcher, clock, fake_twilio, code):
    fake_twilio.fail_number("+821066667777", code)
    await sms_to(pool, notifier, "010-6666-7777")
    await dispatcher.drain()
    clock.advance(hours=1)
    await dispatcher.drain()
    [row] = await deliveries(pool)
    assert (row["state"], row["attempts"]) == ("failed", 1)
    assert str(code) in row["last_error"]


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_transient_twilio_failures_are_retried(pool, notifier, dispatcher, clock, fake_twilio, status):
    fake_twilio.fail_next(1, status)
    await sms_to(pool, notifier, "010-7777-8888")
    await dispatcher.drain()
    [row] = await deliveries(pool)
    assert (row["state"], row["attempts"]) == ("pending", 1)
    clock.advance(seconds=10)
    await dispatcher.drain()
    [row] = await deliveries(pool)
    assert row["state"] == "sent"
    assert len(fake_twilio.sent) == 1


async def test_while_the_provider_is_down_messages_wait_and_then_leave_urgent_first(
    pool, notifier, channels, settings, clock, fake_twilio
):
    fake_twilio.down(True)
    for i in range(3):
        await sms_to(pool, notifier, f"010-5000-000{i}", f"routine {i}", priority=Priority.routine)
    await sms_to(pool, notifier, "010-5000-0009", "urgent", priority=Priority.urgent)
    dispatcher = Dispatcher(pool, channels, settings.notify, clock=clock)
    for _ in range(20):  # an hour of outage is many rounds; none of them may use up a message's attempts
        await dispatcher.drain()
        clock.advance(minutes=3)
    rows = await deliveries(pool)
    assert {(r["state"], r["attempts"]) for r in rows} == {("pending", 0)}

    fake_twilio.down(False)
    one_at_a_time = Dispatcher(pool, channels, msgspec.structs.replace(settings.notify, batch_size=1), clock=clock)
    await one_at_a_time.drain()
    bodies = [m["Body"] for m in fake_twilio.sent]
    assert bodies[0].endswith("\nurgent")
    assert sorted(b.rsplit("\n", 1)[1] for b in bodies[1:]) == [f"routine {i}" for i in range(3)]


async def test_a_number_that_opts_out_after_enqueue_is_not_sent_to(pool, notifier, dispatcher, fake_twilio):
    await sms_to(pool, notifier, "010-1212-3434")
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO sms_opt_outs (phone, keyword, source) VALUES ('+821012123434', '그만', 'sms')")
    await dispatcher.drain()
    [row] = await deliveries(pool)
    assert row["state"] == "suppressed"
    assert fake_twilio.sent == []


async def test_an_unacknowledged_critical_push_is_followed_by_sms(
    pool, notifier, make_citizen, dispatcher, clock, fake_fcm, fake_twilio, settings
):
    citizen = await make_citizen(phone="+821090001111", tokens=("tok-crit",))
    await push_to(pool, notifier, citizen, "괜찮으세요?", critical=True)

    await dispatcher.drain()
    assert len(fake_fcm.sent) == 1
    assert fake_twilio.sent == []  # the push may yet be seen

    clock.advance(seconds=settings.notify.push_fallback_s + 1)
    await dispatcher.drain()
    [sms] = fake_twilio.sent
    assert sms["To"] == "+821090001111"
    assert "괜찮으세요?" in sms["Body"]


async def test_an_acknowledged_critical_push_cancels_its_sms(
    pool, notifier, make_citizen, dispatcher, clock, fake_fcm, fake_twilio, settings
):
    citizen = await make_citizen(phone="+821090002222", tokens=("tok-ack",))
    notice = await push_to(pool, notifier, citizen, "괜찮으세요?", critical=True)
    await dispatcher.drain()
    async with pool.acquire() as conn:
        await acknowledge(conn, notice_id=notice.notice_id, citizen_id=citizen, now=clock())
    clock.advance(seconds=settings.notify.push_fallback_s + 1)
    await dispatcher.drain()
    assert fake_twilio.sent == []
    states = {r["channel"]: r["state"] for r in await deliveries(pool, notice_id=notice.notice_id)}
    assert states == {"push": "sent", "sms": "cancelled"}


async def test_when_every_push_fails_for_good_the_sms_goes_at_once(
    pool, notifier, make_citizen, dispatcher, fake_fcm, fake_twilio
):
    citizen = await make_citizen(phone="+821090003333", tokens=("tok-gone",))
    fake_fcm.fail_token("tok-gone", "UNREGISTERED")
    await push_to(pool, notifier, citizen, "괜찮으세요?", critical=True)
    await dispatcher.drain()  # push fails for good: the fallback is released
    await dispatcher.drain()
    assert [m["To"] for m in fake_twilio.sent] == ["+821090003333"]


async def test_two_dispatchers_side_by_side_never_send_a_row_twice(
    pool, notifier, make_citizen, channels, settings, clock, fake_fcm, fake_twilio
):
    tokens = tuple(f"tok-{i:04d}" for i in range(1200))
    await make_citizen(tokens=tokens)
    for i in range(150):
        await make_citizen(phone=f"+8210600{i:05d}")
    async with pool.acquire() as conn, conn.transaction():
        await notifier.to_district_citizens(
            conn, districts=["11110"], template="notice.test", params={"text": "동시에"}, now=NOW
        )
    small = msgspec.structs.replace(settings.notify, batch_size=50)
    other_pool = await create_pool(settings.db)
    try:
        first = Dispatcher(pool, channels, small, clock=clock)
        second_channels = build_channels(settings)
        second = Dispatcher(other_pool, second_channels, small, clock=clock)
        await asyncio.gather(first.drain(), second.drain())
        for channel in second_channels.values():
            await channel.aclose()
    finally:
        await other_pool.close()
    pushed = Counter(m["token"] for m in fake_fcm.sent)
    texted = Counter(m["To"] for m in fake_twilio.sent)
    assert len(pushed) == 1200 and max(pushed.values()) == 1
    assert len(texted) == 150 and max(texted.values()) == 1
    assert {r["state"] for r in await deliveries(pool)} == {"sent"}


async def test_a_device_joins_its_district_topic_and_moves_with_its_citizen(pool, make_citizen, dispatcher, fake_fcm):
    citizen = await make_citizen(district="11110", tokens=("tok-topic",))
    await dispatcher.maintain()
    assert fake_fcm.subscriptions == {"district-11110": {"tok-topic"}}

    async with pool.acquire() as conn:
        await update_citizen(conn, citizen_id=citizen, data=CitizenUpdate(district="11680"))
    await dispatcher.maintain()
    assert fake_fcm.subscriptions == {"district-11680": {"tok-topic"}}


async def test_a_device_hears_the_dong_of_each_place_and_leaves_it_with_the_place(
    pool, make_citizen, dispatcher, fake_fcm
):
    citizen = await make_citizen(district="11680", tokens=("tok-dong",))
    async with pool.acquire() as conn:
        await add_place(
            conn, citizen_id=citizen, data=PlaceCreate(label="집", kind=PlaceKind.home, dong="11680104"), now=NOW
        )
        parents = await add_place(
            conn, citizen_id=citizen, data=PlaceCreate(label="부모님 댁", lat=37.57, lon=126.98), now=NOW
        )
    await dispatcher.maintain()
    assert fake_fcm.subscriptions == {
        "district-11680": {"tok-dong"},
        "dong-11680104": {"tok-dong"},
        f"dong-{parents.dong}": {"tok-dong"},
    }

    async with pool.acquire() as conn:
        await remove_place(conn, citizen_id=citizen, place_id=parents.id)
        # A new home replaces the old: its dong's topic replaces the old one's.
        await add_place(
            conn, citizen_id=citizen, data=PlaceCreate(label="새 집", kind=PlaceKind.home, dong="11680105"), now=NOW
        )
    await dispatcher.maintain()
    assert fake_fcm.subscriptions == {"district-11680": {"tok-dong"}, "dong-11680105": {"tok-dong"}}
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT subscribed_topics, topic_pending FROM devices WHERE fcm_token = 'tok-dong'")
    assert row["subscribed_topics"] == ["district-11680", "dong-11680105"] and not row["topic_pending"]


async def test_a_topic_that_fails_to_join_is_tried_again_and_the_others_are_kept(
    pool, make_citizen, dispatcher, fake_fcm
):
    """What is recorded is what FCM holds: a device that joined one topic and failed the other stays pending, and
    the next pass joins only what is missing."""
    citizen = await make_citizen(district="11680", tokens=("tok-half",))
    async with pool.acquire() as conn:
        await add_place(
            conn, citizen_id=citizen, data=PlaceCreate(label="집", kind=PlaceKind.home, dong="11680104"), now=NOW
        )
    fake_fcm.fail_topic("dong-11680104")
    await dispatcher.maintain()
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT subscribed_topics, topic_pending FROM devices WHERE fcm_token = 'tok-half'")
    assert row["subscribed_topics"] == ["district-11680"] and row["topic_pending"]
    fake_fcm.fail_topic("dong-11680104", None)
    await dispatcher.maintain()
    assert fake_fcm.subscriptions == {"district-11680": {"tok-half"}, "dong-11680104": {"tok-half"}}
    async with pool.acquire() as conn:
        assert not await conn.fetchval("SELECT topic_pending FROM devices WHERE fcm_token = 'tok-half'")


async def test_a_provider_slower_than_the_lease_does_not_get_a_message_twice(
    pool, notifier, make_citizen, channels, settings, fake_fcm
):
    await push_to(pool, notifier, await make_citizen(tokens=("tok-slow-1", "tok-slow-2")))
    short = msgspec.structs.replace(settings.notify, lease_s=1.2)
    dispatcher = Dispatcher(pool, channels, short)  # the real clock: the lease is renewed in real time
    fake_fcm.delay(3.0)

    async def reclaim_meanwhile() -> None:
        await asyncio.sleep(2.0)  # well past the first lease
        assert (await dispatcher.maintain())["reclaimed"] == 0

    report, _ = await asyncio.gather(dispatcher.dispatch_batch("push"), reclaim_meanwhile())
    assert report.sent == 2
    assert sorted(m["token"] for m in fake_fcm.sent) == ["tok-slow-1", "tok-slow-2"]


async def test_a_slow_fcm_never_holds_a_citizens_change_of_district(pool, make_citizen, dispatcher, fake_fcm):
    """Topic upkeep calls FCM outside any transaction: a citizen moving district while FCM is slow is not kept
    waiting for it, and the device follows them at the next pass."""
    citizen = await make_citizen(district="11110", tokens=("tok-move",))
    fake_fcm.delay(2.0)
    upkeep = asyncio.create_task(dispatcher.maintain())
    await asyncio.sleep(0.5)  # the subscription to district-11110 is on its way
    async with pool.acquire() as conn:
        await update_citizen(conn, citizen_id=citizen, data=CitizenUpdate(district="11680"))
    assert not upkeep.done()  # the change was committed while FCM was still answering
    await upkeep
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT topic_pending FROM devices WHERE fcm_token = 'tok-move'")
    fake_fcm.delay(0)
    await dispatcher.maintain()
    assert fake_fcm.subscriptions == {"district-11680": {"tok-move"}}
