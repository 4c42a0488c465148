"""Slowing down wrong passwords where they come from, never locking the account: the rule, unlocks, notices.

A source is the client's address as the app sees it: uvicorn puts the address from ``X-Forwarded-For`` in
``request.client`` only when the connection comes from a proxy in ``FORWARDED_ALLOW_IPS``, so a client cannot
pick its own. The rule:

- each source may get a password wrong ``lockout_attempts`` times for one account; after that, each further
  try from it for that account must wait 2, 4, 8 … seconds after the last failure (at most
  ``lockout_max_wait_s``), and is answered 429 with Retry-After, unchecked and uncounted, until then;
- a source wrong ``lockout_source_attempts`` times across accounts waits the same way for every account, so
  trying one password on many accounts is slowed too;
- a failure counts for ``lockout_window_s``; a right password forgets its own source's failures, not others';
- a source the account signed in from in the last ``KNOWN_FOR`` is never made to wait: the right password
  from it always signs in, whatever other sources do. (Its wrong passwords still count, and tell the owner.)
- when a source reaches the limit for an account, its owner is told at their next sign-in; operators can lift
  a wait, for a source or for an account, in the console or with ``safecity staff unlock EMAIL``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import asyncpg
import msgspec

from api.console import signin_repository as repository
from api.platform.errors import NotFound, Problem
from api.platform.settings import ConsoleSettings

# Long enough to cover holidays and rotations between offices; short enough that an address a carrier has
# since given to someone else is soon forgotten.
KNOWN_FOR = timedelta(days=30)
_MAX_EXPONENT = 30  # 2**30 s is beyond any cap; keeps the arithmetic small


class SlowDown(Exception):
    """This source must wait ``retry_after_s`` before trying this account again."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"wait {retry_after_s} s")
        self.retry_after_s = retry_after_s


class SlowedSource(msgspec.Struct, frozen=True, kw_only=True):
    """A source and account at or past a limit, as operators see it."""

    source: str  # the hash in hex, for the unlock form
    label: str  # its first 8 hex digits, as the account's owner sees it too
    email: str
    is_account: bool
    failures: int
    source_failures: int
    last_at: datetime
    retry_at: datetime | None


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    label: str | None
    known_source: bool | None
    failures: int | None
    actor: str | None
    at: datetime


def label(source: bytes) -> str:
    return source.hex()[:8]


def _wait_until(count: int, last: datetime | None, free: int, settings: ConsoleSettings) -> datetime | None:
    if last is None or count < free:
        return None
    delay = min(2 ** min(count - free + 1, _MAX_EXPONENT), settings.lockout_max_wait_s)
    return last + timedelta(seconds=delay)


def retry_at(counts: asyncpg.Record, settings: ConsoleSettings) -> datetime | None:
    """When this source may next try this account, from its counts; None when no limit is reached."""
    times = [
        _wait_until(counts["pair_failures"], counts["pair_last"], settings.lockout_attempts, settings),
        _wait_until(counts["source_failures"], counts["source_last"], settings.lockout_source_attempts, settings),
    ]
    return max((t for t in times if t is not None), default=None)


async def check(
    conn: asyncpg.Connection, *, email: str, source: bytes, settings: ConsoleSettings, now: datetime
) -> None:
    """Raise ``SlowDown`` when this source must still wait before trying this account."""
    since = now - timedelta(seconds=settings.lockout_window_s)
    counts = await repository.failure_counts(conn, email=email, source=source, since=since)
    until = retry_at(counts, settings)
    if until is not None and until > now:
        raise SlowDown(max(1, math.ceil((until - now).total_seconds())))


async def slowed_sources(conn: asyncpg.Connection, *, settings: ConsoleSettings, now: datetime) -> list[SlowedSource]:
    """What operators may unlock: each source and account at or past a limit, latest first."""
    rows = await repository.slowed(
        conn,
        since=now - timedelta(seconds=settings.lockout_window_s),
        pair_limit=settings.lockout_attempts,
        source_limit=settings.lockout_source_attempts,
    )
    return [
        SlowedSource(
            source=r["source"].hex(),
            label=label(r["source"]),
            email=r["email"],
            is_account=r["staff_id"] is not None,
            failures=r["pair_failures"],
            source_failures=r["source_failures"],
            last_at=r["pair_last"],
            retry_at=retry_at(r, settings),
        )
        for r in rows
    ]


def parse_source(raw: str) -> bytes:
    """A source as the operators' form sends it back: 64 hex digits."""
    try:
        source = bytes.fromhex(raw.strip())
    except ValueError:
        source = b""
    if len(source) != 32:
        raise Problem("That is not a sign-in source from the list; reload the page and try again.")
    return source


async def unlock(
    conn: asyncpg.Connection, *, email: str | None, source: bytes | None, actor: str, now: datetime
) -> list[str]:
    """Lift the waits of an account (every source), a source (every account) or one pair; the emails it freed.

    The owners of the accounts freed are told, as of an attack: a wait they did not ask to lift is news.
    """
    if email is None and source is None:
        raise Problem("Say which account or source to unlock.")
    email = email.strip().lower() if email is not None else None
    async with conn.transaction():
        if email is not None and source is None and not await repository.staff_ids(conn, [email]):
            raise NotFound(f"There is no staff account {email}.", code="staff_not_found")
        freed = await repository.delete_failures(conn, email=email, source=source)
        for staff_id in await repository.staff_ids(conn, freed):
            await repository.insert_notice(conn, staff_id=staff_id, kind="unlocked", actor=actor, now=now)
    return freed


async def notices(conn: asyncpg.Connection, *, staff_id: int) -> list[Notice]:
    """What the staff member has not yet read about their own account, newest first."""
    return [
        Notice(
            kind=r["kind"],
            label=label(r["source"]) if r["source"] is not None else None,
            known_source=r["known_source"],
            failures=r["failures"],
            actor=r["actor"],
            at=r["at"],
        )
        for r in await repository.unseen_notices(conn, staff_id)
    ]


async def mark_seen(conn: asyncpg.Connection, *, staff_id: int, now: datetime) -> None:
    async with conn.transaction():
        await repository.mark_seen(conn, staff_id=staff_id, now=now)
