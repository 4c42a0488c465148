"""Signing in to the console: the password checked with argon2, lock-out after repeated failures, sessions."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timedelta
from functools import cache

import asyncpg
import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.console import repository
from api.console.sessions import new_token, token_hash
from api.platform.settings import ConsoleSettings

_hasher = PasswordHasher()


class SignInRefused(Exception):
    """Wrong email or password, or no password, or a deactivated account: the same answer for each."""


class LockedOut(Exception):
    """Too many failures lately: refused, even with the right password, until ``minutes`` have passed."""

    def __init__(self, minutes: int) -> None:
        super().__init__(f"locked out for {minutes} more minutes")
        self.minutes = minutes


class NewSession(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    staff_id: int


@cache
def _decoy_hash() -> str:
    """A hash to verify against when the email is unknown, so the answer takes as long either way."""
    return _hasher.hash("not-anyone's-password")


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _decoy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def sign_in(
    conn: asyncpg.Connection,
    *,
    email: str,
    password: str,
    settings: ConsoleSettings,
    now: datetime,
    user_agent: str | None,
) -> NewSession:
    """A new session for the staff member with this email and password; ``LockedOut`` or ``SignInRefused``."""
    email = email.strip().lower()[:254]
    window = timedelta(seconds=settings.lockout_window_s)
    async with conn.transaction():
        await repository.lock_email(conn, email)
        failures = await repository.recent_failures(conn, email=email, since=now - window)
        if len(failures) >= settings.lockout_attempts:
            # Attempts while locked are not counted: they would keep the account locked for ever.
            unlocks_at = failures[settings.lockout_attempts - 1] + window
            raise LockedOut(max(1, math.ceil((unlocks_at - now).total_seconds() / 60)))
        account = await repository.staff_credentials(conn, email)
        password_hash = account["password_hash"] if account is not None else None
        ok = await asyncio.to_thread(_verify, password_hash, password)
        session: NewSession | None = None
        if not ok or account is None or not account["active"]:
            await repository.record_failure(conn, email=email, now=now)
        else:
            await repository.clear_failures(conn, email=email, before=now - window)
            await repository.purge_sessions(conn, now=now, idle=timedelta(seconds=settings.idle_timeout_s))
            token = new_token()
            await repository.insert_session(
                conn,
                token_hash=token_hash(token),
                staff_id=account["id"],
                csrf_token=new_token(),
                now=now,
                expires_at=now + timedelta(seconds=settings.session_ttl_s),
                user_agent=(user_agent or "")[:300] or None,
            )
            session = NewSession(token=token, staff_id=account["id"])
    # The failure is recorded (committed) first, so that it counts towards the lockout.
    if session is None:
        raise SignInRefused
    return session


async def sign_out(conn: asyncpg.Connection, *, hashed_token: bytes) -> None:
    async with conn.transaction():
        await repository.delete_session(conn, hashed_token)
