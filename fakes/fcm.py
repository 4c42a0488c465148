"""A fake FCM HTTP v1 server: records what the Admin SDK sends and fails on command, in the real wire format."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections import Counter, deque
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote

import httpx

from fakes.server import BackgroundServer

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"

# Keys FCM keeps for itself in a data payload; a message using one is refused with INVALID_ARGUMENT.
RESERVED_DATA_KEYS = frozenset({"from", "notification", "message_type"})
RESERVED_DATA_PREFIXES = ("google.", "gcm.")


class FcmErrorKind(NamedTuple):
    """How FCM answers one of its error codes: the HTTP status, the google.rpc status and a message."""

    http: int
    status: str
    message: str


# The FCM error codes the fake can produce, answered the way FCM answers them (the Admin SDK picks its exception
# class from the FcmError detail first, then from "status").
ERRORS: dict[str, FcmErrorKind] = {
    "UNREGISTERED": FcmErrorKind(404, "NOT_FOUND", "Requested entity was not found."),
    "SENDER_ID_MISMATCH": FcmErrorKind(403, "PERMISSION_DENIED", "SenderId mismatch"),
    "INVALID_ARGUMENT": FcmErrorKind(
        400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token"
    ),
    "UNAVAILABLE": FcmErrorKind(503, "UNAVAILABLE", "The service is currently unavailable."),
    "INTERNAL": FcmErrorKind(500, "INTERNAL", "Internal error encountered."),
    "QUOTA_EXCEEDED": FcmErrorKind(
        429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Send requests' of service fcm.googleapis.com."
    ),
}
QUOTA_RETRY_AFTER_S = 60  # what fail_next("QUOTA_EXCEEDED") puts in Retry-After unless told otherwise

Headers = list[tuple[bytes, bytes]]
Response = tuple[int, Headers, Any]


def error_body(code: int, status: str, message: str, *, fcm_code: str | None = None, field: str | None = None) -> dict:
    """A google.rpc error body as FCM sends it, with the FcmError detail and a field violation when given."""
    details: list[dict[str, Any]] = []
    if fcm_code:
        details.append({"@type": FCM_ERROR_TYPE, "errorCode": fcm_code})
    if field:
        details.append({"@type": BAD_REQUEST_TYPE, "fieldViolations": [{"field": field, "description": message}]})
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return {"error": error}


def _check_status(status: str) -> str:
    if status not in ERRORS:
        raise ValueError(f"unknown FCM error {status!r}; one of {sorted(ERRORS)}")
    return status


def _bad_message(message: Any) -> tuple[str, str] | None:
    """Why FCM would refuse this message as malformed, and the field at fault; None when it would not."""
    if not isinstance(message, dict):
        return "message must be an object", "message"
    targets = [key for key in ("token", "topic", "condition", "fid") if message.get(key)]
    if len(targets) != 1:
        return "exactly one of token, topic, condition or fid is required", "message"
    data = message.get("data") or {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return "data values must be strings", "message.data"
    for key in data:
        if key in RESERVED_DATA_KEYS or key.startswith(RESERVED_DATA_PREFIXES):
            return f"Invalid data payload key: {key}", "message.data"
    return None


class FakeFcm:
    """An FCM HTTP v1 server in miniature; ``app`` is the ASGI app.

    What it records is safe to read from any thread. Drive it with the methods here, or from another process over
    ``POST /_fake/control`` (see FakeFcmRemote). ``fail_next`` applies to sends; ``fail_token`` and ``down`` to
    topic calls too.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: BackgroundServer | None = None
        self._reset()

        # A plain function, not a bound method: uvicorn tells ASGI 3 from ASGI 2 by inspecting the callable.
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            await self._handle(scope, receive, send)

        self.app = app

    def _reset(self) -> None:
        self._sent: list[dict[str, Any]] = []
        self._subscriptions: dict[str, set[str]] = {}
        self._failing_tokens: dict[str, str] = {}
        self._failing_topics: dict[str, str] = {}
        self._fail_next: deque[list[Any]] = deque()  # [count left, FCM code, retry-after]: runs, not one per send
        self._down = False
        self._delay_s = 0.0
        self.requests = 0
        self.errors: Counter[str] = Counter()  # FCM error code (or rpc status) -> responses sent with it

    # -- serving --

    def serve(self) -> BackgroundServer:
        """A server on a free port, not yet started: start it, or use it as a context manager. Sets ``url``."""
        self._server = BackgroundServer(self.app)
        return self._server

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> FakeFcm:
        self.serve().start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeFcm is not serving; call serve() first")
        return self._server.url

    # -- what it saw --

    @property
    def sent(self) -> list[dict[str, Any]]:
        """A copy of every message accepted for delivery (``message`` as the client sent it), oldest first."""
        with self._lock:
            return list(self._sent)

    @property
    def sent_count(self) -> int:
        return len(self._sent)

    @property
    def subscriptions(self) -> dict[str, set[str]]:
        """A copy of topic -> subscribed tokens."""
        with self._lock:
            return {topic: set(tokens) for topic, tokens in self._subscriptions.items() if tokens}

    def state(self) -> dict[str, Any]:
        """Counters and controls, as ``GET /_fake/state`` returns them."""
        with self._lock:
            return {
                "requests": self.requests,
                "sent": len(self._sent),
                "errors": dict(self.errors),
                "down": self._down,
                "delay": self._delay_s,
                "fail_next": sum(run[0] for run in self._fail_next),
                "failing_tokens": dict(self._failing_tokens),
                "subscriptions": {t: sorted(tokens) for t, tokens in self._subscriptions.items() if tokens},
            }

    # -- controls --

    def fail_token(self, token: str, status: str | None = "UNREGISTERED") -> None:
        """Answer every request for ``token`` with UNREGISTERED, SENDER_ID_MISMATCH or INVALID_ARGUMENT; None clears."""
        with self._lock:
            if status is None:
                self._failing_tokens.pop(token, None)
            else:
                self._failing_tokens[token] = _check_status(status)

    def fail_topic(self, topic: str, status: str | None = "UNAVAILABLE") -> None:
        """Answer every subscription to or from ``topic`` with this FCM code (UNAVAILABLE, INTERNAL...); None clears."""
        with self._lock:
            if status is None:
                self._failing_topics.pop(topic, None)
            else:
                self._failing_topics[topic] = _check_status(status)

    def fail_next(self, n: int, status: str = "UNAVAILABLE", *, retry_after: float | None = None) -> None:
        """Answer the next ``n`` sends with a transient error (UNAVAILABLE, INTERNAL, QUOTA_EXCEEDED)."""
        _check_status(status)
        if retry_after is None and status == "QUOTA_EXCEEDED":
            retry_after = QUOTA_RETRY_AFTER_S
        with self._lock:
            if n > 0:
                self._fail_next.append([n, status, retry_after])

    def down(self, is_down: bool = True) -> None:
        """While down, every FCM request gets 503 UNAVAILABLE."""
        self._down = is_down

    def delay(self, seconds: float) -> None:
        """Wait this long before answering each FCM request."""
        self._delay_s = max(0.0, float(seconds))

    def reset(self) -> None:
        """Forget everything it saw and every control."""
        with self._lock:
            self._reset()

    def control(self, command: dict[str, Any]) -> None:
        """Apply a ``POST /_fake/control`` body; ``reset`` first, then the rest."""
        if command.get("reset"):
            self.reset()
        for spec in _as_list(command.get("fail_token")):
            self.fail_token(spec["token"], spec.get("status", "UNREGISTERED"))
        for spec in _as_list(command.get("fail_topic")):
            self.fail_topic(spec["topic"], spec.get("status", "UNAVAILABLE"))
        for spec in _as_list(command.get("fail_next")):
            self.fail_next(int(spec["n"]), spec.get("status", "UNAVAILABLE"), retry_after=spec.get("retry_after"))
        if "down" in command:
            self.down(bool(command["down"]))
        if "delay" in command:
            self.delay(float(command["delay"]))

    # -- the ASGI app --

    async def _handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        raw_path = scope.get("raw_path") or scope["path"].encode()
        # The raw path, split before unquoting: SDK-quoted tokens may hold "/" or ":".
        segments = [unquote(s) for s in raw_path.decode("latin-1").split("/")[1:]]
        query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
        headers = dict(scope.get("headers") or [])
        try:
            if segments[:1] == ["_fake"]:
                status, extra, payload = self._handle_control(scope["method"], segments[1:], query, body)
            else:
                status, extra, payload = await self._handle_fcm(scope["method"], segments, query, headers, body)
        except Exception as exc:  # a fake must answer, and say why, rather than drop the connection
            status, extra, payload = 500, [], error_body(500, "INTERNAL", f"fake FCM: {type(exc).__name__}: {exc}")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json; charset=UTF-8"), *extra],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(payload).encode()})

    async def _handle_fcm(
        self, method: str, segments: list[str], query: dict[str, str], headers: dict[bytes, bytes], body: bytes
    ) -> Response:
        with self._lock:
            self.requests += 1
        if self._delay_s:
            await asyncio.sleep(self._delay_s)
        if not headers.get(b"authorization", b"").startswith(b"Bearer "):
            return self._rpc_error(401, "UNAUTHENTICATED", "Request is missing required authentication credential.")
        if self._down:
            return self._rpc_error(503, "UNAVAILABLE", "The service is currently unavailable.")
        match segments:
            case ["v1", "projects", project, "messages:send"] if method == "POST":
                return self._send(project, body)
            case ["v1", "projects", _, "registrations", token, "topicSubscriptions"] if method == "POST":
                return self._subscribe(token, query.get("topic_name", ""))
            case ["v1", "projects", _, "registrations", token, "topicSubscriptions", topic] if method == "DELETE":
                return self._unsubscribe(token, topic, allow_missing=query.get("allow_missing") == "true")
        return self._rpc_error(404, "NOT_FOUND", f"{method} /{'/'.join(segments)} is not an FCM endpoint")

    def _rpc_error(self, code: int, status: str, message: str, *, field: str | None = None) -> Response:
        with self._lock:
            self.errors[status] += 1
        return code, [], error_body(code, status, message, field=field)

    def _fcm_error(
        self, fcm_code: str, *, message: str | None = None, field: str | None = None, retry_after: float | None = None
    ) -> Response:
        kind = ERRORS[fcm_code]
        with self._lock:
            self.errors[fcm_code] += 1
        headers: Headers = [(b"retry-after", str(int(retry_after)).encode())] if retry_after is not None else []
        body = error_body(kind.http, kind.status, message or kind.message, fcm_code=fcm_code, field=field)
        return kind.http, headers, body

    def _send(self, project: str, body: bytes) -> Response:
        with self._lock:
            run = self._fail_next[0] if self._fail_next else None
            if run is not None:
                run[0] -= 1
                if run[0] <= 0:
                    self._fail_next.popleft()
        if run is not None:
            return self._fcm_error(run[1], retry_after=run[2])
        try:
            request = json.loads(body)
        except ValueError:
            return self._rpc_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        message = request.get("message") if isinstance(request, dict) else None
        problem = _bad_message(message)
        if problem:
            # About the payload, not the token: a client must be able to tell the two apart.
            return self._fcm_error("INVALID_ARGUMENT", message=problem[0], field=problem[1])
        token = message.get("token") or message.get("fid")
        failing = self._failing_tokens.get(token) if token else None
        if failing:
            return self._fcm_error(failing, field="message.token" if failing == "INVALID_ARGUMENT" else None)
        message_id = next(self._ids)
        if not request.get("validate_only"):
            with self._lock:
                self._sent.append(message)
        return 200, [], {"name": f"projects/{project}/messages/0:{message_id}%fake"}

    def _subscribe(self, token: str, topic: str) -> Response:
        if not topic:
            return self._rpc_error(400, "INVALID_ARGUMENT", "topic_name is required", field="topic_name")
        failing = self._failing_tokens.get(token) or self._failing_topics.get(topic)
        if failing:
            return self._fcm_error(failing)
        with self._lock:
            tokens = self._subscriptions.setdefault(topic, set())
            if token in tokens:
                # FCM answers a repeated subscription with a conflict; the SDK counts that as success.
                self.errors["ALREADY_EXISTS"] += 1
                return 409, [], error_body(409, "ALREADY_EXISTS", "Subscription already exists.")
            tokens.add(token)
        return 200, [], {"name": f"registrations/{token}/topicSubscriptions/{topic}"}

    def _unsubscribe(self, token: str, topic: str, *, allow_missing: bool) -> Response:
        failing = self._failing_tokens.get(token) or self._failing_topics.get(topic)
        if failing:
            return self._fcm_error(failing)
        with self._lock:
            tokens = self._subscriptions.get(topic, set())
            present = token in tokens
            tokens.discard(token)
        if not present and not allow_missing:
            return self._rpc_error(404, "NOT_FOUND", "Subscription not found.")
        return 200, [], {}

    def _handle_control(self, method: str, segments: list[str], query: dict[str, str], body: bytes) -> Response:
        match segments:
            case ["sent"] if method == "GET":
                # Paged, so a benchmark that polls after 100,000 messages copies only what it asks for.
                offset, limit = int(query.get("offset", 0)), int(query.get("limit", 1000))
                with self._lock:
                    page = self._sent[offset : offset + limit]
                    total = len(self._sent)
                return 200, [], {"total": total, "offset": offset, "messages": page}
            case ["state"] if method == "GET":
                return 200, [], self.state()
            case ["control"] if method == "POST":
                try:
                    self.control(json.loads(body or b"{}"))
                except (ValueError, KeyError, TypeError) as exc:
                    return 400, [], {"error": f"{type(exc).__name__}: {exc}"}
                return 200, [], self.state()
        return 404, [], {"error": f"no fake control {method} /_fake/{'/'.join(segments)}"}


