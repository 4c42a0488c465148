"""What every request and response goes through: JSON that cannot be read, a body's deadline, safe headers."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import ClientException, SerializationException
from litestar.status_codes import HTTP_408_REQUEST_TIMEOUT
from litestar.types import Message, Receive, ReceiveMessage, Scope


class SafecityRequest(Request[Any, Any, Any]):
    """A request whose JSON body, when it cannot be read, is the client's error (400), never ours."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            # msgspec decodes nested arrays and objects recursively; a body nested a thousand deep exhausts it.
            raise SerializationException("The JSON body is nested too deeply.") from None
        except UnicodeDecodeError as exc:
            raise SerializationException(f"The JSON body is not valid UTF-8 (byte {exc.start}).") from None


def with_body_deadline(receive: Receive, seconds: float) -> Receive:
    """``receive``, refusing with 408 a body that has not arrived whole within ``seconds`` of the headers.

    A client trickling its body a byte at a time would otherwise hold the request, and its connection, forever.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    done = False

    async def receive_in_time() -> ReceiveMessage:
        nonlocal done
        if done:  # after the body, receive waits only for a disconnect, which may come whenever
            return await receive()
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise ClientException(
                f"The request body took longer than {seconds:g} s to arrive.",
                status_code=HTTP_408_REQUEST_TIMEOUT,
                headers={"Connection": "close"},
            ) from None
        done = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    return receive_in_time


async def security_headers(message: Message, scope: Scope) -> None:
    """Headers on every response: no MIME sniffing; no caching of what a token was needed for; HSTS over https."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers["X-Content-Type-Options"] = "nosniff"
    handler = scope.get("route_handler")
    if scope["path"].startswith("/v1/") and handler is not None and not handler.opt.get("public"):
        # A signed-in route's answer is someone's own data: no browser, proxy or app cache keeps a copy.
        headers["Cache-Control"] = "no-store"
    if _over_https(scope):
        headers["Strict-Transport-Security"] = "max-age=31536000"


def _over_https(scope: Scope) -> bool:
    if scope.get("scheme") == "https":
        return True
    # uvicorn rewrites the scheme only for proxies in FORWARDED_ALLOW_IPS; HSTS sent over plain http is ignored
    # by browsers, so trusting the header here can do no harm.
    forwarded = dict(scope.get("headers", ())).get(b"x-forwarded-proto", b"")
    return forwarded.split(b",")[0].strip().lower() == b"https"
