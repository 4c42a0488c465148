"""Every error leaves the API as ``application/problem+json`` (RFC 9457) with a ``detail`` a person can act on."""

from __future__ import annotations

import re
from types import TracebackType
from typing import Any

import asyncpg
import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

PROBLEM_MEDIA_TYPE = "application/problem+json"
# How long a client waits before retrying when the database is away: about what a restart or a failover takes.
DATABASE_RETRY_AFTER_S = 10

log = structlog.get_logger(__name__)


class Problem(Exception):
    """A failure the caller can do something about; services raise these, routes let them through.

    ``code`` is a stable machine-readable name for clients (``otp_expired``, ``idempotency_key_reused`` …).
    """

    status: int = 400
    title: str = "Bad Request"

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        if status is not None:
            self.status = status
        self.extra = extra
        self.headers: dict[str, str] = {}


class Forbidden(Problem):
    status = 403
    title = "Forbidden"


class NotFound(Problem):
    status = 404
    title = "Not Found"


class Conflict(Problem):
    status = 409
    title = "Conflict"


class Unprocessable(Problem):
    status = 422
    title = "Unprocessable Content"


class TooManyRequests(Problem):
    status = 429
    title = "Too Many Requests"

    def __init__(self, detail: str, *, code: str | None = None, retry_after_s: int | None = None) -> None:
        super().__init__(detail, code=code)
        if retry_after_s is not None:
            self.headers["Retry-After"] = str(retry_after_s)


class Unavailable(Problem):
    status = 503
    title = "Service Unavailable"


