"""Enqueueing: in the caller's transaction, checked at once, deduplicated, opt-outs respected."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.platform.jobs.runner import run_job
from api.worker import JOBS
from notifications import repository
from notifications.repository import OutboxRow
from notifications.service import NotificationError, Outgoing
from notifications.sms_text import segments
from tests.notifications.conftest import NOW, deliveries


async def test_a_citizen_with_devices_gets_one_push_per_device(pool, notifier, make_citizen):
    citizen = await make_citizen(tokens=("tok-a", "tok-b"))
    async with pool.acquire() as conn, conn.transaction():
        notice = await notifier.to_citizen(
            conn, citizen_id=citizen, template="notice.test", params={"text": "시험입니다"}, now=NOW
        )
    rows = await deliveries(pool, notice_id=notice.notice_id)
    assert [(r["channel"], r["recipient"]) for r in rows] == [("push", "tok-a"), ("push", "tok-b")]
    assert rows[0]["title"] == "안전서울 알림 시험"
    assert rows[0]["body"] == "시험입니다"
    assert rows[0]["data"]["notice_id"] == str(notice.notice_id)
    assert {r["state"] for r in rows} == {"pending"}


async def test_a_citizen_without_a_device_gets_an_sms_in_their_language(pool, notifier, make_citizen):
    citizen = await make_citizen(phone="+821055550001", language="en")
    async with pool.acquire() as conn, conn.transaction():
        notice = await notifier.to_citizen(
            conn, citizen_id=citizen, template="notice.test", params={"text": "hi"}, now=NOW
        )
    [row] = await deliveries(pool, notice_id=notice.notice_id)
    assert (row["channel"], row["recipient"], row["language"]) == ("sms", "+821055550001", "en")
    assert row["body"].startswith("[safecity] ")


async def test_a_critical_push_has_an_sms_held_back_as_its_fallback(pool, notifier, make_citizen):
    citizen = await make_citizen(phone="+821055550002", tokens=("tok-c",))
    async with pool.acquire() as conn, conn.transaction():
        notice = await notifier.to_citizen(
            conn, citizen_id=citizen, template="notice.test", params={"text": "괜찮으세요?"}, now=NOW, critical=True
        )
    push, sms = await deliveries(pool, notice_id=notice.notice_id)
    assert (push["channel"], sms["channel"]) == ("push", "sms")
    assert sms["fallback"] and sms["state"] == "pending"
    assert sms["next_attempt_at"] == NOW + timedelta(seconds=300)
    assert push["priority"] == sms["priority"] == 0  # critical is urgent


async def test_a_dedupe_key_makes_enqueueing_idempotent(pool, notifier, make_citizen):
    citizen = await make_citizen(tokens=("tok-d",))
    for _ in range(2):
        async with pool.acquire() as conn, conn.transaction():
            notice = await notifier.to_citizen(
                conn,
                citizen_id=citizen,
                template="notice.test",
                params={"text": "한 번만"},
                now=NOW,
                dedupe_key="checkin-reminder:7:2026-11-24T09:00",
            )
    assert notice.created is False
    assert notice.deliveries == 1
    assert len(await deliveries(pool)) == 1


async def test_a_message_exists_only_if_its_transaction_commits(pool, notifier, make_citizen):
    citizen = await make_citizen(tokens=("tok-e",))
    async with pool.acquire() as conn:
        with pytest.raises(ZeroDivisionError):
            async with conn.transaction():
                await notifier.to_citizen(
                    conn, citizen_id=citizen, template="notice.test", params={"text": "x"}, now=NOW
                )
                _ = 1 / 0  # the change that caused the message fails
        with pytest.raises(RuntimeError, match="inside the transaction"):
            await notifier.to_citizen(conn, citizen_id=citizen, template="notice.test", params={"text": "x"}, now=NOW)
    assert await deliveries(pool) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"citizen_id": 999_999, "template": "notice.test", "params": {"text": "x"}}, "no citizen 999999"),
        ({"template": "notice.test", "params": {}}, "needs text"),
        ({"template": "no.such.template", "params": {}}, "no message template 'no.such.template'"),
    ],
)
async def test_bad_messages_fail_at_enqueue_time(pool, notifier, make_citizen, kwargs, message):
    citizen = await make_citizen(tokens=("tok-f",))
    async with pool.acquire() as conn, conn.transaction():
        with pytest.raises(NotificationError, match=message):
            await notifier.to_citizen(conn, **{"citizen_id": citizen, **kwargs}, now=NOW)


async def test_a_malformed_number_fails_at_enqueue_time(pool, notifier):
    async with pool.acquire() as conn, conn.transaction():
        with pytest.raises(NotificationError, match="not a"):
            await notifier.to_phone(
                conn, phone="010-12", language="ko", template="notice.test", params={"text": "x"}, now=NOW
            )


async def test_a_number_typed_as_people_type_it_is_stored_as_e164(pool, notifier):
    async with pool.acquire() as conn, conn.transaction():
        notice = await notifier.to_phone(
            conn, phone="010-1234-5678", language="ko", template="notice.test", params={"text": "x"}, now=NOW
        )
    [row] = await deliveries(pool, notice_id=notice.notice_id)
    assert row["recipient"] == "+821012345678"


async def test_an_opted_out_number_gets_nothing_unless_the_message_overrides(pool, notifier):
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO sms_opt_outs (phone, keyword, source) VALUES ('+821012345678', '수신거부', 'sms')"
        )
        routine = await notifier.to_phone(
            conn, phone="01012345678", language="ko", template="notice.test", params={"text": "x"}, now=NOW
        )
        care = await notifier.to_phone(
            conn,
            phone="01012345678",
            language="ko",
            template="notice.test",
            params={"text": "x"},
            now=NOW,
            critical=True,
            overrides_opt_out=True,
        )
    [suppressed] = await deliveries(pool, notice_id=routine.notice_id)
    [sent] = await deliveries(pool, notice_id=care.notice_id)
    assert (suppressed["state"], suppressed["last_error"]) == ("suppressed", "opted out by SMS")
    assert sent["state"] == "pending"


async def test_a_long_sms_is_split_into_numbered_parts_within_the_limit(pool, notifier, settings):
    text = "대피소 안내입니다. " * 60
    async with pool.acquire() as conn, conn.transaction():
        notice = await notifier.to_phone(
            conn, phone="01012345678", language="ko", template="notice.test", params={"text": text}, now=NOW
        )
    rows = await deliveries(pool, notice_id=notice.notice_id)
    assert len(rows) > 1
    assert rows[0]["body"].startswith(f"(1/{len(rows)}) [안전서울]")
    assert all(segments(r["body"]) <= settings.notify.sms_max_segments for r in rows)


async def test_a_district_warning_is_one_push_per_district_topic(pool, notifier):
    params = {"headline": "호우경보", "area": "서울", "instruction": "저지대에서 벗어나세요."}
    async with pool.acquire() as conn, conn.transaction():
        notice = await notifier.to_district_topics(
            conn, districts=["11110", "11140", "11110"], template="alert.weather", params=params, now=NOW
        )
    rows = await deliveries(pool, notice_id=notice.notice_id)
    assert [(r["recipient"], r["topic"]) for r in rows] == [("district-11110", True), ("district-11140", True)]
    assert rows[0]["data"]["body_en"].startswith("호우경보 in 서울")
    assert rows[0]["priority"] == 0


async def test_unknown_districts_are_refused(pool, notifier):
    async with pool.acquire() as conn, conn.transaction():
        with pytest.raises(NotificationError, match="99999"):
            await notifier.to_district_topics(
                conn, districts=["99999"], template="notice.test", params={"text": "x"}, now=NOW
            )


async def test_a_fan_out_reaches_every_citizen_of_the_districts_by_their_channel(pool, notifier, make_citizen):
    app_user = await make_citizen(district="11110", tokens=("tok-1", "tok-2"), language="en")
    sms_user = await make_citizen(district="11140", phone="+821055550003")
    opted_out = await make_citizen(district="11140", phone="+821055550004")
    await make_citizen(district="11680", tokens=("tok-elsewhere",))
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO sms_opt_outs (phone, keyword, source) VALUES ('+821055550004', 'STOP', 'sms')")
        notice = await notifier.to_district_citizens(
            conn, districts=["11110", "11140"], template="notice.test", params={"text": "대피하세요"}, now=NOW
        )
    rows = {(r["citizen_id"], r["recipient"]): r for r in await deliveries(pool, notice_id=notice.notice_id)}
    assert notice.deliveries == 4
    assert set(rows) == {
        (app_user, "tok-1"),
        (app_user, "tok-2"),
        (sms_user, "+821055550003"),
        (opted_out, "+821055550004"),
    }
    assert rows[(app_user, "tok-1")]["title"] == "safecity test message"
    assert rows[(sms_user, "+821055550003")]["body"] == "[안전서울] 안전서울 알림 시험\n대피하세요"
    assert rows[(opted_out, "+821055550004")]["state"] == "suppressed"


async def test_old_notices_are_purged_unless_a_delivery_is_still_to_go(pool, notifier, settings):
    async with pool.acquire() as conn, conn.transaction():
        done = await notifier.to_phone(
            conn, phone="01011110000", language="ko", template="notice.test", params={"text": "a"}, now=NOW
        )
        waiting = await notifier.to_phone(
            conn, phone="01011110001", language="ko", template="notice.test", params={"text": "b"}, now=NOW
        )
        await conn.execute("UPDATE outbox SET state = 'sent' WHERE notice_id = $1", done.notice_id)
    job = JOBS["notifications.purge-old"]
    result = await run_job(pool, job, now=NOW + timedelta(days=91), settings=settings)
    assert (result.result["notices"], result.result["sms_inbound"]) == (1, 0)
    assert [r["notice_id"] for r in await deliveries(pool)] == [waiting.notice_id]


async def test_enqueue_many_sends_a_key_given_twice_once(pool, notifier):
    item = Outgoing(dedupe_key="k-1", template="notice.test", params={"text": "x"}, phone="+821012345678")
    async with pool.acquire() as conn, conn.transaction():
        assert await notifier.enqueue_many(conn, items=[item, item], now=NOW) == 1
        assert await notifier.enqueue_many(conn, items=[item], now=NOW) == 0
    assert len(await deliveries(pool)) == 1


async def test_an_outbox_row_lands_field_by_field_and_a_positional_tuple_is_refused(pool):
    async with pool.acquire() as conn, conn.transaction():
        notice_id = await repository.insert_notice(conn, dedupe_key=None, template="notice.test", now=NOW)
        row = OutboxRow(
            channel="sms",
            recipient="+821055550099",
            topic=False,
            citizen_id=None,
            device_id=None,
            language="en",
            title=None,
            body="[safecity] by name",
            data={"k": "v"},
            fallback=True,
            state="suppressed",
            next_attempt_at=NOW + timedelta(seconds=7),
            last_error="opted out by SMS",
            notice_id=notice_id,
            template="notice.test",
            priority=1,
            critical=True,
            overrides_opt_out=False,
            max_attempts=4,
        )
        assert await repository.insert_rows(conn, rows=[row], now=NOW) == 1
        with pytest.raises(TypeError, match="OutboxRow"):
            await repository.insert_rows(conn, rows=[tuple(row)], now=NOW)
    [written] = await deliveries(pool, notice_id=notice_id)
    assert {name: written[name] for name in repository.ROW_COLUMNS} == row._asdict()
    assert written["created_at"] == written["updated_at"] == NOW
