"""Push through Firebase Cloud Messaging with the Admin SDK, every answer translated into the dispatcher's terms."""

from __future__ import annotations

import asyncio
import email.utils
import threading
import time
import uuid
import warnings
from collections.abc import Sequence
from typing import Any

import firebase_admin
import google.auth.credentials
import httpx
import structlog
from firebase_admin import credentials, exceptions, messaging

from api.platform.settings import FcmSettings
from notifications.channels.base import Failure, OutboundMessage, SendResult, TopicResult

log = structlog.get_logger(__name__)

FCM_BASE_URL = "https://fcm.googleapis.com"
SEND_LIMIT = 500  # send_each_async refuses a longer list
TOPIC_LIMIT = 1000  # topic management refuses a longer list
DEFAULT_PROJECT_ID = "safecity-local"
FAKE_BEARER = "fake-token"  # what the static credential sends to a local endpoint, which checks only its presence
APNS_COLLAPSE_ID_MAX_BYTES = 64

# The exception classes the SDK derives from FCM's own error codes; they report the coarser rpc status as .code.
_FCM_CODES: tuple[tuple[type[exceptions.FirebaseError], str], ...] = (
    (messaging.UnregisteredError, "UNREGISTERED"),
    (messaging.SenderIdMismatchError, "SENDER_ID_MISMATCH"),
    (messaging.QuotaExceededError, "QUOTA_EXCEEDED"),
    (messaging.ThirdPartyAuthError, "THIRD_PARTY_AUTH_ERROR"),
)
_AUTH_CODES = ("UNAUTHENTICATED", "PERMISSION_DENIED", "THIRD_PARTY_AUTH_ERROR")
# Topic-management reasons that mean the token itself is no good. The SDK reports FCM's error code (or rpc status);
# older SDKs, on the legacy IID API, reported the lower-case names.
_TOPIC_BAD_TOKEN = frozenset(
    {
        "UNREGISTERED",
        "NOT_FOUND",
        "INVALID_ARGUMENT",
        "SENDER_ID_MISMATCH",
        "registration-token-not-registered",
        "invalid-argument",
    }
)


