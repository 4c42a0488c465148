"""Authentication and authorisation.

Every route declares who may call it, with ``opt=PUBLIC`` or ``opt=allow(Role…)``. A route that
declares nothing is refused to everyone: the default is deny. The same holds one level down for service
tokens: a route that admits ``Role.service`` names the one scope a service token needs for it
(``allow(Role.service, scope=Scope.chatbot)``), and a service route that names none refuses every service token.

Who a staff account is now (its role, districts, whether it is active) is the accounts domain's to say; the
app hands that lookup in as ``app.state.staff_lookup``, so this floor imports no domain.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from api.platform.auth import revocations
from api.platform.auth.tokens import InvalidToken, Principal, Role, Scope, TokenIssuer
from api.platform.errors import Forbidden

PUBLIC: dict[str, Any] = {"exclude_from_auth": True, "public": True}

# The staff account behind a token as it stands now, or None when it is deactivated.
StaffLookup = Callable[[asyncpg.Connection, Principal], Awaitable[Principal | None]]


def allow(
    *roles: Role, scope: Scope | None = None, district_param: str | None = None, idempotent: bool = False
) -> dict[str, Any]:
    """Route options: these roles may call it.

    ``scope`` is what a service token must hold to pass; the other roles are not asked for one.
    ``district_param`` names a path parameter: only staff who serve that district pass. ``idempotent`` runs
    the route under ``Idempotency-Key`` in one transaction that is rolled back whole on any non-2xx, so it
    suits routes whose failures leave nothing behind (not, for instance, one that counts failed attempts).
    """
    if scope is not None and Role.service not in roles:
        raise ValueError("a scope restricts service tokens; this route admits none")
    opt: dict[str, Any] = {"roles": frozenset(roles)}
    if scope is not None:
        opt["scope"] = scope
    if district_param:
        opt["district_param"] = district_param
    if idempotent:
        opt["idempotent"] = True
    return opt


def signed_in_citizen(connection: ASGIConnection) -> int:
    """The citizen id of the caller of a citizen route; a token that names none is told to sign in by phone."""
    citizen_id = connection.user.citizen_id if connection.user is not None else None
    if citizen_id is None:
        raise NotAuthorizedException("This token names no citizen account; sign in by phone.")
    return citizen_id


def check_scope(principal: Principal, scope: Scope | None) -> None:
    """A service principal passes only with the scope named; a route (or a step) that names none refuses it."""
    if scope is None:
        raise Forbidden("This route names no scope, so no service token may call it.", code="scope_missing")
    if not principal.has_scope(scope):
        held = " ".join(principal.scopes) or "none"
        raise Forbidden(
            f"This needs the {scope.value} scope; this token's scopes: {held}.", code="scope_missing", scope=scope
        )


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    """Reads ``Authorization: Bearer …`` into ``request.user``: a ``Principal``, or None with the reason in ``auth``.

    It never refuses a request itself: the guard does, inside the route, so the refusal is logged and
    answered like every other error.
    """

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return AuthenticationResult(user=None, auth="Sign in first: send `Authorization: Bearer <token>`.")
        issuer: TokenIssuer = connection.app.state.tokens
        try:
            principal = issuer.verify(token.strip())
        except InvalidToken as exc:
            return AuthenticationResult(user=None, auth=f"Sign in again: {exc}.")
        async with connection.app.state.pool.acquire() as conn:
            # One primary-key lookup per request: a revoked token stops working at once, not when it expires.
            if principal.token_id is not None and await revocations.is_revoked(conn, jti=principal.token_id):
                return AuthenticationResult(user=None, auth="This token was revoked.")
            if principal.staff_id is not None:
                # A staff account's role and districts are read afresh, so a deactivation or a move to another
                # district takes effect at once rather than when the token expires.
                lookup: StaffLookup = connection.app.state.staff_lookup
                current = await lookup(conn, principal)
                if current is None:
                    return AuthenticationResult(user=None, auth="This staff account is deactivated.")
                principal = current
        return AuthenticationResult(user=principal, auth=None)


def authorize(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The app-wide guard: signed in, then role, then district, for every route that is not public."""
    opt = handler.opt
    # Litestar answers OPTIONS itself with the Allow header; it says nothing a route's own guard protects.
    if opt.get("public") or getattr(handler, "http_methods", None) == {"OPTIONS"}:
        return
    principal: Principal | None = connection.user
    if principal is None:
        raise NotAuthorizedException(connection.auth, headers={"WWW-Authenticate": 'Bearer realm="safecity"'})
    roles = opt.get("roles")
    if not roles:
        raise PermissionDeniedException("This route declares no roles, so nobody may call it.")
    if principal.role not in roles:
        raise PermissionDeniedException(f"A {principal.role.value} account may not do this.")
    if principal.role is Role.service:
        check_scope(principal, opt.get("scope"))
    param = opt.get("district_param")
    if param is not None:
        district = str(connection.path_params[param])
        if not principal.serves(district):
            raise PermissionDeniedException(f"Your account does not serve district {district}.")


async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """``authorize`` as the app's guard. Async because Litestar runs a sync guard in its thread pool, a thread
    hop per request (about a tenth of a check-in's CPU in the API) for work that never blocks."""
    authorize(connection, handler)