def _as_list(spec: Any) -> list[dict[str, Any]]:
    if spec is None:
        return []
    return spec if isinstance(spec, list) else [spec]


class FakeFcmRemote:
    """Drives a FakeFcm in another process over its control endpoints: the same controls as FakeFcm."""

    def __init__(self, url: str, *, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s)

    def _control(self, command: dict[str, Any]) -> dict[str, Any]:
        response = self._http.post("/_fake/control", json=command)
        response.raise_for_status()
        return response.json()

    def fail_token(self, token: str, status: str | None = "UNREGISTERED") -> None:
        self._control({"fail_token": {"token": token, "status": status}})

    def fail_topic(self, topic: str, status: str | None = "UNAVAILABLE") -> None:
        """Answer every subscription to or from ``topic`` with this FCM code (UNAVAILABLE, INTERNAL...); None clears."""
        with self._lock:
            if status is None:
                self._failing_topics.pop(topic, None)
            else:
                self._failing_topics[topic] = _check_status(status)

    def fail_next(self, n: int, status: str = "UNAVAILABLE", *, retry_after: float | None = None) -> None:
        self._control({"fail_next": {"n": n, "status": status, "retry_after": retry_after}})

    def down(self, is_down: bool = True) -> None:
        self._control({"down": is_down})

    def delay(self, seconds: float) -> None:
        self._control({"delay": seconds})

    def reset(self) -> None:
        self._control({"reset": True})

    def state(self) -> dict[str, Any]:
        response = self._http.get("/_fake/state")
        response.raise_for_status()
        return response.json()

    def sent(self, offset: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """One page of the messages the fake accepted."""
        response = self._http.get("/_fake/sent", params={"offset": offset, "limit": limit})
        response.raise_for_status()
        return response.json()["messages"]

    def close(self) -> None:
        self._http.close()
