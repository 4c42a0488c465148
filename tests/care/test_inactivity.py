"""The inactivity watch: a home that goes quiet starts a ladder even with no check-in due, says which rule fired,
and ends at any sign of life; a device that stops its heartbeat is a device problem, not the person's silence.

Invariants (hypothesis, ``test_the_limit_rule_over_random_people``), for people with random limits and random signs
of life, and one sweep at a random time:
1. Someone with a sign of life (or their enrolment) within their limit gets no episode.
2. Someone silent for longer than their limit gets one at that sweep, so within one sweep period of passing it,
   and its rule is ``inactivity_limit`` with their limit and last sign of life.
3. A second sweep at the same time starts nothing more: one episode per silence.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.platform.auth.tokens import Principal, Role
from api.platform.settings import NotifySettings
from care import service
from care.passive import devices, inactivity
from care.schemas import GuardianIn, HeartbeatIn, PauseIn, PlanIn, RecipientCreate
from notifications.service import Notifier

SEOUL = ZoneInfo("Asia/Seoul")
WORKER = Principal(subject="staff:1", role=Role.social_worker, districts=("11110",))
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=SEOUL)
NOTIFIER = Notifier(NotifySettings())


async def enrol(conn: asyncpg.Connection, *, phone: str = "010-1234-0000", hours: int = 24, at: datetime = T0) -> int:
    data = RecipientCreate(
        name="김순자",
        phone=phone,
        district="11110",
        address="서울 종로구 세종대로 1",
        guardians=[GuardianIn(name="김민수", phone="010-9876-0000", relation="아들")],
        # One check-in a week, on Sundays: most days nothing is scheduled at all.
        plan=PlanIn(times=["09:00"], days=[7], inactivity_hours=hours),
    )
    return (await service.enroll(conn, data=data, principal=WORKER, now=at)).id


async def signal(conn: asyncpg.Connection, recipient_id: int, at: datetime, device: str = "motion-1") -> None:
    await service.check_in(
        conn,
        notifier=NOTIFIER,
        recipient_id=recipient_id,
        channel="sensor",
        kind="signal",
        at=at,
        body="motion",
        device_id=f"{device}-{recipient_id}",
    )


async def sweep(conn: asyncpg.Connection, at: datetime) -> dict[str, int]:
    return await inactivity.sweep(conn, notifier=NOTIFIER, now=at)


async def templates(conn: asyncpg.Connection) -> list[str]:
    return [r["template"] for r in await conn.fetch("SELECT template FROM outbox ORDER BY id")]


async def test_a_quiet_home_starts_the_ladder_after_its_limit_with_no_check_in_due_and_the_case_says_why(pool):
    async with pool.acquire() as conn:
        person = await enrol(conn)
        await signal(conn, person, T0 + timedelta(hours=2))
        assert (await sweep(conn, T0 + timedelta(hours=25)))["started"] == 0  # 23 h since the last motion
        started = await sweep(conn, T0 + timedelta(hours=26, minutes=5))
        assert (started["started"], started["rule_inactivity_limit"]) == (1, 1)
        assert await templates(conn) == ["inactivity.ask"]

        at = T0 + timedelta(hours=26, minutes=5)
        for minutes in (30, 60, 90, 210):  # asked again, the first guardian, a case, urgent
            await sweep(conn, at + timedelta(minutes=minutes))
        case = await conn.fetchrow("SELECT reason, priority, rule, rule_detail FROM cases")
        assert (case["reason"], case["priority"], case["rule"]) == ("inactivity", "urgent", "inactivity_limit")
        assert case["rule_detail"]["limit_hours"] == 24
        assert datetime.fromisoformat(case["rule_detail"]["last_life_at"]) == T0 + timedelta(hours=2)
        assert (await templates(conn))[1:3] == ["inactivity.ask_again", "inactivity.guardian"]
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE template = 'inactivity.guardian_urgent'") == 1


async def test_a_sign_of_life_ends_the_episode_quiets_it_and_clears_the_case(pool):
    async with pool.acquire() as conn:
        person = await enrol(conn, hours=6)  # a limit set for this person
        fired = T0 + timedelta(hours=6, minutes=5)
        assert (await sweep(conn, fired))["started"] == 1
        for minutes in (30, 60, 90):
            await sweep(conn, fired + timedelta(minutes=minutes))
        await signal(conn, person, fired + timedelta(minutes=100))
        assert await conn.fetchval("SELECT all_clear_at IS NOT NULL FROM cases WHERE reason = 'inactivity'")
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE template = 'care.all_clear'") == 1
        before = await templates(conn)
        later = await sweep(conn, fired + timedelta(hours=4))
        assert later["started"] == 0 and await templates(conn) == before  # nothing more of the answered episode


async def test_far_fewer_events_than_usual_fires_the_pattern_rule_before_the_limit(pool):
    async with pool.acquire() as conn:
        start = T0 - timedelta(days=8)
        person = await enrol(conn, at=start)
        for day in range(8):  # a week of mornings: about 10 movements between 08:00 and 14:00 every day
            for minute in range(0, 360, 36):
                await signal(conn, person, start.replace(hour=8) + timedelta(days=day, minutes=minute))
        # Today: one movement at 08:10, then nothing. By 14:05 the last six hours hold 1 where 10 are usual.
        await signal(conn, person, T0.replace(hour=8, minute=10))
        # At 09:05 the last six hours usually hold two movements: too few to call half of them silence.
        assert (await sweep(conn, T0.replace(hour=9, minute=5)))["started"] == 0
        started = await sweep(conn, T0.replace(hour=14, minute=5))
        assert (started["started"], started["rule_below_usual"]) == (1, 1)
        detail = await conn.fetchval("SELECT detail FROM inactivity_watches")
        assert (detail["window_hours"], detail["events"], detail["history_days"]) == (6, 1, 7)
        assert float(detail["usual"]) >= 8


async def test_a_silent_device_is_a_device_problem_for_the_social_worker_and_clears_when_heard(pool):
    async with pool.acquire() as conn:
        person = await enrol(conn)
        await service.heartbeat(
            conn,
            data=HeartbeatIn(recipient_id=person, device_id="plug-1", silent_after_minutes=120),
            now=T0,
        )
        assert (await devices.sweep(conn, now=T0 + timedelta(minutes=110)))["silent"] == 0
        swept = await devices.sweep(conn, now=T0 + timedelta(minutes=125))
        assert swept == {"silent": 1, "cases": 1}
        assert (await devices.sweep(conn, now=T0 + timedelta(minutes=200)))["silent"] == 0  # told once
        case = await conn.fetchrow("SELECT reason, priority, rule, device_id, rule_detail FROM cases")
        assert (case["reason"], case["priority"], case["rule"], case["device_id"]) == (
            "sensor_fault",
            "normal",
            "no_heartbeat",
            "plug-1",
        )
        # A device problem, not the person's silence: nobody in the family is alarmed, no one on duty is told.
        assert await templates(conn) == []
        await service.heartbeat(
            conn, data=HeartbeatIn(recipient_id=person, device_id="plug-1"), now=T0 + timedelta(hours=4)
        )
        assert await conn.fetchval("SELECT all_clear_at IS NOT NULL FROM cases WHERE reason = 'sensor_fault'")


people = st.lists(
    st.tuples(
        st.integers(1, 30),  # the person's limit in hours
        st.lists(st.integers(0, 48 * 60), max_size=4),  # minutes after enrolment when a sensor saw them
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(people=people, sweep_after=st.integers(30, 48 * 60))
async def test_the_limit_rule_over_random_people(pool, people, sweep_after) -> None:
    now = T0 + timedelta(minutes=sweep_after)
    async with pool.acquire() as conn:
        await conn.execute("TRUNCATE care_recipients, outbox CASCADE")
        expected = {}
        for i, (hours, seen) in enumerate(people):
            person = await enrol(conn, phone=f"010-1234-{i:04d}", hours=hours)
            times = sorted(T0 + timedelta(minutes=m) for m in seen if T0 + timedelta(minutes=m) <= now)
            for at in times:
                await signal(conn, person, at)
            last = times[-1] if times else T0
            expected[person] = now - last > timedelta(hours=hours)
        await sweep(conn, now)
        watches = {r["recipient_id"]: r for r in await conn.fetch("SELECT * FROM inactivity_watches")}
        for person, silent in expected.items():
            assert (person in watches) is silent, (person, people)  # 1 and 2
            if silent:
                assert watches[person]["rule"] == "inactivity_limit"
        assert (await sweep(conn, now))["started"] == 0  # 3


async def test_a_pause_is_not_silence_and_a_resume_restarts_the_clock(pool):
    async with pool.acquire() as conn:
        person = await enrol(conn)
        data = PauseIn(until=T0 + timedelta(days=10), reason="입원")
        await service.pause(conn, recipient_id=person, data=data, principal=WORKER, now=T0 + timedelta(hours=1))
        assert (await sweep(conn, T0 + timedelta(days=3)))["started"] == 0  # in hospital
        await service.resume(conn, recipient_id=person, principal=WORKER, now=T0 + timedelta(days=4))
        assert (await sweep(conn, T0 + timedelta(days=4, hours=23)))["started"] == 0
        assert (await sweep(conn, T0 + timedelta(days=5, minutes=5)))["started"] == 1
