"""A warning is told in parts, each committed on its own: a part that fails (its statement past a timeout) rolls
back alone, the people of the other parts are told all the same, and the worker writes the failed part later,
once, from what the alert's transaction kept."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import api.alerts.fanout
import api.alerts.fanouts_repository
from api.alerts.cap import parse_cap
from api.alerts.service import finish_fanout, ingest
from api.platform.auth.tokens import Principal, Role
from api.platform.jobs.runner import run_job
from api.platform.settings import NotifySettings, Settings
from api.worker import JOBS
from care import service as care
from care.schemas import GuardianIn, PlanIn, RecipientCreate
from notifications.service import Notifier
from tests.alerts import cap_xml

NOW = datetime(2026, 7, 14, 3, 0, tzinfo=UTC)
WORKER = Principal(subject="staff:1", role=Role.social_worker, districts=("11680",))
PERSON, WITH_APP, WITHOUT_APP = "+821044440001", "+821011110001", "+821011110002"
CARE_TEMPLATES = ("alerts.personal", "alerts.are_you_safe")


async def city(pool: asyncpg.Pool) -> None:
    """In 강남구: a citizen with the app, one without, and a person in care (by SMS) with a guardian."""
    async with pool.acquire() as conn, conn.transaction():
        for phone in (WITH_APP, WITHOUT_APP):
            await conn.execute("INSERT INTO citizens (phone, district, language) VALUES ($1, '11680', 'ko')", phone)
        await conn.execute(
            "INSERT INTO devices (citizen_id, platform, fcm_token)"
            " SELECT id, 'android', $2 FROM citizens WHERE phone = $1",
            WITH_APP,
            "t" * 40,
        )
        data = RecipientCreate(
            name="최말순",
            phone=PERSON,
            district="11680",
            address="서울 강남구 일원로 1",
            guardians=[GuardianIn(name="최민호", phone="+821044440002", relation="아들")],
            plan=PlanIn(times=["21:00"]),
        )
        await care.enroll(conn, data=data, principal=WORKER, now=NOW - timedelta(days=1))


@pytest.fixture
async def people(pool: asyncpg.Pool) -> None:
    await city(pool)


async def messages(pool: asyncpg.Pool) -> list[tuple[str, str, str, str]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT channel, recipient, template, body FROM outbox ORDER BY id")
    return [(r["channel"], r["recipient"], r["template"], r["body"]) for r in rows]


async def kept(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch("SELECT alert_id, parts, attempts, last_error FROM alert_fanouts ORDER BY alert_id")


async def finish(pool: asyncpg.Pool, settings: Settings, minutes: int) -> dict:
    run = await run_job(pool, JOBS["alerts.finish-fanouts"], now=NOW + timedelta(minutes=minutes), settings=settings)
    return run.result or {}


async def test_a_care_part_past_its_timeout_still_tells_the_citizens_and_is_written_later(
    pool, settings, people
) -> None:
    notifier = Notifier(settings.notify)
    async with pool.acquire() as blocker, pool.acquire() as conn:
        # Another transaction holds the safety checks, so the care part's insert waits on it: with a short lock
        # timeout on the ingest's connection, that statement fails as a statement past a timeout would.
        hold = blocker.transaction()
        await hold.start()
        await blocker.execute("LOCK TABLE safety_checks IN SHARE MODE")
        await conn.execute("SET lock_timeout = '50ms'")
        try:
            result = await ingest(conn, parse_cap(cap_xml("rain", sent=NOW)), source="post", notifier=notifier, now=NOW)
        finally:
            await hold.rollback()
            await conn.execute("RESET lock_timeout")

    assert result.outcome == "created"
    assert result.safety_checks == 0
    sent = await messages(pool)
    # The citizens are told: the district's topic reaches the app, an SMS the citizen without it.
    assert ("push", "district-11680", "alerts.warning") in [m[:3] for m in sent]
    assert ("sms", WITHOUT_APP, "alerts.warning") in [m[:3] for m in sent]
    # The person in care is not told yet, and nothing of the care part was half-written.
    assert not [m for m in sent if m[1] == PERSON]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM safety_checks") == 0
    [left] = await kept(pool)
    assert (left["alert_id"], left["parts"], left["attempts"]) == (result.alert_id, ["care"], 1)
    assert "LockNotAvailable" in left["last_error"]

    retried = await finish(pool, settings, 1)

    assert retried == {"alerts": 1, "deliveries": 1, "safety_checks": 1, "flood_checks": 0, "left": 0}
    after = await messages(pool)
    assert after[: len(sent)] == sent
    assert [m[:3] for m in after[len(sent) :]] == [("sms", PERSON, "alerts.are_you_safe")]
    async with pool.acquire() as conn:
        check = await conn.fetchrow("SELECT asked_at, due_at FROM safety_checks")
    # Dated from the ingest, not from the retry: the ladder runs from when the warning came.
    assert (check["asked_at"], check["due_at"]) == (NOW, NOW + timedelta(minutes=15))
    assert await kept(pool) == []
    assert await finish(pool, settings, 2) == {
        "alerts": 0,
        "deliveries": 0,
        "safety_checks": 0,
        "flood_checks": 0,
        "left": 0,
    }
    assert await messages(pool) == after


async def in_order_of_sending(pool: asyncpg.Pool) -> list[tuple[str, str, str]]:
    """The rows as the dispatcher claims them: by channel, urgent first, then by when due, then as written."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT channel, recipient, template FROM outbox ORDER BY channel, priority, next_attempt_at, id"
        )
    return [(r["channel"], r["recipient"], r["template"]) for r in rows]


