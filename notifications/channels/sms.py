"""SMS through Twilio's Messages API, with the official SDK on its aiohttp client."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from email.utils import parsedate_to_datetime
from typing import Any, cast
from urllib.parse import urlencode

import aiohttp
import structlog
from twilio.base import values
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from api.platform.phones import mask_phone
from api.platform.settings import TwilioSettings
from notifications.channels.base import Failure, OutboundMessage, SendResult
from notifications.channels.sms_lookup import LookupFailed, find_accepted

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
    """Sends each message with ``messages.create`` (from a number or a messaging service), many at a time.

    A message whose earlier attempt went unanswered is first looked up at Twilio (``sms_lookup``), and sent
    again only if Twilio does not have it.
    """

    name = "sms"
    batch_size = 100

    def __init__(
        self,
        settings: TwilioSettings,
        *,
        status_callback: str | None,
        concurrency: int = 20,
        timeout_s: float | None = None,
    ) -> None:
        if not settings.enabled:
            raise ValueError("TwilioSmsChannel needs an account SID and an auth token")
        if not (settings.messaging_service_sid or settings.from_number):
            raise ValueError("TwilioSmsChannel needs a from number or a messaging service SID")
        self._settings = settings
        self._status_callback = status_callback
        self._timeout_s = timeout_s or settings.timeout_s
        self._semaphore = asyncio.Semaphore(concurrency)
        # A messaging service picks the sender from its pool; otherwise our own number sends.
        self._sender: dict[str, str] = (
            {"messaging_service_sid": settings.messaging_service_sid}
            if settings.messaging_service_sid
            else {"from_": str(settings.from_number)}
        )
        self._clients = LazyClient(settings, timeout_s=self._timeout_s)

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Send the messages concurrently; answers one result per message, in order, and never raises."""
        if not messages:
            return []
        client = self._twilio()
        found: set[str] = set()  # sids matched in this batch, so two messages cannot both claim one of them
        # gather runs each send in a task of its own, which keeps the Retry-After context variable per message.
        return list(await asyncio.gather(*(self._send_one(client, message, found) for message in messages)))

    async def aclose(self) -> None:
        """Close the aiohttp session under the SDK client."""
        await self._clients.aclose()

    def _twilio(self) -> Client:
        return self._clients.get()

    async def _send_one(self, client: Client, message: OutboundMessage, found: set[str]) -> SendResult:
        async with self._semaphore:
            _retry_after.set(None)
            if message.reconcile is not None:
                try:
                    sid = await find_accepted(client, message, self._settings, skip=found)
                except LookupFailed as exc:
                    # Nothing is sent while Twilio cannot say whether it has the message: a clean failure.
                    log.warning("sms lookup failed", to=mask_phone(message.to), ref=message.ref, error=str(exc))
                    return SendResult(ok=False, failure=Failure.transient, error=str(exc)[:500])
                if sid is not None:
                    found.add(sid)
                    log.info("sms found at twilio, not sent again", to=mask_phone(message.to), ref=message.ref, sid=sid)
                    return SendResult(ok=True, provider_id=sid, reconciled=True)
            try:
                sent = await client.messages.create_async(
                    to=message.to, body=message.body, status_callback=self._callback(message), **self._sender
                )
            except (TwilioRestException, TwilioServiceException) as exc:
                return _twilio_error(exc, message)
            except Exception as exc:  # no answer, or one that is not JSON
                return self._no_answer(exc, message)
        log.debug("sms sent", to=mask_phone(message.to), ref=message.ref, sid=sent.sid)
        return SendResult(ok=True, provider_id=sent.sid)

    def _callback(self, message: OutboundMessage) -> str | object:
        """The status-callback URL, naming the outbox row, so a callback tells us of a message whose answer was lost."""
        if not self._status_callback:
            return values.unset
        if message.ref is None:
            return self._status_callback
        separator = "&" if "?" in self._status_callback else "?"
        return f"{self._status_callback}{separator}{urlencode({'outbox': message.ref})}"

    def _no_answer(self, exc: Exception, message: OutboundMessage) -> SendResult:
        error = f"{type(exc).__name__}: {exc}"[:500]
        fields = {"to": mask_phone(message.to), "ref": message.ref, "error": error}
        if outcome_unknown(exc):
            log.warning("sms sent but unanswered: twilio may have it", **fields)
            # Wait at least twice the timeout before the one more try: by then Twilio has finished with the first.
            return SendResult(ok=False, failure=Failure.unknown, error=error, retry_after_s=2 * self._timeout_s)
        log.warning("sms send failed", **fields)
        return SendResult(ok=False, failure=Failure.transient, error=error)


