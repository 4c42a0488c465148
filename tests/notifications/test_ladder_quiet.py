"""Answered means quiet: nothing of a ladder reaches anyone after its all-clear, through the real SDK and fake."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from api.platform.auth.tokens import Principal, Role
from api.platform.jobs.runner import run_job
from api.worker import JOBS
from care import service
from care.inbound import handle_sms
from care.schemas import GuardianIn, PlanIn, RecipientCreate
from notifications import repository
from notifications.channels import build_channels
from notifications.dispatcher import Dispatcher
from notifications.inbound import InboundSms

SEOUL = ZoneInfo("Asia/Seoul")
WORKER = Principal(subject="staff:1", role=Role.social_worker, districts=("11110",))
PERSON, GUARDIAN = "+821012340000", "+821098760000"


def kst(hhmm: str) -> datetime:
    return datetime(2026, 11, 24, int(hhmm[:2]), int(hhmm[3:]), tzinfo=SEOUL)


class Clock:
    now = kst("08:00")

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def dispatcher(pool, settings):  # type: ignore[no-untyped-def]
    channels = build_channels(settings)
    clock = Clock()
    yield Dispatcher(pool, channels, settings.notify, clock=clock), clock
    for channel in channels.values():
        await channel.aclose()


async def enroll(pool) -> int:  # type: ignore[no-untyped-def]
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


async def test_a_late_check_in_cancels_the_stale_alarm_so_the_guardian_hears_only_the_all_clear(
    pool, settings, notifier, dispatcher, fake_twilio
):
    send, clock = dispatcher
    await enroll(pool)
    # The reminders and the guardian's alarm are enqueued while no dispatcher is sending (an outage).
    for hhmm in ("09:00", "11:00", "11:30"):
        await run_job(pool, JOBS["care.sweep"], now=kst(hhmm), settings=settings)
    reply = InboundSms(message_sid="SMlate", phone=PERSON, to=None, body="괜찮아요", received_at=kst("11:40"))
    async with pool.acquire() as conn, conn.transaction():
        assert await handle_sms(conn, reply, notifier) == "care.checkin"

    clock.now = kst("11:41")  # the outage ends
    while (await send.dispatch_batch("sms")).claimed:
        pass
    to_guardian = [m["Body"] for m in fake_twilio.sent if m["To"] == GUARDIAN]
    assert len(to_guardian) == 1 and "걱정하지 않으셔도 됩니다" in to_guardian[0]  # the all-clear, and only it
    # No reminder after they answered: only the confirmation of their answer.
    assert [m["Body"] for m in fake_twilio.sent if m["To"] == PERSON] == [
        "[안전서울] 김순자님, 안부 확인되었습니다. 고맙습니다."
    ]
    async with pool.acquire() as conn:
        cancelled = await conn.fetch("SELECT template, last_error FROM outbox WHERE state = 'cancelled' ORDER BY id")
    assert [c["template"] for c in cancelled] == ["care.reminder", "care.reminder_again", "care.guardian_alert"]
    assert all(c["last_error"] == "answered by sms checkin" for c in cancelled)


async def test_a_row_cancelled_after_a_dispatcher_claimed_it_is_never_sent_nor_recorded_over(pool, settings, notifier):
    await enroll(pool)
    await run_job(pool, JOBS["care.sweep"], now=kst("09:00"), settings=settings)
    async with pool.acquire() as conn:
        [claimed] = await repository.claim(conn, channel="sms", limit=10, now=kst("09:00"), lease_until=kst("09:05"))
    reply = InboundSms(message_sid="SMearly", phone=PERSON, to=None, body="1", received_at=kst("09:01"))
    async with pool.acquire() as conn, conn.transaction():
        await handle_sms(conn, reply, notifier)
    async with pool.acquire() as conn:
        # The dispatcher's last look before the provider finds it no longer holds the row: it is not sent.
        assert await repository.still_claimed(conn, ids=[claimed["id"]], attempts=[claimed["attempts"]]) == set()
        recorded = await repository.record_results(
            conn,
            now=kst("09:02"),
            ids=[claimed["id"]],
            attempts=[claimed["attempts"]],
            states=["sent"],
            provider_ids=["SMx"],
            errors=[None],
            next_attempts=[kst("09:02")],
            refund=[False],
            unknown_since=[None],
        )
        state = await conn.fetchval("SELECT state FROM outbox WHERE id = $1", claimed["id"])
    assert (recorded, state) == (0, "cancelled")