@pytest.mark.parametrize("side_by_side", [False, True], ids=["one connection", "two lanes"])
async def test_the_people_in_care_are_sent_before_the_broadcast_and_nothing_is_left(
    pool, settings, people, side_by_side
) -> None:
    async with pool.acquire() as conn:
        result = await ingest(
            conn,
            parse_cap(cap_xml("rain", sent=NOW)),
            source="post",
            notifier=Notifier(settings.notify),
            now=NOW,
            pool=pool if side_by_side else None,
        )

    assert (result.deliveries, result.safety_checks) == (3, 1)
    # The person in care, then the district's SMS, whichever was written first: care does not wait behind a
    # broadcast.
    assert await in_order_of_sending(pool) == [
        ("push", "district-11680", "alerts.warning"),
        ("sms", PERSON, "alerts.are_you_safe"),
        ("sms", WITHOUT_APP, "alerts.warning"),
    ]
    assert await kept(pool) == []


async def test_a_part_another_process_is_writing_is_left_to_it_and_the_others_are_written(
    pool, settings, people
) -> None:
    notifier = Notifier(settings.notify)
    async with pool.acquire() as conn, conn.transaction():
        # The alert alone, its parts kept for later (as a warning source writes it).
        result = await ingest(
            conn, parse_cap(cap_xml("rain", sent=NOW)), source="post", notifier=notifier, now=NOW, defer_parts=True
        )
    async with pool.acquire() as other, pool.acquire() as conn:
        # Another process is writing the care part: it holds that part's lock.
        busy = other.transaction()
        await busy.start()
        assert await api.alerts.fanouts_repository.take(other, result.alert_id, "care") is not None
        try:
            told = await finish_fanout(conn, alert_id=result.alert_id, notifier=notifier, pool=pool)
        finally:
            await busy.rollback()

    assert told.safety_checks == 0
    assert not [m for m in await messages(pool) if m[1] == PERSON]
    assert ("sms", WITHOUT_APP, "alerts.warning") in [m[:3] for m in await messages(pool)]
    [left] = await kept(pool)
    assert (left["parts"], left["attempts"]) == (["care"], 0)

    assert (await finish(pool, settings, 1))["safety_checks"] == 1
    assert await kept(pool) == []
    assert await in_order_of_sending(pool) == [
        ("push", "district-11680", "alerts.warning"),
        ("sms", PERSON, "alerts.are_you_safe"),
        ("sms", WITHOUT_APP, "alerts.warning"),
    ]


@contextmanager
def failing(parts: dict[str, int]) -> Iterator[None]:
    """Each part named fails its next ``parts[name]`` attempts (raised inside its transaction)."""
    real = api.alerts.fanout.tell_part
    left = dict(parts)

    async def tell_part(conn, part, **kwargs):  # type: ignore[no-untyped-def]
        if left.get(part, 0) > 0:
            left[part] -= 1
            await real(conn, part, **kwargs)  # written, then lost with the rollback: a failure at the very end
            raise TimeoutError(f"{part} took too long")
        return await real(conn, part, **kwargs)

    api.alerts.fanout.tell_part = tell_part  # type: ignore[assignment]
    try:
        yield
    finally:
        api.alerts.fanout.tell_part = real


async def clear(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM notices; DELETE FROM alerts; DELETE FROM job_runs")


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    failures=st.dictionaries(st.sampled_from(["care", "flood", "district_sms"]), st.integers(min_value=1, max_value=2)),
    severity=st.sampled_from(["Severe", "Moderate"]),
    side_by_side=st.booleans(),
)
async def test_whatever_parts_fail_everyone_is_told_once_in_the_end(
    pool, settings, people, failures, severity, side_by_side
) -> None:
    """Invariants, for any parts failing any number of times, written one after the other or in two lanes side
    by side: the alert and its topic are committed whatever fails; every part that did not fail is written in
    full at the ingest; once the worker has retried as often as parts failed, the outbox and the safety checks
    hold exactly what an ingest with no failure writes, each message once; and the person in care is sent
    before the district's broadcast."""
    notifier = Notifier(NotifySettings())
    xml = cap_xml("rain", sent=NOW, severity=severity)
    await clear(pool)
    async with pool.acquire() as conn, conn.transaction():
        # The reference: all of it in one transaction of the caller's, as before parts existed.
        await ingest(conn, parse_cap(xml), source="post", notifier=notifier, now=NOW)
    expected = Counter(await messages(pool))
    async with pool.acquire() as conn:
        expected_checks = await conn.fetchval("SELECT count(*) FROM safety_checks")
    await clear(pool)

    with failing(failures):
        async with pool.acquire() as conn:
            await ingest(
                conn, parse_cap(xml), source="post", notifier=notifier, now=NOW, pool=pool if side_by_side else None
            )
        first = Counter(await messages(pool))
        assert ("push", "district-11680") in {m[:2] for m in first}
        written = {"care" if m[2] in CARE_TEMPLATES else "district_sms" for m in first if m[0] == "sms"}
        assert written == {"care", "district_sms"} - failures.keys()
        assert first <= expected
        for minute in range(max(failures.values(), default=0)):
            await finish(pool, settings, minute)

    assert Counter(await messages(pool)) == expected
    assert max(expected.values()) == 1
    sms = [m[1] for m in await in_order_of_sending(pool) if m[0] == "sms"]
    assert sms.index(PERSON) < sms.index(WITHOUT_APP)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM safety_checks") == expected_checks
    assert await kept(pool) == []