class _StaticToken(google.auth.credentials.Credentials):
    """A bearer token that never expires and never refreshes: for a local endpoint, which takes any token."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def refresh(self, request: Any) -> None:
        # Nothing to refresh against. The SDK's auth flow calls this on a 401, and raising here would fail the whole
        # batch rather than the one request.
        return None


class StaticCredential(credentials.Base):
    """A firebase_admin credential with a fixed token and project id, for the fake server."""

    def __init__(self, project_id: str, token: str = FAKE_BEARER) -> None:
        self.project_id = project_id
        self._credential = _StaticToken(token)

    def get_credential(self) -> google.auth.credentials.Credentials:
        return self._credential


class FcmChannel:
    """The push channel: per-device and per-topic messages, and topic subscriptions, through FCM HTTP v1.

    Owns a named firebase_admin App (never the default one), created here and deleted by ``aclose``.
    """

    name = "push"
    batch_size = SEND_LIMIT

    def __init__(self, settings: FcmSettings, *, timeout_s: float | None = None) -> None:
        if not settings.enabled:
            raise ValueError("FCM needs FCM_CREDENTIALS_FILE or FCM_ENDPOINT")
        timeout_s = timeout_s or settings.timeout_s
        self._timeout_s = timeout_s
        credential: credentials.Base
        if settings.credentials_file:
            credential = credentials.Certificate(settings.credentials_file)
            project_id = settings.project_id  # None: the SDK takes the one in the file
        else:
            project_id = settings.project_id or DEFAULT_PROJECT_ID
            credential = StaticCredential(project_id)
        options: dict[str, Any] = {"httpTimeout": timeout_s}
        if project_id:
            options["projectId"] = project_id
        self._app: firebase_admin.App | None = firebase_admin.initialize_app(
            credential, options, name=f"safecity-fcm-{uuid.uuid4().hex[:12]}"
        )
        try:
            self._service, self._http = _messaging_service(self._app, endpoint=settings.endpoint, timeout_s=timeout_s)
        except BaseException:
            # delete_app closes the messaging service, if one was made, with asyncio.run(): in a thread, so that inside
            # a running loop it works and the error that matters is the one raised.
            cleanup = threading.Thread(target=firebase_admin.delete_app, args=(self._app,), name="fcm-app-cleanup")
            cleanup.start()
            cleanup.join()
            raise
        self.project_id = self._app.project_id
        log.info("fcm channel ready", app=self._app.name, project_id=self.project_id, endpoint=settings.endpoint)

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Send each message; one result per message, in order. Never raises."""
        results: list[SendResult] = []
        for start in range(0, len(messages), SEND_LIMIT):
            results.extend(await self._send_batch(messages[start : start + SEND_LIMIT]))
        return results

    async def _send_batch(self, batch: Sequence[OutboundMessage], *, sift: bool = True) -> list[SendResult]:
        if self._app is None:
            return [SendResult(ok=False, failure=Failure.transient, error="channel closed") for _ in batch]
        fcm_messages = _fcm_messages(batch)
        try:
            response = await messaging.send_each_async(fcm_messages, dry_run=False, app=self._app)
        except ValueError as exc:
            # The SDK encodes the whole list before sending any of it, so one message it will not encode sinks them
            # all: refuse that one and send the rest (once; a second ValueError is not about the messages).
            if sift:
                return await self._send_encodable(batch, fcm_messages)
            return [_transient(exc) for _ in batch]
        except Exception as exc:
            log.warning("fcm batch failed", count=len(batch), error=f"{type(exc).__name__}: {exc}")
            return [_transient(exc) for _ in batch]
        results = [_send_result(m, r, self._timeout_s) for m, r in zip(batch, response.responses, strict=True)]
        _log_batch(results)
        return results

    async def _send_encodable(
        self, batch: Sequence[OutboundMessage], fcm_messages: list[messaging.Message]
    ) -> list[SendResult]:
        results: list[SendResult | None] = [None] * len(batch)
        keep: list[int] = []
        for i, fcm_message in enumerate(fcm_messages):
            try:
                str(fcm_message)  # Message.__str__ runs the SDK's encoder, and with it every check it makes
            except (ValueError, TypeError) as exc:
                results[i] = SendResult(ok=False, failure=Failure.rejected, error=f"INVALID_MESSAGE: {exc}"[:500])
            else:
                keep.append(i)
        if keep:
            sent = await self._send_batch([batch[i] for i in keep], sift=False)
            for i, result in zip(keep, sent, strict=True):
                results[i] = result
        return [r for r in results if r is not None]

    async def subscribe(self, tokens: Sequence[str], topic: str) -> list[TopicResult]:
        """Subscribe each token to the topic; one result per token, in order. Never raises."""
        return await self._manage_topic(tokens, topic, subscribe=True)

    async def unsubscribe(self, tokens: Sequence[str], topic: str) -> list[TopicResult]:
        """Unsubscribe each token from the topic; one result per token, in order. Never raises."""
        return await self._manage_topic(tokens, topic, subscribe=False)

    async def _manage_topic(self, tokens: Sequence[str], topic: str, *, subscribe: bool) -> list[TopicResult]:
        results: list[TopicResult] = []
        for start in range(0, len(tokens), TOPIC_LIMIT):
            results.extend(await self._manage_chunk(tokens[start : start + TOPIC_LIMIT], topic, subscribe))
        return results

    async def _manage_chunk(self, tokens: Sequence[str], topic: str, subscribe: bool) -> list[TopicResult]:
        if self._app is None:
            return _topic_failures(tokens, Failure.transient, "channel closed")
        results: list[TopicResult | None] = [
            None if token else TopicResult(token=token, ok=False, failure=Failure.bad_recipient, error="empty token")
            for token in tokens
        ]
        # An empty token would make the SDK refuse the whole call, so those are answered above and left out.
        positions = [i for i, token in enumerate(tokens) if token]
        if not positions:
            return [r for r in results if r is not None]
        # The v1 topic calls are per token (up to 100 at once) over the same single-attempt async client as sends;
        # the synchronous variants would go through requests, with urllib3 retrying 500/503 four times.
        call = messaging.subscribe_to_topic_async if subscribe else messaging.unsubscribe_from_topic_async
        try:
            response = await call([tokens[i] for i in positions], topic, app=self._app)
        except ValueError as exc:  # a malformed topic name: no retry will mend it
            return _topic_failures(tokens, Failure.rejected, f"INVALID_ARGUMENT: {exc}")
        except Exception as exc:
            log.warning("fcm topic call failed", topic=topic, count=len(tokens), error=f"{type(exc).__name__}: {exc}")
            return _topic_failures(tokens, Failure.transient, f"{type(exc).__name__}: {exc}")
        reasons = {error.index: str(error.reason) for error in response.errors}
        for j, i in enumerate(positions):
            reason = reasons.get(j)
            if reason is None:
                results[i] = TopicResult(token=tokens[i], ok=True)
            else:
                failure = Failure.bad_recipient if reason in _TOPIC_BAD_TOKEN else Failure.transient
                results[i] = TopicResult(token=tokens[i], ok=False, failure=failure, error=reason[:500])
        return [r for r in results if r is not None]

    async def aclose(self) -> None:
        """Close the HTTP clients and delete the firebase_admin App; safe to call twice."""
        if self._app is None:
            return
        app, self._app = self._app, None
        # delete_app closes the messaging service with asyncio.run(), which cannot run inside a running loop. Close
        # the async client here; delete_app's second close of it is then a no-op, in a thread with no loop. (The
        # service's synchronous requests session is never used by the async calls, so it holds no connections.)
        await self._http.aclose()
        await asyncio.to_thread(firebase_admin.delete_app, app)


