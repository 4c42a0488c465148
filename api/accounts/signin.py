"""Sign-in by phone: a one-time code by SMS, exchanged for a bearer token.

Nothing here tells whether a number is registered: every number gets the same answers, and the
citizen account is created when a code is first exchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import asyncpg

from api.accounts import signin_budget
from api.accounts import signin_repository as repository
from api.accounts.service import ensure_citizen
from api.accounts.signin_schemas import OtpRequest, OtpSent, TokenRequest, TokenResponse
from api.platform.auth.tokens import Principal, Role, TokenIssuer
from api.platform.errors import Problem, TooManyRequests
from api.platform.settings import AuthSettings
from notifications.schemas import Priority
from notifications.service import Notifier


class OtpService:
    def __init__(self, *, settings: AuthSettings, secret: str, tokens: TokenIssuer, notifier: Notifier) -> None:
        self._settings = settings
        self._key = hmac.new(secret.encode(), b"safecity-otp", hashlib.sha256).digest()
        self._tokens = tokens
        self._notifier = notifier

    def _hash(self, phone: str, code: str) -> bytes:
        return hmac.new(self._key, f"{phone}:{code}".encode(), hashlib.sha256).digest()

    async def request_code(self, conn: asyncpg.Connection, *, data: OtpRequest, now: datetime) -> OtpSent:
        """Store a fresh code for the phone and send it by SMS, within its hourly limit and the city's budgets."""
        ttl = self._settings.otp_ttl_s
        code = f"{secrets.randbelow(10**6):06d}"
        async with conn.transaction():
            await repository.lock_phone(conn, phone=data.phone)
            hour_ago = now - timedelta(hours=1)
            recent = await repository.count_recent_challenges(conn, phone=data.phone, since=hour_ago)
            if recent >= self._settings.otp_max_per_hour:
                oldest = await repository.oldest_recent_challenge(conn, phone=data.phone, since=hour_ago)
                wait = int((oldest + timedelta(hours=1) - now).total_seconds()) + 1 if oldest else 3600
                raise TooManyRequests(
                    f"Too many codes were asked for this number; try again in {max(wait, 1) // 60 + 1} minutes.",
                    retry_after_s=max(wait, 1),
                    code="otp_rate_limited",
                )
            if not await signin_budget.may_send(conn, settings=self._settings, phone=data.phone, now=now):
                # The same answer as a sent code: a different one would say which numbers are real.
                return _sent(ttl)
            await repository.insert_challenge(
                conn,
                phone=data.phone,
                code_hash=self._hash(data.phone, code),
                language=data.language.value,
                expires_at=now + timedelta(seconds=ttl),
                now=now,
            )
            # In the same transaction: the code is sent if and only if it was stored. Sent even to a number
            # that opted out of our messages, since its owner has just asked for it.
            await self._notifier.to_phone(
                conn,
                phone=data.phone,
                language=data.language.value,
                template="auth.otp",
                params={"code": code, "minutes": max(ttl // 60, 1)},
                now=now,
                priority=Priority.urgent,
                overrides_opt_out=True,
            )
        return _sent(ttl)

    async def exchange_code(self, conn: asyncpg.Connection, *, data: TokenRequest, now: datetime) -> TokenResponse:
        """Check the code; on success register the citizen if new and return their token."""
        failure: Problem | None = None
        async with conn.transaction():
            challenge = await repository.lock_open_challenge(conn, phone=data.phone)
            if challenge is None:
                failure = _invalid()
            elif challenge["expires_at"] <= now:
                failure = Problem("The code has expired; ask for a new one.", code="otp_expired", status=400)
            elif challenge["attempts"] >= self._settings.otp_max_attempts:
                failure = _locked()
            elif not hmac.compare_digest(challenge["code_hash"], self._hash(data.phone, data.code)):
                attempts = await repository.record_failed_attempt(conn, challenge_id=challenge["id"])
                failure = _locked() if attempts >= self._settings.otp_max_attempts else _invalid()
            else:
                await repository.consume_challenge(conn, challenge_id=challenge["id"], now=now)
                citizen_id = await ensure_citizen(conn, phone=data.phone, language=challenge["language"])
        # The failed attempt is committed before the error is raised, so the count holds.
        if failure is not None:
            raise failure
        ttl = self._settings.citizen_token_ttl_s
        principal = Principal(subject=f"citizen:{citizen_id}", role=Role.citizen, phone=data.phone)
        token = self._tokens.issue(principal, ttl_s=ttl)
        return TokenResponse(access_token=token, token_type="bearer", expires_in=ttl)  # noqa: S106


def _sent(ttl: int) -> OtpSent:
    return OtpSent(
        status="sent",
        expires_in=ttl,
        detail="If this number can receive SMS, a 6-digit code is on its way.",
    )


def _invalid() -> Problem:
    return Problem("The code is not correct, or no code was asked for this number.", code="otp_invalid")


def _locked() -> TooManyRequests:
    return TooManyRequests("Too many wrong codes; ask for a new one.", code="otp_attempts_exhausted")
