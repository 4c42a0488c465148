"""Authentication and authorisation.

Every route declares who may call it, with ``opt=PUBLIC`` or ``opt=allow(Role…)``. A route that
declares nothing is refused to everyone: the default is deny.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from api.auth.tokens import InvalidToken, Principal, Role, TokenIssuer

PUBLIC: dict[str, Any] = {"exclude_from_auth": True, "public": True}


def allow(*roles: Role, district_param: str | None = None, idempotent: bool = False) -> dict[str, Any]:
    """Route options: these roles may call it; with ``district_param``, only staff who serve that district."""
    opt: dict[str, Any] = {"roles": frozenset(roles)}
    if district_param:
        opt["district_param"] = district_param
    if idempotent:
        opt["idempotent"] = True
    return opt


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
            return AuthenticationResult(user=issuer.verify(token.strip()), auth=None)
        except InvalidToken as exc:
            return AuthenticationResult(user=None, auth=f"Sign in again: {exc}.")


def authorize(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The app-wide guard: signed in, then role, then district, for every route that is not public."""
    opt = handler.opt
    # Litestar answers OPTIONS itself with the Allow header; it says nothing a route's own guard protects.
    if opt.get("public") or handler.http_methods == {"OPTIONS"}:
        return
    principal: Principal | None = connection.user
    if principal is None:
        raise NotAuthorizedException(connection.auth, headers={"WWW-Authenticate": 'Bearer realm="safecity"'})
    roles = opt.get("roles")
    if not roles:
        raise PermissionDeniedException("This route declares no roles, so nobody may call it.")
    if principal.role not in roles:
        raise PermissionDeniedException(f"A {principal.role.value} account may not do this.")
    param = opt.get("district_param")
    if param is not None:
        district = str(connection.path_params.get(param) or connection.query_params.get(param) or "")
        if not principal.serves(district):
            raise PermissionDeniedException(f"Your account does not serve district {district or '(none given)'}.")
