"""People on duty: an urgent case reaches the one on duty at once, then the next, then the night desk, until acked."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from api.platform.auth.tokens import Principal, Role
from api.platform.jobs.runner import run_job
from api.worker import JOBS
from care import on_duty_repository, rota, service
from care.inbound import handle_sms
from care.on_duty_routes import DESK
from care.schemas import GuardianIn, PlanIn, RecipientCreate
from notifications.inbound import InboundSms
from notifications.service import Notifier
from tests.conftest import bearer, problem

SEOUL = ZoneInfo("Asia/Seoul")
WORKER = Principal(subject="staff:1", role=Role.social_worker, districts=("11110",))
WEEK = [("mon 00:00", "mon 00:00")]  # one shift all week long


def kst(day: int, hhmm: str) -> datetime:
    """A moment of 2026-11-<day> in Seoul (the 23rd is a Monday)."""
    return datetime(2026, 11, day, int(hhmm[:2]), int(hhmm[3:]), tzinfo=SEOUL)


@pytest.fixture
def operator(token_for):  # type: ignore[no-untyped-def]
    return bearer(token_for(Role.operator))


async def add_staff(client, operator, n: int, *, district: str = "11110") -> list[int]:  # type: ignore[no-untyped-def]
    ids = []
    for i in range(n):
        body = {
            "email": f"duty{district}-{i}@seoul.test",
            "name": f"당직{i}",
            "role": "social_worker",
            "districts": [district],
            "phone": f"010-7000-{district[-2:]}{i:02d}",
        }
        response = await client.post("/v1/admin/staff", json=body, headers=operator)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def set_rota(client, operator, ref: str, shifts) -> None:  # type: ignore[no-untyped-def]
    body = {"shifts": [{"from": f, "to": t, "staff": staff} for f, t, staff in shifts]}
    response = await client.put(f"/v1/care/rota/{ref}", json=body, headers=operator)
    assert response.status_code == 200, response.text


async def enroll(pool, phone: str = "010-1234-0000") -> int:  # type: ignore[no-untyped-def]
    data = RecipientCreate(
        name="김순자",
        phone=phone,
        district="11110",
        address="서울 종로구 세종대로 1",
        guardians=[GuardianIn(name="김민수", phone="010-9876-0000", relation="아들")],
        plan=PlanIn(times=["09:00"]),
    )
    async with pool.acquire() as conn:
        return (await service.enroll(conn, data=data, principal=WORKER, now=kst(23, "08:00"))).id


async def help_request(pool, notifier, recipient_id: int, at: datetime) -> int:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        read = await service.ask_for_help(conn, notifier=notifier, recipient_id=recipient_id, channel="app", at=at)
    return read.case_id


async def escalate(pool, settings, at: datetime) -> None:  # type: ignore[no-untyped-def]
    await run_job(pool, JOBS["care.on-duty"], now=at, settings=settings)


async def told(pool) -> list[str]:  # type: ignore[no-untyped-def]
    """The phones told of urgent cases, in order."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT recipient FROM outbox WHERE template = 'care.on_duty' ORDER BY id")
    return [r["recipient"] for r in rows]


async def phones(pool, ids: list[int]) -> list[str]:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        found = {r["id"]: r["phone"] for r in await conn.fetch("SELECT id, phone FROM staff")}
    return [found[i] for i in ids]


async def test_a_help_request_reaches_the_one_on_duty_at_once_then_the_next_then_the_night_desk(
    client, operator, pool, settings
):
    district = await add_staff(client, operator, 2)
    desk = await add_staff(client, operator, 1, district="11680")
    await set_rota(client, operator, "11110", [("mon 00:00", "mon 00:00", district)])
    await set_rota(client, operator, DESK, [("mon 00:00", "mon 00:00", desk)])
    notifier = Notifier(settings.notify)
    recipient = await enroll(pool)

    await help_request(pool, notifier, recipient, kst(24, "02:00"))
    first, second, night = await phones(pool, [*district, *desk])
    assert await told(pool) == [first]  # at once, in the help request's own transaction
    await escalate(pool, settings, kst(24, "02:04"))
    assert await told(pool) == [first]  # not yet: five minutes have not passed
    await escalate(pool, settings, kst(24, "02:05"))
    assert await told(pool) == [first, second]
    await escalate(pool, settings, kst(24, "02:10"))
    assert await told(pool) == [first, second, night]
    await escalate(pool, settings, kst(24, "02:15"))
    await escalate(pool, settings, kst(24, "02:20"))
    assert await told(pool) == [first, second, night]  # everyone named has been told, once each


