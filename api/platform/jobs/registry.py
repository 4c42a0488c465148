"""What a scheduled job is, and the slot it runs for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from api.platform.settings import Settings

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a job run gets: its connection (inside the run's transaction), the time it runs as, and settings."""

    conn: asyncpg.Connection
    now: datetime
    slot: datetime
    settings: Settings
    # For work that must not sit inside the run's transaction (calling the chatbot, whose actions call the API).
    pool: asyncpg.Pool | None = None


JobFunc = Callable[[JobContext], Awaitable[dict[str, Any]]]
IntervalFrom = Callable[[Settings], timedelta]


@dataclass(frozen=True, slots=True)
class Job:
    """A job that runs once per ``every``-long slot, slots aligned to 2000-01-01T00:00Z.

    ``every_from``, when given, reads the period from settings; ``for_settings`` applies it, and the scheduler
    and the runner both go through it, so they agree on the slots.
    """

    name: str
    every: timedelta
    run: JobFunc
    description: str
    every_from: IntervalFrom | None = None

    def for_settings(self, settings: Settings) -> Job:
        """This job with its period as ``settings`` configure it."""
        if self.every_from is None:
            return self
        every = self.every_from(settings)
        if every <= timedelta(0):
            raise ValueError(f"job {self.name}: the configured period {every} is not positive")
        return replace(self, every=every)

    def slot(self, now: datetime) -> datetime:
        """The start of the slot that ``now`` falls in."""
        periods = (now - EPOCH) // self.every
        return EPOCH + periods * self.every


def job(name: str, *, every: timedelta, every_from: IntervalFrom | None = None) -> Callable[[JobFunc], Job]:
    """Declare a scheduled job beside its domain: ``@job("platform.purge-expired", every=timedelta(hours=1))``.

    ``every`` is the default period; ``every_from`` (settings → period) makes it configurable.
    """

    def wrap(func: JobFunc) -> Job:
        summary = (func.__doc__ or name).strip().splitlines()[0]
        return Job(name=name, every=every, run=func, description=summary, every_from=every_from)

    return wrap
