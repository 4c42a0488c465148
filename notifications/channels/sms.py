"""SMS through Twilio's Messages API, with the official SDK on its aiohttp client."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from email.utils import parsedate_to_datetime
from typing import Any

import structlog
from twilio.base import values
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from api.platform.phones import mask_phone
from api.platform.settings import TwilioSettings
from notifications.channels.base import Failure, OutboundMessage, SendResult

log = structlog.get_logger(__name__)

# The SDK logs every request and response in several INFO lines; at thousands of messages that drowns the rest.
_sdk_log = logging.getLogger("notifications.channels.sms.twilio_http")
_sdk_log.setLevel(logging.WARNING)

OPTED_OUT_CODES = frozenset({21610})  # the recipient replied STOP
BAD_RECIPIENT_CODES = frozenset(
    {
        21211,  # invalid 'To' number
        21408,  # SMS to that region is not enabled
        21612,  # 'To' not reachable by SMS
        21614,  # 'To' is not a mobile number
    }
)
TOO_MANY_REQUESTS_CODE = 20429
# Our credentials, account or sender are wrong: every message would fail the same way until someone fixes the
# configuration, so keep them in the outbox (transient) instead of rejecting them for good.
ACCOUNT_PROBLEM_CODES = frozenset({20003, 20005, 21212, 21606, 21660})

# The Retry-After of the last error response in this task; set by _HttpClient, read by _send_one (one task each).
_retry_after: ContextVar[float | None] = ContextVar("twilio_retry_after", default=None)


class TwilioSmsChannel:
    """Sends each message with ``messages.create`` (from a number or a messaging service), many at a time."""

    name = "sms"
    batch_size = 100

    def __init__(
        self,
        settings: TwilioSettings,
        *,
        status_callback: str | None,
        concurrency: int = 20,
        timeout_s: float = 15.0,
    ) -> None:
        if not settings.enabled:
            raise ValueError("TwilioSmsChannel needs an account SID and an auth token")
        if not (settings.messaging_service_sid or settings.from_number):
            raise ValueError("TwilioSmsChannel needs a from number or a messaging service SID")
        self._settings = settings
        self._status_callback = status_callback
        self._timeout_s = timeout_s
        self._semaphore = asyncio.Semaphore(concurrency)
        # A messaging service picks the sender from its pool; otherwise our own number sends.
        self._sender: dict[str, str] = (
            {"messaging_service_sid": settings.messaging_service_sid}
            if settings.messaging_service_sid
            else {"from_": str(settings.from_number)}
        )
        self._client: Client | None = None

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Send the messages concurrently; answers one result per message, in order, and never raises."""
        if not messages:
            return []
        client = self._twilio()
        # gather runs each send in a task of its own, which keeps the Retry-After context variable per message.
        return list(await asyncio.gather(*(self._send_one(client, message) for message in messages)))

    async def aclose(self) -> None:
        """Close the aiohttp session under the SDK client."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.http_client.close()

    def _twilio(self) -> Client:
        # Built on first use: aiohttp wants a running event loop for its session, which __init__ may not have.
        if self._client is None:
            http_client = _HttpClient(timeout=self._timeout_s, logger=_sdk_log)
            client = Client(self._settings.account_sid, self._settings.auth_token, http_client=http_client)
            if self._settings.api_base_url:
                point_at(client, self._settings.api_base_url)
            self._client = client
        return self._client

    async def _send_one(self, client: Client, message: OutboundMessage) -> SendResult:
        async with self._semaphore:
            _retry_after.set(None)
            try:
                sent = await client.messages.create_async(
                    to=message.to,
                    body=message.body,
                    status_callback=self._status_callback or values.unset,
                    **self._sender,
                )
            except (TwilioRestException, TwilioServiceException) as exc:
                return _twilio_error(exc, message)
            except Exception as exc:  # connection errors, timeouts, an answer that is not JSON: try again later
                error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("sms send failed", to=mask_phone(message.to), ref=message.ref, error=error)
                return SendResult(ok=False, failure=Failure.transient, error=error)
        log.debug("sms sent", to=mask_phone(message.to), ref=message.ref, sid=sent.sid)
        return SendResult(ok=True, provider_id=sent.sid)


def point_at(client: Client, base_url: str) -> None:
    """Send the client's ``api`` domain (Messages among it) to ``base_url`` instead of https://api.twilio.com."""
    # Domain.base_url is a plain attribute that Domain.absolute_url reads on every request, so this changes only
    # the host: the SDK still builds the path, signs in with Basic auth, encodes the form and parses errors.
    client.api.base_url = base_url.rstrip("/")
    # TWILIO_EDGE / TWILIO_REGION in the environment would rewrite the host to api.<edge>.<region>.twilio.com.
    client.edge = None
    client.region = None


class _HttpClient(AsyncTwilioHttpClient):
    """The SDK's aiohttp client (no retries: the outbox retries), made to apply its timeout and keep Retry-After."""

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the SDK's signature, passed on to aiohttp
        allow_redirects: bool = False,
    ) -> Response:
        headers = dict(headers or {})
        if auth is not None:
            # aiohttp deprecates its auth= argument (a warning per request); the header is the same credentials.
            headers["Authorization"] = _basic_auth(*auth)
        response = await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=None,
            # The async client stores the constructor's timeout but never applies it: no timeout at all otherwise.
            timeout=timeout or self.timeout,
            allow_redirects=allow_redirects,
        )
        # TwilioRestException carries no headers, so the Retry-After of a 429 or 503 reaches the caller this way.
        _retry_after.set(_parse_retry_after(response.headers) if response.status_code >= 400 else None)
        return response


def _basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _parse_retry_after(headers: Mapping[str, Any] | None) -> float | None:
    """Seconds from a Retry-After header, given either as seconds or as an HTTP date."""
    raw = headers.get("Retry-After") if headers else None
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(raw).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _twilio_error(exc: TwilioRestException | TwilioServiceException, message: OutboundMessage) -> SendResult:
    """Classify an error answer from Twilio by its error code first and its HTTP status second."""
    status = int(exc.status or 0)
    code = exc.code or status
    if isinstance(exc, TwilioServiceException):
        text = f"{exc.title}: {exc.detail}" if exc.detail else exc.title
    else:
        text = exc.msg.removeprefix("Unable to create record: ")
    error = f"twilio {code}: {text}"[:500]
    fields = {"to": mask_phone(message.to), "ref": message.ref, "status": status, "code": code, "error": error}
    if code in OPTED_OUT_CODES:
        log.info("sms recipient opted out", **fields)
        return SendResult(ok=False, failure=Failure.opted_out, error=error)
    if code in BAD_RECIPIENT_CODES:
        log.info("sms recipient cannot receive", **fields)
        return SendResult(ok=False, failure=Failure.bad_recipient, error=error)
    if status == 429 or code == TOO_MANY_REQUESTS_CODE or status >= 500:
        log.warning("twilio busy or failing", **fields)
        return SendResult(ok=False, failure=Failure.transient, error=error, retry_after_s=_retry_after.get())
    if status in (401, 403) or code in ACCOUNT_PROBLEM_CODES:
        log.error("twilio refused our account or sender: check the TWILIO_* settings", **fields)
        return SendResult(ok=False, failure=Failure.transient, error=error)
    if 400 <= status < 500:
        log.warning("twilio rejected sms", **fields)
        return SendResult(ok=False, failure=Failure.rejected, error=error)
    log.warning("unexpected twilio answer", **fields)
    return SendResult(ok=False, failure=Failure.transient, error=error)
