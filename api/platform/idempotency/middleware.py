"""The ``Idempotency-Key`` middleware, for routes declared with ``allow(..., idempotent=True)``.

The request runs inside one transaction that also stores its response, so a 2xx and its stored
replay are committed together or not at all. A retry with the same key and body gets the stored
response (with ``Idempotent-Replayed: true``); the same key with another body is refused.
"""

from __future__ import annotations

import hashlib
import re
from typing import cast

import asyncpg
from litestar import Request
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, HTTPRequestEvent, HTTPScope, Message, Receive, Scope, Send

from api.platform.auth.guards import authorize
from api.platform.db.pool import REQUEST_CONNECTION
from api.platform.db.transactions import whole_request
from api.platform.errors import Problem, Unprocessable, problem_response
from api.platform.idempotency import repository

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# Response headers worth replaying; per-request ones (request id, date) are made afresh.
_REPLAYED_HEADERS = {b"content-type", b"content-length", b"location"}


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        if scope["type"] != "http" or handler is None or not handler.opt.get("idempotent"):
            await self.app(scope, receive, send)
            return
        key = dict(scope["headers"]).get(b"idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        request: Request = Request(scope, receive)
        try:
            authorize(request, handler)
        except HTTPException:
            # Nothing is locked, stored or replayed for a caller the guard refuses; the route refuses them.
            await self.app(scope, receive, send)
            return
        try:
            await self._run(cast(HTTPScope, scope), request, key.decode("latin-1"), send)
        except Problem as exc:
            response = problem_response(request, status=exc.status, title=exc.title, detail=exc.detail, code=exc.code)
            await response.to_asgi_response(None, request)(scope, receive, send)

    async def _run(self, scope: HTTPScope, request: Request, key: str, send: Send) -> None:
        if not _KEY.match(key):
            raise Problem(
                "Idempotency-Key must be 1 to 255 visible ASCII characters, e.g. a UUID.",
                code="invalid_idempotency_key",
            )
        body = await request.body()
        principal = request.user.subject
        target = b"%s %s?%s" % (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""))
        request_hash = hashlib.sha256(target + b"\n" + body).digest()

        try:
            captured = await self._run_once(scope, request, principal, key, request_hash, body, send)
        except _Rollback as rollback:
            captured = rollback.captured
        if captured is not None:
            await captured.forward(send)

    async def _run_once(
        self,
        scope: HTTPScope,
        request: Request,
        principal: str,
        key: str,
        request_hash: bytes,
        body: bytes,
        send: Send,
    ) -> _Capture | None:
        """Run the request in a transaction with its stored response; None when an earlier response was replayed."""

        async def replay_body() -> HTTPRequestEvent:
            return {"type": "http.request", "body": body, "more_body": False}

        async with request.app.state.pool.acquire() as conn, conn.transaction():
            await repository.lock_key(conn, principal=principal, key=key)
            stored = await repository.get_response(conn, principal=principal, key=key)
            if stored is not None:
                if stored["request_hash"] != request_hash:
                    raise Unprocessable(
                        "This Idempotency-Key was already used for a different request; use a new key.",
                        code="idempotency_key_reused",
                    )
                await _replay(stored, send)
                return None

            captured = _Capture()
            scope.setdefault("state", {})[REQUEST_CONNECTION] = conn
            try:
                with whole_request(conn):
                    await self.app(cast(Scope, scope), cast(Receive, replay_body), captured)
            finally:
                scope["state"].pop(REQUEST_CONNECTION, None)
            if 200 <= captured.status < 300:
                await repository.save_response(
                    conn,
                    principal=principal,
                    key=key,
                    method=scope["method"],
                    path=scope["path"],
                    request_hash=request_hash,
                    status_code=captured.status,
                    headers=[
                        [k.decode("latin-1"), v.decode("latin-1")]
                        for k, v in captured.headers
                        if k.lower() in _REPLAYED_HEADERS
                    ],
                    body=captured.body,
                )
            else:
                # Nothing of a failed request is kept, so a retry may succeed.
                raise _Rollback(captured)
        return captured


class _Capture:
    """Holds the response until the transaction that produced it has committed."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.messages: list[Message] = []
        self.body = b""

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
        self.messages.append(message)

    async def forward(self, send: Send) -> None:
        for message in self.messages:
            await send(message)


class _Rollback(Exception):
    def __init__(self, captured: _Capture) -> None:
        self.captured = captured


async def _replay(stored: asyncpg.Record, send: Send) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored["headers"]]
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": stored["status_code"], "headers": headers})
    await send({"type": "http.response.body", "body": bytes(stored["body"]), "more_body": False})