async def test_a_reply_to_the_sms_acknowledges_the_case_and_stops_the_chain(client, operator, pool, settings):
    staff = await add_staff(client, operator, 2)
    await set_rota(client, operator, "11110", [("mon 00:00", "mon 00:00", staff)])
    notifier = Notifier(settings.notify)
    case_id = await help_request(pool, notifier, await enroll(pool), kst(24, "02:00"))
    [first] = await told(pool)

    reply = InboundSms(message_sid="SMack1", phone=first, to=None, body="가는 중", received_at=kst(24, "02:02"))
    async with pool.acquire() as conn, conn.transaction():
        assert await handle_sms(conn, reply, notifier) == "care.on_duty"
        case = await conn.fetchrow("SELECT state, acknowledged_by FROM cases WHERE id = $1", case_id)
        confirmation = await conn.fetchval("SELECT body FROM outbox WHERE template = 'care.on_duty_acknowledged'")
    assert case["state"] == "acknowledged" and case["acknowledged_by"].endswith(":sms")
    assert f"#{case_id}" in confirmation
    await escalate(pool, settings, kst(24, "02:30"))
    assert await told(pool) == [first]  # acknowledged: the next person is never told


async def test_the_ladders_urgent_step_reaches_the_one_on_duty(client, operator, pool, settings):
    [worker] = await add_staff(client, operator, 1)
    await set_rota(client, operator, "11110", [("mon 00:00", "mon 00:00", [worker])])
    await enroll(pool)
    for hhmm in ("09:00", "09:30", "10:00", "11:00", "12:00", "13:00"):  # reminders, guardian, case, urgent
        await run_job(pool, JOBS["care.sweep"], now=kst(24, hhmm), settings=settings)
    async with pool.acquire() as conn:
        urgent = await conn.fetchval("SELECT count(*) FROM cases WHERE priority = 'urgent'")
    assert urgent == 1
    assert await told(pool) == await phones(pool, [worker])


@pytest.mark.parametrize(
    ("shifts", "reason"),
    [
        ([("mon 09:00", "mon 00:00")], "Nobody is on duty from 월 00:00 (mon 00:00) to 월 09:00 (mon 09:00)"),
        ([("mon 00:00", "fri 18:00"), ("fri 17:00", "mon 00:00")], "fri 17:00) to 금 18:00 (fri 18:00) is in two"),
        ([("mon 00:00", "sun 23:00")], "Nobody is on duty from 일 23:00 (sun 23:00)"),
        ([("thu 25:00", "mon 00:00")], "is not a time of the week"),
    ],
)
async def test_a_rota_with_a_gap_or_an_overlap_is_refused_saying_where(client, operator, shifts, reason):
    staff = await add_staff(client, operator, 1)
    body = {"shifts": [{"from": f, "to": t, "staff": staff} for f, t in shifts]}
    response = await client.put("/v1/care/rota/11110", json=body, headers=operator)
    assert response.status_code == 422
    assert reason in problem(response)["detail"]
    assert (await client.get("/v1/care/rota/11110", headers=operator)).json()["shifts"] == []


async def test_a_rota_names_only_staff_who_can_be_told(client, operator):
    body = {"shifts": [{"from": "mon 00:00", "to": "mon 00:00", "staff": [999]}]}
    response = await client.put("/v1/care/rota/11110", json=body, headers=operator)
    assert (response.status_code, problem(response)["code"]) == (422, "staff_not_found")
    phoneless = {"email": "nophone@seoul.test", "name": "무전화", "role": "social_worker", "districts": ["11110"]}
    staff_id = (await client.post("/v1/admin/staff", json=phoneless, headers=operator)).json()["id"]
    body["shifts"][0]["staff"] = [staff_id]
    response = await client.put("/v1/care/rota/11110", json=body, headers=operator)
    assert (response.status_code, problem(response)["code"]) == (422, "staff_unreachable")


async def test_only_operators_edit_rotas_and_staff_read_only_their_districts(client, operator, token_for):
    staff = await add_staff(client, operator, 1)
    await set_rota(client, operator, "11110", [("mon 00:00", "mon 00:00", staff)])
    worker = bearer(token_for(Role.social_worker, districts=("11110",)))
    other = bearer(token_for(Role.social_worker, districts=("11680",)))
    body = {"shifts": [{"from": "mon 00:00", "to": "mon 00:00", "staff": staff}]}
    assert (await client.put("/v1/care/rota/11110", json=body, headers=worker)).status_code == 403
    mine = await client.get("/v1/care/rota/11110", headers=worker)
    assert mine.json()["shifts"] == [{"from": "mon 00:00", "to": "mon 00:00", "staff": staff}]
    assert (await client.get("/v1/care/rota/11110", headers=other)).status_code == 404
    assert (await client.get("/v1/care/rota/99999", headers=operator)).status_code == 404


async def test_a_staff_phone_that_is_not_a_mobile_is_refused(client, operator):
    body = {"email": "landline@seoul.test", "name": "유선", "role": "operator", "phone": "02-2133-0000"}
    response = await client.post("/v1/admin/staff", json=body, headers=operator)
    assert response.status_code == 400
    assert "not a mobile number" in problem(response)["detail"]


