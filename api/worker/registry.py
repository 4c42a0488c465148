"""What a scheduled job is, and the slot it runs for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from api.settings import Settings

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a job run gets: its connection (inside the run's transaction), the time it runs as, and settings."""

    conn: asyncpg.Connection
    now: datetime
    slot: datetime
    settings: Settings


JobFunc = Callable[[JobContext], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Job:
    """A job that runs once per ``every``-long slot, slots aligned to 2000-01-01T00:00Z."""

    name: str
    every: timedelta
    run: JobFunc
    description: str

    def slot(self, now: datetime) -> datetime:
        """The start of the slot that ``now`` falls in."""
        periods = (now - EPOCH) // self.every
        return EPOCH + periods * self.every


def job(name: str, *, every: timedelta) -> Callable[[JobFunc], Job]:
    """Declare a scheduled job beside its domain: ``@job("platform.purge-expired", every=timedelta(hours=1))``."""

    def wrap(func: JobFunc) -> Job:
        summary = (func.__doc__ or name).strip().splitlines()[0]
        return Job(name=name, every=every, run=func, description=summary)

    return wrap
