"""Console sessions: a random token in an HttpOnly cookie, a hashed row with expiry and idle timeout, and CSRF.

The console's routes are public to the bearer-token guard; these dependencies are their own sign-in check.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
from litestar import Request
from litestar.datastructures import Cookie, FormMultiDict
from litestar.di import NamedDependency

from api.console import repository
from api.platform.auth.tokens import Principal, Role
from api.platform.db.pool import Db
from api.platform.settings import ConsoleSettings

SESSION_COOKIE = "safecity_console"
SIGN_IN_CSRF_COOKIE = "safecity_console_csrf"
LANGUAGE_COOKIE = "safecity_console_lang"
CSRF_FIELD = "csrf"
PATH = "/console"


class SignInRequired(Exception):
    """No live session: a page redirects to the sign-in form, a live-refresh fetch gets a 401."""


class CsrfRefused(Exception):
    """A form came back without its session's CSRF token: refused with a 403."""


class ConsoleSession(msgspec.Struct, frozen=True, kw_only=True):
    """The signed-in staff member, as their account stands now."""

    principal: Principal
    name: str
    email: str
    csrf_token: str
    token_hash: bytes
    unseen_notices: int = 0  # about wrong passwords tried for this account, or an operator's unlock

    @property
    def is_operator(self) -> bool:
        return self.principal.role is Role.operator


# How console routes ask for the signed-in session and for a POSTed form whose CSRF token was checked.
Session = NamedDependency[ConsoleSession]
PostedForm = NamedDependency[FormMultiDict]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def same(given: str | None, expected: str | None) -> bool:
    """Compare secrets in constant time; a missing value never matches."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given).encode(), str(expected).encode())


def cookie(request: Request, name: str, value: str, *, max_age: int | None = None) -> Cookie:
    """A console cookie: HttpOnly, SameSite=Lax, Secure when the request came over TLS, scoped to /console."""
    return Cookie(
        key=name,
        value=value,
        path=PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=max_age,
    )


def cleared(request: Request, name: str) -> Cookie:
    """The cookie, told to go."""
    return cookie(request, name, "", max_age=0)


def settings_of(request: Request) -> ConsoleSettings:
    return request.app.state.settings.console


async def load_session(conn: asyncpg.Connection, *, token: str | None, settings: ConsoleSettings) -> ConsoleSession:
    """The live session the cookie's token names, its idle clock restarted; ``SignInRequired`` otherwise."""
    if not token:
        raise SignInRequired
    hashed = token_hash(token)
    row = await repository.touch_session(
        conn, token_hash=hashed, now=datetime.now(UTC), idle=timedelta(seconds=settings.idle_timeout_s)
    )
    if row is None:
        raise SignInRequired
    principal = Principal(subject=f"staff:{row['staff_id']}", role=Role(row["role"]), districts=tuple(row["districts"]))
    return ConsoleSession(
        principal=principal,
        name=row["name"],
        email=row["email"],
        csrf_token=row["csrf_token"],
        token_hash=hashed,
        unseen_notices=row["unseen_notices"],
    )


async def provide_session(request: Request, db: Db) -> ConsoleSession:
    """Dependency of every signed-in console route."""
    return await load_session(db, token=request.cookies.get(SESSION_COOKIE), settings=settings_of(request))


async def provide_form(request: Request, session: Session) -> FormMultiDict:
    """Dependency of every console POST: the form, once its CSRF token is checked against the session's."""
    form = await request.form()
    if not same(form.get(CSRF_FIELD), session.csrf_token):
        raise CsrfRefused
    return form


def language(request: Request) -> str:
    value = request.cookies.get(LANGUAGE_COOKIE)
    return value if value in ("ko", "en") else "ko"
