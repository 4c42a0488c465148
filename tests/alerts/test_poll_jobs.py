"""The KMA poll, run by the real job against a fake KMA and a real PostgreSQL: warnings end in the right state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import pytest

from api.alerts import jobs as alert_jobs
from api.alerts.kma import Command, KmaClient, WarningKind, WarningLevel
from api.alerts.kma_areas import KMA_AREA_DISTRICTS, NORTH_WEST, SOUTH_EAST
from api.alerts.sources import Tally, ingest_kma_warning, poll_kma
from api.platform.jobs.runner import run_job
from api.platform.settings import AlertSettings, Settings
from api.worker import JOBS
from fakes.kma import FakeKma
from notifications.service import Notifier

NOW = datetime(2026, 7, 14, 3, 0, tzinfo=UTC)  # 12:00 in Seoul
RAIN, WARNING = WarningKind.heavy_rain, WarningLevel.warning


@pytest.fixture(scope="module")
def fake_kma_server() -> Iterator[FakeKma]:
    fake = FakeKma()
    with fake.serve():
        yield fake


@pytest.fixture
def kma(fake_kma_server: FakeKma) -> FakeKma:
    fake_kma_server.reset()
    return fake_kma_server


@pytest.fixture(autouse=True)
def fresh_job_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alert_jobs, "_said_disabled", set())


def with_alerts(settings: Settings, **alerts: object) -> Settings:
    return msgspec.structs.replace(settings, alerts=AlertSettings(**alerts))  # type: ignore[arg-type]


@pytest.fixture
def kma_settings(settings: Settings, kma: FakeKma) -> Settings:
    return with_alerts(settings, kma_base_url=kma.url, kma_service_key=kma.service_key, http_timeout_s=2)


async def poll(pool: asyncpg.Pool, settings: Settings, at: datetime) -> dict[str, object]:
    run = await run_job(pool, JOBS["alerts.poll-kma"], now=at, settings=settings)
    assert run.ran
    assert run.result is not None
    return run.result


async def alerts(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT id, source, identifier, msg_type, districts, incidents, replaced_by, expires, texts"
            " FROM alerts ORDER BY id"
        )


async def outbox_count(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM outbox")


def counts(result: dict[str, object]) -> tuple[object, ...]:
    return result["created"], result["duplicate"], result["ignored"], result["skipped"]


async def test_issue_extend_lift_ends_cancelled_and_a_repoll_creates_nothing(pool, kma, kma_settings) -> None:
    kma.issue(SOUTH_EAST, RAIN, WARNING, Command.issue, NOW - timedelta(hours=3))
    first = await poll(pool, kma_settings, NOW)
    assert counts(first) == (1, 0, 0, 0) and first["errors"] == []
    assert first["deliveries"] > 0
    (issued,) = await alerts(pool)
    assert (issued["source"], issued["msg_type"], issued["replaced_by"]) == ("kma", "Alert", None)
    assert set(issued["districts"]) == KMA_AREA_DISTRICTS[SOUTH_EAST]
    assert issued["incidents"] == ["kma:L1100100:heavy_rain:warning"]
    assert issued["texts"]["ko"]["headline"] == "서울동남권 호우경보 발표"

    kma.issue(SOUTH_EAST, RAIN, WARNING, Command.extend, NOW + timedelta(hours=1))
    second = await poll(pool, kma_settings, NOW + timedelta(hours=1, minutes=1))
    assert counts(second) == (1, 1, 0, 0)
    issued, extended = await alerts(pool)
    assert (extended["msg_type"], extended["replaced_by"]) == ("Update", None)
    assert issued["replaced_by"] == extended["id"]
    assert extended["expires"] == NOW + timedelta(hours=25)

    kma.issue(SOUTH_EAST, RAIN, WARNING, Command.lift, NOW + timedelta(hours=5))
    third = await poll(pool, kma_settings, NOW + timedelta(hours=5, minutes=1))
    assert counts(third) == (1, 2, 0, 0)
    issued, extended, lifted = await alerts(pool)
    assert lifted["msg_type"] == "Cancel"
    assert extended["replaced_by"] == lifted["id"]
    assert lifted["texts"]["en"]["headline"] == "Heavy rain warning for south-east Seoul lifted"

    sent_so_far = await outbox_count(pool)
    again = await poll(pool, kma_settings, NOW + timedelta(hours=5, minutes=2))
    assert counts(again) == (0, 3, 0, 0)
    assert again["deliveries"] == 0
    assert len(await alerts(pool)) == 3
    assert await outbox_count(pool) == sent_so_far


async def test_a_lift_or_extension_of_nothing_in_force_is_skipped_and_the_rest_goes_on(pool, kma, kma_settings) -> None:
    kma.issue(NORTH_WEST, WarningKind.heat_wave, WARNING, Command.lift, NOW - timedelta(hours=2))
    kma.issue(NORTH_WEST, WarningKind.cold_wave, WarningLevel.advisory, Command.extend, NOW - timedelta(hours=2))
    kma.issue(SOUTH_EAST, RAIN, WarningLevel.advisory, Command.issue, NOW - timedelta(hours=1))
    result = await poll(pool, kma_settings, NOW)
    assert counts(result) == (1, 0, 0, 2)
    reasons = [s["reason"] for s in result["skips"]]  # type: ignore[union-attr]
    assert all("no alert of that warning is in force" in r for r in reasons)
    assert [a["msg_type"] for a in await alerts(pool)] == ["Alert"]


async def test_a_change_of_level_lifts_the_advisory_and_issues_the_warning(pool, kma, kma_settings) -> None:
    kma.issue(SOUTH_EAST, RAIN, WarningLevel.advisory, Command.issue, NOW - timedelta(hours=4))
    await poll(pool, kma_settings, NOW - timedelta(hours=3))
    at = NOW - timedelta(hours=1)
    kma.issue(SOUTH_EAST, RAIN, WarningLevel.advisory, Command.change_lift, at, seq=90)
    kma.issue(SOUTH_EAST, RAIN, WARNING, Command.change_issue, at, seq=90)
    result = await poll(pool, kma_settings, NOW)
    assert counts(result) == (2, 1, 0, 0)
    advisory, *changed = await alerts(pool)
    by_type = {a["msg_type"]: a for a in changed}
    assert advisory["replaced_by"] == by_type["Cancel"]["id"]
    assert by_type["Alert"]["incidents"] == ["kma:L1100100:heavy_rain:warning"]
    assert by_type["Alert"]["replaced_by"] is None


async def test_a_withdrawn_announcement_cancels_its_own_alert(pool, kma, kma_settings) -> None:
    at = NOW - timedelta(hours=2)
    kma.issue(SOUTH_EAST, RAIN, WARNING, Command.issue, at, seq=7)
    await poll(pool, kma_settings, NOW)
    kma.reset()
    kma.issue(SOUTH_EAST, RAIN, WARNING, Command.issue, at, seq=7, cancel=True)
    result = await poll(pool, kma_settings, NOW + timedelta(minutes=1))
    assert counts(result) == (1, 0, 0, 0)
    issued, withdrawn = await alerts(pool)
    assert withdrawn["msg_type"] == "Cancel"
    assert withdrawn["identifier"] == f"{issued['identifier']}:withdrawn"
    assert issued["replaced_by"] == withdrawn["id"]


async def test_a_withdrawal_of_an_announcement_never_read_is_a_skip(pool, kma, kma_settings) -> None:
    kma.issue(SOUTH_EAST, RAIN, WARNING, Command.issue, NOW - timedelta(hours=2), cancel=True)
    result = await poll(pool, kma_settings, NOW)
    assert counts(result) == (0, 0, 0, 1)
    assert "refers to no alert stored here" in result["skips"][0]["reason"]  # type: ignore[index]
    assert await alerts(pool) == []


async def test_an_area_outside_seoul_is_ignored(pool, kma, kma_settings) -> None:
    kma.issue("L1020100", RAIN, WARNING, Command.issue, NOW - timedelta(hours=1))
    (busan,) = await KmaClient(kma.url, kma.service_key).warnings(
        since=NOW - timedelta(hours=2), now=NOW, areas=["L1020100"]
    )
    tally = Tally()
    async with pool.acquire() as conn:
        await ingest_kma_warning(conn, busan, notifier=_notifier(kma_settings), now=NOW, tally=tally)
    assert (tally.created, tally.ignored) == (0, 1)
    assert await alerts(pool) == []


async def test_every_page_is_read(pool, kma, kma_settings) -> None:
    for hours in range(1, 6):
        kind = list(WarningKind)[hours]
        kma.issue(SOUTH_EAST, kind, WarningLevel.advisory, Command.issue, NOW - timedelta(hours=hours))
    client = KmaClient(kma.url, kma.service_key, page_size=2)
    tally = await poll_kma(pool, client, window=timedelta(hours=24), notifier=_notifier(kma_settings), now=NOW)
    assert tally.created == 5
    pages = [q["pageNo"] for q in kma.queries if q["areaCode"] == SOUTH_EAST]
    assert pages == ["1", "2", "3"]


async def test_no_data_is_a_quiet_poll(pool, kma, kma_settings) -> None:
    result = await poll(pool, kma_settings, NOW)
    assert counts(result) == (0, 0, 0, 0) and result["errors"] == []
    assert len(kma.queries) == 4  # each of Seoul's four areas answered "03 no data"


@pytest.mark.parametrize(
    ("trouble", "expected"),
    [
        ("bad_key", "KMA result code 30: SERVICE_KEY_IS_NOT_REGISTERED_ERROR"),
        ("quota", "KMA result code 22"),
        ("down", "KMA getPwnCd answered HTTP 503"),
        ("slow", "ReadTimeout"),
    ],
)
async def test_kma_failures_are_reported_and_the_next_poll_goes_on(
    pool, kma, kma_settings, trouble: str, expected: str
) -> None:
    kma.issue(SOUTH_EAST, RAIN, WARNING, Command.issue, NOW - timedelta(hours=1))
    troubled = kma_settings
    if trouble == "bad_key":
        troubled = with_alerts(kma_settings, kma_base_url=kma.url, kma_service_key="not-the-key")
    elif trouble == "quota":
        kma.fail_next(1, "22")
    elif trouble == "down":
        kma.down()
    else:
        kma.delay(1.0)
        troubled = with_alerts(kma_settings, kma_base_url=kma.url, kma_service_key=kma.service_key, http_timeout_s=0.2)
    failed = await poll(pool, troubled, NOW)
    assert counts(failed) == (0, 0, 0, 0)
    (error,) = failed["errors"]  # type: ignore[misc]
    assert error["source"] == "kma" and expected in error["reason"]
    if trouble == "bad_key":
        assert (error["code"], error["transient"]) == ("30", "false")
    assert await alerts(pool) == []

    kma.down(False)
    kma.delay(0)
    recovered = await poll(pool, kma_settings, NOW + timedelta(minutes=1))
    assert counts(recovered) == (1, 0, 0, 0)


async def test_without_a_service_key_the_kma_poll_is_off(pool, settings, kma) -> None:
    result = await poll(pool, with_alerts(settings, kma_base_url=kma.url), NOW)
    assert result == {"disabled": "KMA_SERVICE_KEY is not set"}
    assert kma.queries == []


def test_the_poll_intervals_come_from_settings() -> None:
    settings = Settings(alerts=AlertSettings(kma_poll_s=30, cap_poll_s=120))
    assert JOBS["alerts.poll-kma"].for_settings(settings).every == timedelta(seconds=30)
    assert JOBS["alerts.poll-cap-feeds"].for_settings(settings).every == timedelta(minutes=2)
    defaults = Settings.from_env({})
    assert JOBS["alerts.poll-kma"].for_settings(defaults).every == timedelta(seconds=60)
    assert defaults.alerts.kma_window_hours == 24
    assert Settings.from_env({"CAP_FEED_URLS": " https://a.test/f.atom, ,https://b.test/x.cap "}).alerts.feed_urls == [
        "https://a.test/f.atom",
        "https://b.test/x.cap",
    ]


def _notifier(settings: Settings) -> Notifier:
    return Notifier(settings.notify)