def outcome_unknown(exc: BaseException) -> bool:
    """Whether the request may have reached Twilio: it went out, and no answer came back.

    A connect timeout or a refused connection sent nothing, so it is a clean failure; a read timeout, or the
    connection dropped while we waited for the answer, leaves the message maybe accepted.
    """
    if isinstance(exc, aiohttp.ConnectionTimeoutError | aiohttp.ClientConnectorError):
        return False
    return isinstance(
        exc, TimeoutError | aiohttp.ServerDisconnectedError | aiohttp.ClientOSError | aiohttp.ClientPayloadError
    )


def point_at(client: Client, base_url: str) -> None:
    """Send the client's ``api`` domain (Messages among it) to ``base_url`` instead of https://api.twilio.com."""
    # Domain.base_url is a plain attribute that Domain.absolute_url reads on every request, so this changes only
    # the host: the SDK still builds the path, signs in with Basic auth, encodes the form and parses errors.
    client.api.base_url = base_url.rstrip("/")
    # TWILIO_EDGE / TWILIO_REGION in the environment would rewrite the host to api.<edge>.<region>.twilio.com.
    client.edge = None
    client.region = None


class LazyClient:
    """The SDK's client on our aiohttp client, pointed at ``TWILIO_API_BASE_URL`` when set, built on first use
    (aiohttp wants a running event loop for its session, which a channel's __init__ may not have)."""

    def __init__(self, settings: TwilioSettings, *, timeout_s: float) -> None:
        self._settings = settings
        self._timeout_s = timeout_s
        self._client: Client | None = None

    def get(self) -> Client:
        if self._client is None:
            http_client = _HttpClient(timeout_s=self._timeout_s, logger=_sdk_log)
            client = Client(self._settings.account_sid, self._settings.auth_token, http_client=http_client)
            if self._settings.api_base_url:
                point_at(client, self._settings.api_base_url)
            self._client = client
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.http_client.close()


class _HttpClient(AsyncTwilioHttpClient):
    """The SDK's aiohttp client (no retries: the outbox retries), made to apply its timeouts and keep Retry-After."""

    def __init__(self, *, timeout_s: float, logger: logging.Logger) -> None:
        super().__init__(pool_connections=False, timeout=timeout_s, logger=logger)
        self.session = aiohttp.ClientSession(timeout=_timeouts(timeout_s))

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
        # Not the SDK's own request(): it takes one number for all timeouts (aiohttp's total), which cannot tell a
        # connect timeout from a read timeout; the session's timeouts apply instead.
        async with self.session.request(
            method.upper(),
            url,
            params=cast("Mapping[str, str] | None", params),  # the SDK's query values, strings already
            data=data,
            headers=headers,
            timeout=_timeouts(timeout or self.timeout),
            allow_redirects=allow_redirects,
        ) as answer:
            response = Response(answer.status, await answer.text(), answer.headers)
        # TwilioRestException carries no headers, so the Retry-After of a 429 or 503 reaches the caller this way.
        _retry_after.set(_parse_retry_after(response.headers) if response.status_code >= 400 else None)
        return response


def _timeouts(seconds: float) -> aiohttp.ClientTimeout:
    # Connecting and waiting for the answer are timed apart, so that a timeout says whether the request went out;
    # the total bounds an answer that trickles in.
    return aiohttp.ClientTimeout(total=3 * seconds, connect=seconds, sock_read=seconds)


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
