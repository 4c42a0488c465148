"""Signing in to the console: the password checked with argon2, waits for failing sources (lockout), sessions."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from functools import cache

import asyncpg
import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.console import lockout, repository
from api.console import signin_repository as signins
from api.console.lockout import KNOWN_FOR
from api.console.sessions import new_token, token_hash
from api.platform.settings import ConsoleSettings

_hasher = PasswordHasher()


class SignInRefused(Exception):
    """Wrong email or password, or no password, or a deactivated account: the same answer for each."""


class NewSession(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    staff_id: int
    notices: int  # security notices the staff member has not read yet


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
    address: str,
    settings: ConsoleSettings,
    now: datetime,
    user_agent: str | None,
) -> NewSession:
    """A new session for this email and password from this client address; ``SlowDown`` or ``SignInRefused``."""
    email = email.strip().lower()[:254]
    since = now - timedelta(seconds=settings.lockout_window_s)
    async with conn.transaction():
        await signins.lock_email(conn, email)
        source = await signins.source_of(conn, address)
        account = await signins.staff_credentials(conn, email)
        known = account is not None and await signins.is_known_source(
            conn, staff_id=account["id"], source=source, since=now - KNOWN_FOR
        )
        if not known:
            # Unchecked and uncounted while it waits: an attacker's tries cost them time, never the owner.
            await lockout.check(conn, email=email, source=source, settings=settings, now=now)
        ok = await asyncio.to_thread(_verify, account["password_hash"] if account else None, password)
        if not ok or account is None or not account["active"]:
            failures = await signins.record_failure(conn, email=email, source=source, now=now, since=since)
            if account is not None and failures == settings.lockout_attempts:
                await signins.insert_notice(
                    conn,
                    staff_id=account["id"],
                    kind="source_slowed",
                    source=source,
                    known_source=known,
                    failures=failures,
                    now=now,
                )
            session = None
        else:
            await signins.clear_failures(conn, email=email, source=source, before=since)
            await signins.remember_source(
                conn, staff_id=account["id"], source=source, now=now, forget_before=now - KNOWN_FOR
            )
            session = await _open_session(conn, account["id"], settings=settings, now=now, user_agent=user_agent)
    # The failure is recorded (committed) first, so that it counts.
    if session is None:
        raise SignInRefused
    return session


async def _open_session(
    conn: asyncpg.Connection, staff_id: int, *, settings: ConsoleSettings, now: datetime, user_agent: str | None
) -> NewSession:
    await repository.purge_sessions(conn, now=now, idle=timedelta(seconds=settings.idle_timeout_s))
    token = new_token()
    await repository.insert_session(
        conn,
        token_hash=token_hash(token),
        staff_id=staff_id,
        csrf_token=new_token(),
        now=now,
        expires_at=now + timedelta(seconds=settings.session_ttl_s),
        user_agent=(user_agent or "")[:300] or None,
    )
    unread = len(await signins.unseen_notices(conn, staff_id))
    return NewSession(token=token, staff_id=staff_id, notices=unread)


async def sign_out(conn: asyncpg.Connection, *, hashed_token: bytes) -> None:
    async with conn.transaction():
        await repository.delete_session(conn, hashed_token)