def _messaging_service(app: firebase_admin.App, *, endpoint: str | None, timeout_s: float) -> tuple[Any, Any]:
    """The app's messaging service, sending to ``endpoint`` if given, one attempt per call; and the client put in it.

    The one place this module uses firebase-admin's private API, because the public API cannot do either thing:
    - point messaging at another host: the SDK builds its FCM URLs on a hard-coded fcm.googleapis.com (its emulator
      variables cover other products only), so for the fake server those URLs are rewritten;
    - turn off the SDK's retries: its async client retries 500 and 503 four times with backoff inside
      send_each_async, holding the whole batch for seconds while FCM is down. The outbox already retries each
      message with its own backoff (and honours Retry-After), so make one attempt and report the outage at once.
    tests/notifications/test_fcm_private_api.py checks every piece of it, so an upgrade that moves one fails there,
    naming the version; here a missing piece fails loudly at start-up rather than sending to the wrong place.
    """
    from firebase_admin import _http_client  # private: see above
    from firebase_admin._retry import HttpxRetry

    service = messaging._get_messaging_service(app)
    if endpoint:
        base = endpoint.rstrip("/")
        for attr in ("_fcm_url", "_fcm_topic_url"):
            url = getattr(service, attr, None)
            if not isinstance(url, str) or not url.startswith(FCM_BASE_URL):
                raise RuntimeError(
                    f"firebase-admin {firebase_admin.__version__}: messaging {attr} is {url!r}, expected a URL under "
                    f"{FCM_BASE_URL}; notifications/channels/fcm.py cannot point it at {endpoint}"
                )
            setattr(service, attr, base + url[len(FCM_BASE_URL) :])
    if not hasattr(service, "_async_client"):
        raise RuntimeError(f"firebase-admin {firebase_admin.__version__}: the messaging service has no _async_client")
    # max_retries=0 is one try. http2 stays on as the SDK has it: one multiplexed connection to FCM; over plain
    # http:// (the fake) HTTP/1.1.
    client = _http_client.HttpxAsyncClient(
        credential=app.credential.get_credential(), retry_config=HttpxRetry(max_retries=0), timeout=timeout_s
    )
    service._async_client = client
    return service, client


def _fcm_messages(batch: Sequence[OutboundMessage]) -> list[messaging.Message]:
    with warnings.catch_warnings():
        # firebase-admin 7 deprecates Message.token in favour of Firebase installation IDs; our apps hand us FCM
        # registration tokens, which FCM v1 takes as "token". The SDK silences the same warning internally.
        warnings.filterwarnings("ignore", message="Message.token is deprecated", category=DeprecationWarning)
        return [_fcm_message(m) for m in batch]


def _fcm_message(m: OutboundMessage) -> messaging.Message:
    """One OutboundMessage as the SDK's Message: urgent ones at high priority on both platforms.

    Every copy of a notice carries the notice's id as Android's collapse key and notification tag and as APNs'
    collapse id, so that a copy sent again (after an attempt whose answer was lost) replaces the first one on the
    phone instead of showing beside it. (FCM keeps notification messages collapsible whatever the key; the tag is
    what replaces the notification on Android.)
    """
    target = {"topic": m.to} if m.topic else {"token": m.to}
    headers = {"apns-priority": "10" if m.urgent else "5"}
    # APNs refuses a longer collapse id, and the whole message with it; a notice id is at most 19 digits.
    fits = m.collapse_id is not None and len(m.collapse_id.encode()) <= APNS_COLLAPSE_ID_MAX_BYTES
    collapse = m.collapse_id if fits else None
    if collapse is not None:
        headers["apns-collapse-id"] = collapse
    return messaging.Message(
        notification=messaging.Notification(title=m.title, body=m.body),
        data=dict(m.data) or None,
        android=messaging.AndroidConfig(
            priority="high" if m.urgent else "normal",
            collapse_key=collapse,
            notification=messaging.AndroidNotification(tag=collapse) if collapse is not None else None,
        ),
        apns=messaging.APNSConfig(headers=headers),
        **target,
    )


