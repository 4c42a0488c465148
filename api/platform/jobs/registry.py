"""What a scheduled job is, and the slot it runs for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, overload

import asyncpg

from api.platform.settings import Settings

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PoolContext:
    """What a job run outside the slot's transaction gets: the pool, the time it runs as, and settings.

    No connection is held for it: it takes one from the pool for each short transaction, and none while it
    waits on the network.
    """

    pool: asyncpg.Pool
    now: datetime
    slot: datetime
    settings: Settings


@dataclass(frozen=True, slots=True)
class JobContext(PoolContext):
    """What a job run inside the slot's transaction gets: that transaction's connection besides.

    The pool is for work that must not sit inside that transaction (calling the chatbot, whose actions call the API).
    """

    conn: asyncpg.Connection


JobFunc = Callable[[JobContext], Awaitable[dict[str, Any]]]
PoolJobFunc = Callable[[PoolContext], Awaitable[dict[str, Any]]]
IntervalFrom = Callable[[Settings], timedelta]


@dataclass(frozen=True, slots=True)
class Job:
    """A job that runs once per ``every``-long slot, slots aligned to 2000-01-01T00:00Z.

    ``every_from``, when given, reads the period from settings; ``for_settings`` applies it, and the scheduler
    and the runner both go through it, so they agree on the slots. ``transaction`` says how the runner runs it:
    inside the slot's transaction (``run`` takes a ``JobContext``), or outside any (``run`` takes a
    ``PoolContext``), for a job that waits on the network.
    """

    name: str
    every: timedelta
    run: JobFunc | PoolJobFunc
    description: str
    every_from: IntervalFrom | None = None
    transaction: bool = True

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


@overload
def job(
    name: str, *, every: timedelta, every_from: IntervalFrom | None = None, transaction: Literal[True] = True
) -> Callable[[JobFunc], Job]: ...


@overload
def job(
    name: str, *, every: timedelta, every_from: IntervalFrom | None = None, transaction: Literal[False]
) -> Callable[[PoolJobFunc], Job]: ...


def job(
    name: str, *, every: timedelta, every_from: IntervalFrom | None = None, transaction: bool = True
) -> Callable[[Any], Job]:
    """Declare a scheduled job beside its domain: ``@job("platform.purge-expired", every=timedelta(hours=1))``.

    ``every`` is the default period; ``every_from`` (settings → period) makes it configurable. A job that
    calls the network says ``transaction=False``: it is run with the pool and no transaction open (see
    ``api.platform.jobs.runner``).
    """

    def wrap(func: JobFunc | PoolJobFunc) -> Job:
        summary = (func.__doc__ or name).strip().splitlines()[0]
        return Job(
            name=name, every=every, run=func, description=summary, every_from=every_from, transaction=transaction
        )

    return wrap
