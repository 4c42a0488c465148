"""A job's period can come from settings: the scheduler and the runner read it the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.platform.jobs.registry import JobContext, job
from api.platform.jobs.runner import run_job
from api.platform.settings import AlertSettings, Settings, SettingsError

NOW = datetime(2026, 11, 24, 0, 30, 45, tzinfo=UTC)


def _job(calls: list[datetime]):  # type: ignore[no-untyped-def]
    @job(
        "test.configured",
        every=timedelta(minutes=1),
        every_from=lambda s: timedelta(seconds=s.alerts.kma_poll_s),
    )
    async def configured(ctx: JobContext) -> dict[str, int]:
        """Count the runs."""
        calls.append(ctx.slot)
        return {"calls": len(calls)}

    return configured


def test_the_period_comes_from_settings_and_the_slots_follow_it() -> None:
    declared = _job([])
    settings = Settings(alerts=AlertSettings(kma_poll_s=15))
    assert declared.every == timedelta(minutes=1)
    configured = declared.for_settings(settings)
    assert configured.every == timedelta(seconds=15)
    assert configured.slot(NOW) == datetime(2026, 11, 24, 0, 30, 45, tzinfo=UTC)
    assert declared.slot(NOW) == datetime(2026, 11, 24, 0, 30, tzinfo=UTC)


def test_a_job_without_a_setting_keeps_its_declared_period() -> None:
    from api.worker import JOBS

    purge = JOBS["platform.purge-expired"]
    assert purge.for_settings(Settings()) is purge


async def test_the_runner_claims_the_configured_slot(pool, settings) -> None:
    calls: list[datetime] = []
    fast = Settings(db=settings.db, paths=settings.paths, auth=settings.auth, alerts=AlertSettings(kma_poll_s=15))
    first = await run_job(pool, _job(calls), now=NOW, settings=fast)
    second = await run_job(pool, _job(calls), now=NOW + timedelta(seconds=15), settings=fast)
    # With the declared one-minute period both times would fall in the 00:30 slot and the second would not run.
    assert (first.ran, second.ran) == (True, True)
    assert calls == [datetime(2026, 11, 24, 0, 30, 45, tzinfo=UTC), datetime(2026, 11, 24, 0, 31, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("env", "name"),
    [({"KMA_POLL_SECONDS": "0"}, "KMA_POLL_SECONDS"), ({"ALERTS_HTTP_TIMEOUT": "-1"}, "ALERTS_HTTP_TIMEOUT")],
)
def test_alert_settings_refuse_periods_that_are_not_positive(env: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)