async def test_acknowledging_twice_is_the_same_and_another_district_gets_404(
    client, operator, pool, settings, token_for
):
    case_id = await help_request(pool, Notifier(settings.notify), await enroll(pool), kst(24, "02:00"))
    worker = bearer(token_for(Role.social_worker, districts=("11110",)))
    first = await client.post(f"/v1/care/cases/{case_id}/acknowledge", headers=worker)
    again = await client.post(f"/v1/care/cases/{case_id}/acknowledge", headers=worker)
    assert first.status_code == again.status_code == 200
    assert first.json()["acknowledged_at"] == again.json()["acknowledged_at"]
    other = bearer(token_for(Role.social_worker, districts=("11680",)))
    assert (await client.post(f"/v1/care/cases/{case_id}/acknowledge", headers=other)).status_code == 404


# The chain as a rule, over any rota: with the district's shift naming D people and the night desk's N (some of
# them the same people), and an acknowledgement after the k-th step (or never),
# - the people told are the district's in order, then the night desk's not already named, each at most once;
# - the first is told at once, and each next one exactly one escalation time after the one before;
# - nobody is told after the acknowledgement.
@hypothesis_settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    district_size=st.integers(1, 3),
    desk=st.lists(st.integers(0, 4), min_size=1, max_size=3, unique=True),
    ack_after=st.one_of(st.none(), st.integers(0, 6)),
)
async def test_any_rota_tells_exactly_whom_the_rule_names_in_order_once_and_no_one_after_the_ack(
    pool, settings, district_size, desk, ack_after
):
    notifier = Notifier(settings.notify)
    async with pool.acquire() as conn:
        await conn.execute("TRUNCATE outbox, notices, case_escalations, cases, care_rota_shifts, job_runs CASCADE")
        people = await conn.fetch(
            """
            INSERT INTO staff (email, name, role, phone)
            SELECT 'p' || g || '-' || gen_random_uuid() || '@seoul.test', '당직' || g, 'operator',
                   '+82107' || lpad((floor(random() * 9999999))::int::text, 7, '0')
            FROM generate_series(0, 4) g RETURNING id, phone
            """
        )
        ids = [p["id"] for p in people]
        named_district = ids[:district_size]
        named_desk = [ids[i] for i in desk]
        shifts = [rota.Shift(0, rota.WEEK, tuple(named_district))]
        await conn.execute("DELETE FROM care_rota_shifts")
        await on_duty_repository.replace_rota(conn, district="11110", shifts=shifts)
        await on_duty_repository.replace_rota(conn, district=None, shifts=[rota.Shift(0, rota.WEEK, tuple(named_desk))])
        recipient = await conn.fetchval("SELECT id FROM care_recipients LIMIT 1")
    if recipient is None:
        recipient = await enroll(pool)
    start = kst(24, "03:00")
    case_id = await help_request(pool, notifier, recipient, start)
    expected = list(dict.fromkeys(named_district + named_desk))
    every = timedelta(minutes=settings.care.escalate_after_min)
    for step in range(1, len(expected) + 3):
        if ack_after is not None and step == ack_after + 1:
            async with pool.acquire() as conn:
                await conn.execute(
                    "UPDATE cases SET state = 'acknowledged', acknowledged_at = $2 WHERE id = $1", case_id, start
                )
        await escalate(pool, settings, start + step * every)
    phone_of = {p["id"]: p["phone"] for p in people}
    heard = await told(pool)
    upto = len(expected) if ack_after is None else min(len(expected), ack_after + 1)
    assert heard == [phone_of[i] for i in expected[:upto]]
    async with pool.acquire() as conn:
        times = [r["notified_at"] for r in await conn.fetch("SELECT notified_at FROM case_escalations ORDER BY step")]
    assert times == [start + i * every for i in range(len(times))]


async def test_a_worker_with_the_app_on_their_work_phone_gets_a_push_beside_the_sms(client, operator, pool, settings):
    [worker] = await add_staff(client, operator, 1)
    await set_rota(client, operator, "11110", [("mon 00:00", "mon 00:00", [worker])])
    await set_rota(client, operator, DESK, [("mon 00:00", "mon 00:00", [worker])])
    [phone] = await phones(pool, [worker])
    async with pool.acquire() as conn:
        citizen = await conn.fetchval("INSERT INTO citizens (phone) VALUES ($1) RETURNING id", phone)
        await conn.execute(
            "INSERT INTO devices (citizen_id, platform, fcm_token) VALUES ($1, 'android', $2)", citizen, "w" * 40
        )
    await help_request(pool, Notifier(settings.notify), await enroll(pool), kst(24, "02:00"))
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT channel, recipient, state FROM outbox WHERE template = 'care.on_duty' ORDER BY channel"
        )
    # Both pending at once: the SMS is not held back behind the push.
    assert [(r["channel"], r["recipient"], r["state"]) for r in rows] == [
        ("push", "w" * 40, "pending"),
        ("sms", phone, "pending"),
    ]