def problem_response(
    request: Request,
    *,
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **members: Any,
) -> Response[bytes]:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body["instance"] = request.url.path
    request_id = request.scope.get("state", {}).get("request_id")
    if request_id:
        body["request_id"] = request_id
    body.update({k: v for k, v in members.items() if v is not None})
    return Response(
        content=msgspec.json.encode(body),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _problem_handler(request: Request, exc: Problem) -> Response[bytes]:
    return problem_response(
        request,
        status=exc.status,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers,
        code=exc.code,
        **exc.extra,
    )


def _validation_handler(request: Request, exc: ValidationException) -> Response[bytes]:
    errors = [_validation_error(e, _aliases(request)) for e in exc.extra] if isinstance(exc.extra, list) else []
    for error in errors:
        allowed = _allowed_values(request, error)
        if allowed:
            error["allowed"] = allowed
            error["message"] += f"; allowed: {', '.join(allowed)}"
    detail = "; ".join(e["message"] for e in errors) or exc.detail
    return problem_response(
        request,
        status=400,
        title="Invalid request",
        detail=detail,
        code="invalid_request",
        errors=errors or None,
    )


_INDEX = re.compile(r"(\[[0-9]+\])+$")


def _allowed_values(request: Request, error: dict[str, Any]) -> list[str] | None:
    """For a body field that takes one of a set of values (an enum), those values; else None."""
    if "Invalid enum value" not in error.get("message", ""):
        return None
    try:
        parameters = request.route_handler.parsed_fn_signature.parameters
    except AttributeError:
        return None
    if error.get("source", "body") != "body":  # a query or path parameter: its own type
        field = next((f for n, f in parameters.items() if _aliases(request).get(n, n) == error.get("field")), None)
        enum = _enum_in(msgspec.inspect.type_info(field.annotation)) if field is not None else None
        return [str(m.value) for m in enum] if enum is not None else None
    if "data" not in parameters:
        return None
    info: Any = msgspec.inspect.type_info(parameters["data"].annotation)
    for name in str(error.get("field", "")).removeprefix("$.").split("."):
        # "partners[0]": the list's field; the list is looked into for the next name.
        info = _field_type(info, _INDEX.sub("", name))
        if info is None:
            return None
    enum = _enum_in(info)
    return [str(m.value) for m in enum] if enum is not None else None


def _field_type(info: Any, name: str) -> Any:
    while isinstance(info, (msgspec.inspect.ListType, msgspec.inspect.UnionType)):
        info = info.item_type if isinstance(info, msgspec.inspect.ListType) else _struct_in(info)
    if not isinstance(info, msgspec.inspect.StructType):
        return None
    return next((f.type for f in info.fields if f.encode_name == name), None)


def _struct_in(union: Any) -> Any:
    return next((t for t in union.types if isinstance(t, msgspec.inspect.StructType)), None)


def _enum_in(info: Any) -> Any:
    if isinstance(info, msgspec.inspect.UnionType):
        info = next((t for t in info.types if isinstance(t, msgspec.inspect.EnumType)), None)
    return info.cls if isinstance(info, msgspec.inspect.EnumType) else None


def _aliases(request: Request) -> dict[str, str]:
    """Python parameter names → the names clients send, for parameters declared under another name."""
    try:
        parameters = request.route_handler.parsed_fn_signature.parameters
    except AttributeError:  # no route matched
        return {}
    aliases = {}
    for name, field in parameters.items():
        alias = getattr(field.kwarg_definition, "name", None) or getattr(field.kwarg_definition, "query", None)
        if isinstance(alias, str) and alias != name:
            aliases[name] = alias
    return aliases


def _validation_error(item: Any, aliases: dict[str, str]) -> dict[str, Any]:
    if not isinstance(item, dict):
        return {"message": str(item)}
    message = str(item.get("message", ""))
    key, source = item.get("key"), item.get("source")
    key = aliases.get(key, key) if isinstance(key, str) else key
    if key and message == repr(key):  # Litestar reports a missing value as the bare KeyError
        message = "A JSON body is required." if key == "data" else "This value is required."
    where = f"{source} parameter `{key}`" if key and source and source != "body" else None
    return {
        k: v
        for k, v in {
            "message": f"{where}: {message}" if where else message,
            "field": key,
            "source": source,
        }.items()
        if v
    }


def _data_handler(request: Request, exc: asyncpg.DataError) -> Response[bytes]:
    # Input the schemas let through but PostgreSQL cannot store (a NUL character, say): the caller's to fix.
    log.warning("database refused a value", error=str(exc), sqlstate=exc.sqlstate)
    return problem_response(
        request, status=400, title="Invalid request", detail=f"A value cannot be stored: {exc}", code="invalid_value"
    )


def _integrity_handler(request: Request, exc: asyncpg.IntegrityConstraintViolationError) -> Response[bytes]:
    # Services turn the conflicts they expect into Problems; this is the net under the ones they did not.
    log.warning("integrity violation reached the edge", error=str(exc), constraint=exc.constraint_name)
    return problem_response(
        request,
        status=409,
        title="Conflict",
        detail="The request conflicts with what is already stored; reload and try again.",
        code="conflict",
    )


def _http_handler(request: Request, exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    if status >= 500:
        return _internal_handler(request, exc)
    if status == 413:
        return _too_large(request, exc)
    title = _TITLES.get(status, "Error")
    detail = exc.detail if exc.detail and exc.detail != title else _DETAILS.get(status, title)
    return problem_response(request, status=status, title=title, detail=detail, headers=exc.headers)


def _too_large(request: Request, exc: HTTPException) -> Response[bytes]:
    # Raised before the body is read (its Content-Length) or as soon as a streamed body passes the limit.
    try:
        limit = request.route_handler.resolve_request_max_body_size()
    except AttributeError:  # no route matched
        limit = None
    detail = f"The request body is larger than the {limit:,} bytes this address takes." if limit else exc.detail
    return problem_response(
        request,
        status=413,
        title=_TITLES[413],
        detail=detail,
        # No "Connection: close": closing with the rest of the body unread resets the connection, and the
        # client never reads this answer. uvicorn throws the rest away as it comes, keeping none of it, and
        # the next request's header deadline ends a client that goes on sending.
        headers=exc.headers,
        code="body_too_large",
        max_bytes=limit,
    )


def _database_unavailable(request: Request, exc: Exception) -> Response[bytes]:
    log.warning("database unavailable", error=f"{type(exc).__name__}: {exc}", path=request.url.path)
    return problem_response(
        request,
        status=503,
        title=_TITLES[503],
        detail="The database cannot be reached just now; nothing was changed. Try again shortly.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        code="database_unavailable",
    )


def _interface_handler(request: Request, exc: asyncpg.InterfaceError) -> Response[bytes]:
    # "connection is closed": the request's connection died under it. Other interface errors are our bugs.
    if "closed" in str(exc):
        return _database_unavailable(request, exc)
    return _internal_handler(request, exc)


def _os_handler(request: Request, exc: OSError) -> Response[bytes]:
    # asyncpg reports a server it cannot reach (refused, unreachable, a timeout connecting or waiting for a
    # pooled connection) as the plain OSError or TimeoutError of the socket. Only those raised inside asyncpg
    # are the database's absence; any other OSError (a file, a disk) is ours, and a 500.
    if _raised_in_asyncpg(exc.__traceback__):
        return _database_unavailable(request, exc)
    return _internal_handler(request, exc)


def _raised_in_asyncpg(tb: TracebackType | None) -> bool:
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith("asyncpg."):
            return True
        tb = tb.tb_next
    return False


def _internal_handler(request: Request, exc: Exception) -> Response[bytes]:
    log.exception("unhandled error", path=request.url.path, method=request.method)
    return problem_response(
        request,
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        title="Internal Server Error",
        detail="Something went wrong on our side. Try again, and quote the request_id if it happens again.",
    )


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

_DETAILS = {
    401: "Sign in first: send `Authorization: Bearer <token>`.",
    403: "Your account is not allowed to do this.",
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
}

EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    Problem: _problem_handler,
    ValidationException: _validation_handler,
    asyncpg.DataError: _data_handler,
    asyncpg.IntegrityConstraintViolationError: _integrity_handler,
    # The server went away (class 08), is starting or shutting down (57P01-03), or has no connection slot left.
    asyncpg.PostgresConnectionError: _database_unavailable,
    asyncpg.CannotConnectNowError: _database_unavailable,
    asyncpg.AdminShutdownError: _database_unavailable,
    asyncpg.CrashShutdownError: _database_unavailable,
    asyncpg.TooManyConnectionsError: _database_unavailable,
    asyncpg.InterfaceError: _interface_handler,
    OSError: _os_handler,  # TimeoutError and ConnectionRefusedError among them
    HTTPException: _http_handler,
    Exception: _internal_handler,
}