def _send_result(message: OutboundMessage, response: messaging.SendResponse, timeout_s: float) -> SendResult:
    if response.success:
        return SendResult(ok=True, provider_id=response.message_id)
    exc = response.exception
    if exc is None:
        return SendResult(ok=False, failure=Failure.transient, error="UNKNOWN: FCM returned no message id")
    error = f"{_error_code(exc)}: {exc}"[:500]
    if outcome_unknown(exc):
        # FCM may be delivering it. One more try, no sooner than twice the timeout; the collapse id makes it harmless.
        return SendResult(ok=False, failure=Failure.unknown, error=error, retry_after_s=2 * timeout_s)
    if isinstance(exc, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return SendResult(ok=False, failure=Failure.bad_recipient, error=error)
    if isinstance(exc, exceptions.InvalidArgumentError):
        # FCM says INVALID_ARGUMENT both for a malformed token and for a payload it will not take (too big, a reserved
        # data key). Only the first means the token is no good; forgetting tokens over the second would silence
        # every device a bad broadcast went to.
        bad_token = not message.topic and _blames_token(exc)
        return SendResult(ok=False, failure=Failure.bad_recipient if bad_token else Failure.rejected, error=error)
    # Everything else is worth another try: outages, quota, timeouts, and auth or permission trouble, which is
    # configuration an operator fixes. Losing alerts over it would be worse than retrying them.
    return SendResult(ok=False, failure=Failure.transient, error=error, retry_after_s=_retry_after(exc))


def outcome_unknown(exc: BaseException) -> bool:
    """Whether FCM may have the message: the request went out and no answer came back.

    The SDK wraps httpx's error as the cause of its own. Refused, a connect timeout, no free connection in the pool,
    or a request not fully written: FCM has nothing. A read timeout, or the connection dropped before the answer:
    it may have.
    """
    cause = getattr(exc, "cause", None) or exc.__cause__
    return isinstance(cause, httpx.ReadTimeout | httpx.ReadError | httpx.RemoteProtocolError)


def _transient(exc: BaseException) -> SendResult:
    """A message the whole call failed for, through no fault of its own: worth another try."""
    return SendResult(ok=False, failure=Failure.transient, error=f"{_error_code(exc)}: {exc}"[:500])


def _error_code(exc: BaseException) -> str:
    for exc_type, code in _FCM_CODES:
        if isinstance(exc, exc_type):
            return code
    return str(getattr(exc, "code", None) or type(exc).__name__)


def _blames_token(exc: exceptions.FirebaseError) -> bool:
    """Whether an INVALID_ARGUMENT answer is about the registration token rather than the payload."""
    if "registration token" in str(exc).lower():
        return True
    try:
        details = exc.http_response.json()["error"]["details"]
    except Exception:  # no response, not JSON, or not the usual shape: then it does not say
        return False
    return any(
        violation.get("field") == "message.token"
        for detail in details
        if isinstance(detail, dict)
        for violation in detail.get("fieldViolations", ())
        if isinstance(violation, dict)
    )


def _retry_after(exc: BaseException) -> float | None:
    """Seconds from the response's Retry-After header (delta-seconds or an HTTP date), if it has one."""
    response = getattr(exc, "http_response", None)
    value = response.headers.get("retry-after") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _topic_failures(tokens: Sequence[str], failure: Failure, error: str) -> list[TopicResult]:
    return [TopicResult(token=token, ok=False, failure=failure, error=error[:500]) for token in tokens]


def _log_batch(results: list[SendResult]) -> None:
    failed = [r for r in results if not r.ok]
    if not failed:
        log.debug("fcm batch sent", count=len(results))
        return
    by_failure: dict[str, int] = {}
    for r in failed:
        by_failure[str(r.failure)] = by_failure.get(str(r.failure), 0) + 1
    auth = next((r.error for r in failed if r.error and r.error.startswith(_AUTH_CODES)), None)
    log.info("fcm batch sent", count=len(results), failed=by_failure, sample_error=failed[0].error)
    if auth:
        # A credentials or permissions problem will not go away by retrying; someone has to fix the configuration.
        log.warning("fcm refused our credentials", error=auth)
