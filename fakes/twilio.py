"""A fake Twilio REST API (Messages: create, list; Calls: create, in ``twilio_calls``) that speaks the real wire
format, and Twilio's side of the webhooks.

Raw ASGI rather than a framework: a benchmark pushes ten thousand messages through it. ``delay`` (``/_fake/control``
``{"delay": 20}``) makes it slow the way the real one can be: each create waits, then accepts the message whether or
not the client is still waiting for the answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import time
import uuid
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
from twilio.request_validator import RequestValidator

from fakes.provider import FakeProvider, read_body
from fakes.twilio_calls import FakeCalls
from fakes.twilio_list import BadQuery, list_page, matcher, page_numbers
from notifications.sms_text import segments

API_VERSION = "2010-04-01"
POOL_SENDER = "+15005550006"  # the sender a messaging service "picks" when a message names none
_MESSAGES_SUFFIX = "/Messages.json"
_CALLS_SUFFIX = "/Calls.json"
_ACCOUNTS_PREFIX = f"/{API_VERSION}/Accounts/"

# Twilio's own error texts and statuses for the codes the fake can play.
ERRORS: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "An internal server error has occurred"),
    20503: (503, "Service Unavailable"),
    21211: (400, "Invalid 'To' Phone Number"),
    21408: (400, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21612: (400, "The 'To' phone number is not currently reachable via SMS"),
    21614: (400, "'To' number is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit"),
}
_CODE_FOR_STATUS = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}


def error_body(code: int, status: int | None = None, message: str | None = None) -> dict[str, Any]:
    """The JSON body Twilio answers an error with."""
    known_status, known_message = ERRORS.get(code, (400, f"Error {code}"))
    return {
        "code": code,
        "message": message or known_message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status or known_status,
    }


def signed_post_params(url: str, params: Mapping[str, str], auth_token: str) -> dict[str, str]:
    """The headers Twilio sends with a webhook form POST of ``params`` to ``url``: its signature and content type."""
    signature = RequestValidator(auth_token).compute_signature(url, dict(params))
    return {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}


class FakeTwilio(FakeProvider):
    """Records the messages it accepts and fails on command; ``.app`` is the ASGI app, ``.serve()`` its server."""

    def __init__(
        self,
        account_sid: str = "AC" + "0" * 32,
        auth_token: str = "fake-auth-token",  # noqa: S107 - the fake's own, guards nothing
    ) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._sent: list[dict[str, Any]] = []
        self._by_sid: dict[str, dict[str, Any]] = {}
        self._accepted_at: dict[str, datetime] = {}
        self._failing: dict[str, int] = {}
        self._fail_next: deque[tuple[int, float | None]] = deque()
        self.requests = 0
        self.lookups = 0  # list requests: how often a client looked its messages up
        self.max_in_flight = 0  # the most message requests answered at once, to check a sender's concurrency
        self._in_flight = 0
        self.calls = FakeCalls(self)

    # -- controls (thread-safe; the server runs in another thread) -------------------------------------------------

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Accepted messages, oldest first: To, From, MessagingServiceSid, Body, StatusCallback, sid, received_at."""
        with self._lock:
            return [dict(record) for record in self._sent]

    def fail_number(self, phone: str, code: int) -> None:
        """Answer every message to ``phone`` with Twilio error ``code`` (21610, 21211, 21614, …)."""
        with self._lock:
            self._failing[phone] = code

    def fail_next(self, n: int, status: int = 503, *, retry_after: float | None = 1) -> None:
        """Answer the next ``n`` message requests with ``status`` (500, 503, 429); 429 and 503 carry Retry-After."""
        with self._lock:
            self._fail_next.extend([(status, retry_after)] * n)

    def reset(self) -> None:
        """Forget the messages and every failure set up."""
        with self._lock:
            self._sent.clear()
            self._by_sid.clear()
            self._accepted_at.clear()
            self._failing.clear()
            self._fail_next.clear()
            self._clear_controls()
            self.requests = 0
            self.lookups = 0
            self.max_in_flight = 0
            self.calls.reset()

    def _control(self, command: Mapping[str, Any]) -> None:
        """Twilio's own commands: ``fail_number`` (one rule or a list) and ``fail_next`` (a rule or a count)."""
        fail_number = command.get("fail_number")
        for rule in [fail_number] if isinstance(fail_number, Mapping) else fail_number or []:
            self.fail_number(str(rule["phone"]), int(rule["code"]))
        fail_next = command.get("fail_next")
        if isinstance(fail_next, Mapping):
            self.fail_next(
                int(fail_next.get("n", 1)),
                int(fail_next.get("status", 503)),
                retry_after=fail_next.get("retry_after", 1),
            )
        elif fail_next is not None:
            self.fail_next(int(fail_next))

    # -- Twilio's side of the webhooks ------------------------------------------------------------------------------

    async def status_callback(
        self,
        message_sid: str,
        status: str,
        error_code: int | None = None,
        *,
        client: httpx.AsyncClient | None = None,
    ) -> httpx.Response:
        """POST a signed status callback for a message to the StatusCallback URL it was sent with."""
        with self._lock:
            record = self._by_sid.get(message_sid)
        if record is None or not record["StatusCallback"]:
            raise LookupError(f"no message {message_sid} with a StatusCallback")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": record["From"] or POOL_SENDER,
            "To": record["To"],
            "MessageSid": message_sid,
            "SmsSid": message_sid,
            "MessageStatus": status,
            "SmsStatus": status,
        }
        if record["MessagingServiceSid"]:
            params["MessagingServiceSid"] = record["MessagingServiceSid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return await self._post_signed(record["StatusCallback"], params, client)

    async def inbound_sms(
        self,
        webhook_url: str,
        from_: str,
        body: str,
        *,
        to: str = POOL_SENDER,
        messaging_service_sid: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> httpx.Response:
        """POST a signed incoming-message webhook, as Twilio does when someone texts our number."""
        sid = _sid("SM")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": str(segments(body)),
        }
        if messaging_service_sid:
            params["MessagingServiceSid"] = messaging_service_sid
        return await self._post_signed(webhook_url, params, client)

    async def _post_signed(self, url: str, params: dict[str, str], client: httpx.AsyncClient | None) -> httpx.Response:
        headers = signed_post_params(url, params, self.auth_token)
        if client is not None:
            return await client.post(url, content=urlencode(params), headers=headers)
        async with httpx.AsyncClient(timeout=10) as own:
            return await own.post(url, content=urlencode(params), headers=headers)

    # -- the ASGI app -----------------------------------------------------------------------------------------------

    async def _handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        body = await read_body(receive)
        if path.startswith(_ACCOUNTS_PREFIX) and path.endswith(_MESSAGES_SUFFIX):
            account_sid = path[len(_ACCOUNTS_PREFIX) : -len(_MESSAGES_SUFFIX)]
            if method == "POST":
                status, payload, headers = await self._create_message(account_sid, scope, body)
            elif method == "GET":
                status, payload, headers = self._list_messages(account_sid, scope)
            else:
                status, payload, headers = 405, error_body(20004, 405, "Method not allowed"), []
            await _respond(send, status, payload, headers)
        elif path.startswith(_ACCOUNTS_PREFIX) and path.endswith(_CALLS_SUFFIX) and method == "POST":
            account_sid = path[len(_ACCOUNTS_PREFIX) : -len(_CALLS_SUFFIX)]
            with self._lock:
                self.requests += 1
            refused = await self._gate(account_sid, scope)
            status, payload, headers = refused or (*self.calls.create(body), [])
            await _respond(send, status, payload, headers)
        elif path == "/_fake/sent" and method == "GET":
            query = parse_qs(scope.get("query_string", b"").decode())
            after = int(query.get("after", ["0"])[0])
            with self._lock:
                records = self._sent[after:]
            await _respond(send, 200, records)
        elif path == "/_fake/control" and method == "POST":
            try:
                self.control(json.loads(body or b"{}"))
            except (ValueError, KeyError, TypeError) as exc:
                await _respond(send, 400, {"error": str(exc)})
                return
            await _respond(send, 200, {"ok": True})
        else:
            await _respond(send, 404, error_body(20404, 404, f"The requested resource {path} was not found"))

    async def _create_message(
        self, account_sid: str, scope: dict[str, Any], body: bytes
    ) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        with self._lock:
            self.requests += 1
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            return await self._answer(account_sid, scope, body)
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _answer(
        self, account_sid: str, scope: dict[str, Any], body: bytes
    ) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        refused = await self._gate(account_sid, scope)
        if refused is not None:
            return refused
        form = {key: values[0] for key, values in parse_qs(body.decode(), keep_blank_values=True).items()}
        to, text = form.get("To"), form.get("Body")
        from_, service = form.get("From") or None, form.get("MessagingServiceSid") or None
        if not to:
            return 400, error_body(21604), []
        if not (from_ or service):
            return 400, error_body(21603), []
        if not text:
            return 400, error_body(21602), []
        if len(text) > 1600:
            return 400, error_body(21617), []
        with self._lock:
            code = self._failing.get(to)
        if code is not None:
            return ERRORS.get(code, (400, ""))[0], error_body(code), []
        record = {
            "To": to,
            "From": from_,
            "MessagingServiceSid": service,
            "Body": text,
            "StatusCallback": form.get("StatusCallback") or None,
            "sid": _sid("SM"),
            # When it arrived, as the machine's clock (Unix seconds): a benchmark times messages to here by it.
            "received_at": time.time(),
        }
        with self._lock:
            self._sent.append(record)
            self._by_sid[record["sid"]] = record
            self._accepted_at[record["sid"]] = datetime.now(UTC)
        return 201, self._message_resource(record), []

    async def _gate(self, account_sid: str, scope: dict[str, Any]) -> tuple[int, Any, list[tuple[bytes, bytes]]] | None:
        """What a request is answered instead, when the fake is slow, down, told to fail, or the caller not ours."""
        with self._lock:
            delay, down = self._delay, self._down
            failure = self._fail_next.popleft() if self._fail_next and not down else None
        if delay:
            await asyncio.sleep(delay)
        if down:
            return 503, error_body(20503), [(b"retry-after", b"1")]
        if failure is not None:
            status, retry_after = failure
            headers = (
                [(b"retry-after", _seconds(retry_after))] if retry_after is not None and status in (429, 503) else []
            )
            return status, error_body(_CODE_FOR_STATUS.get(status, 20500), status), headers
        if not self._authorised(scope):
            body_401 = error_body(20003) | {"detail": "Your AccountSid or AuthToken was incorrect."}
            return 401, body_401, [(b"www-authenticate", b'Basic realm="Twilio API"')]
        if account_sid != self.account_sid:
            return 404, error_body(20404), []
        return None

    def _list_messages(self, account_sid: str, scope: dict[str, Any]) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        """Twilio's Messages list: the messages accepted, filtered, newest first, one page of them."""
        with self._lock:
            self.lookups += 1
            down = self._down
            records = [(dict(r), self._accepted_at[r["sid"]]) for r in self._sent]
        if down:
            return 503, error_body(20503), [(b"retry-after", b"1")]
        if not self._authorised(scope):
            body_401 = error_body(20003) | {"detail": "Your AccountSid or AuthToken was incorrect."}
            return 401, body_401, [(b"www-authenticate", b'Basic realm="Twilio API"')]
        if account_sid != self.account_sid:
            return 404, error_body(20404), []
        query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        try:
            matches = matcher(query)
            page, size = page_numbers(query)
        except BadQuery as exc:
            return 400, error_body(20001, 400, str(exc)), []
        found = [(at, r) for r, at in records if matches({**r, "sender": r["From"] or POOL_SENDER}, at)]
        found.reverse()  # the newest first; sorting is stable, so messages of the same moment stay so
        found.sort(key=lambda pair: pair[0], reverse=True)
        resources = [self._message_resource(r, sent_at=at) for at, r in found]
        return 200, list_page(scope["path"], query, resources, page=page, size=size), []

    def _authorised(self, scope: dict[str, Any]) -> bool:
        header = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, encoded = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        # Both compared, always, so the answer takes as long whichever is wrong.
        sid_ok = hmac.compare_digest(username.encode(), self.account_sid.encode())
        token_ok = hmac.compare_digest(password.encode(), self.auth_token.encode())
        return sid_ok and token_ok

    def _message_resource(self, record: dict[str, Any], *, sent_at: datetime | None = None) -> dict[str, Any]:
        """A Message resource as Twilio returns it: on create, queued; in a list, sent (``sent_at``) from a number."""
        created = format_datetime(sent_at or datetime.now(UTC), usegmt=True)
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{record['sid']}"
        resource = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": record["Body"],
            "date_created": created,
            "date_sent": created if sent_at else None,
            "date_updated": created,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": record["From"],
            "messaging_service_sid": record["MessagingServiceSid"],
            "num_media": "0",
            "num_segments": str(segments(record["Body"])),
            "price": None,
            "price_unit": "USD",
            "sid": record["sid"],
            # With only a messaging service, Twilio accepts the message and picks the sender later.
            "status": "queued" if record["From"] else "accepted",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": record["To"],
            "uri": f"{uri}.json",
        }
        if sent_at is not None:
            # The fake hands each message on as it accepts it: sent at once, from the pool's number if need be.
            resource |= {"status": "sent", "from": record["From"] or POOL_SENDER}
        return resource


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _seconds(value: float) -> bytes:
    return str(int(value) if float(value).is_integer() else value).encode()


async def _respond(send: Any, status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json; charset=utf-8"), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": body})
