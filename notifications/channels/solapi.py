"""SMS, LMS and 알림톡 to Korean numbers through SOLAPI, with its official SDK (``solapi``) in a thread.

The SDK is synchronous (httpx, a new connection per call, httpx's default 5-second timeouts, three retries of a
failed connect), so each batch is one ``send-many/detail`` call run off the event loop. Its base URL is a plain
attribute, which is how tests and local runs point it at ``fakes.solapi``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import timedelta

import httpx
import pydantic
import structlog
from solapi import SolapiMessageService
from solapi.error.MessageNotReceiveError import MessageNotReceivedError
from solapi.model import KakaoOption, MessageType, RequestMessage, SendRequestConfig
from solapi.model.request.messages.get_messages import GetMessagesRequest
from solapi.model.response.send_message_response import SendMessageResponse

from api.platform.phones import mask_phone
from api.platform.settings import SolapiSettings
from notifications import korean_text
from notifications.channels.base import Failure, OutboundMessage, SendResult

log = structlog.get_logger(__name__)

# What the SDK waits for an answer (httpx's default; the SDK takes no timeout of its own).
SDK_TIMEOUT_S = 5.0
CLOCK_SKEW = timedelta(minutes=5)
LOOKUP_LIMIT = 100

# SOLAPI's message status codes (docs: api-reference/message-status-codes), in our terms.
OPTED_OUT_CODES = frozenset({"1061", "2061"})  # 080 무료수신거부: the person opted out at the carrier
BAD_RECIPIENT_CODES = frozenset({"1060", "2060", "3010", "3032", "3050"})  # blocked, malformed, no subscriber
# Our account, balance or sender is wrong: every message would fail alike until someone fixes it, so they wait.
ACCOUNT_CODES = frozenset({"1020", "1030", "1062", "2062", "2063", "2230"})
SERVER_CODES = frozenset({"1024", "2024", "3012", "3024"})  # SOLAPI's or the carrier's server failed
# Request-level error codes (a 4xx answer to the whole call) that are about our credentials or account.
_ACCOUNT_WORDS = ("ApiKey", "Signature", "Unauthorized", "Forbidden", "Balance", "Permission", "Date", "Salt")


class SolapiChannel:
    """Sends each batch of SMS to Korean numbers in one SOLAPI call; 알림톡 for templates registered with Kakao.

    A text of at most 90 bytes of EUC-KR goes as an SMS, a longer one as one LMS (2,000 bytes at most). A template
    named in ``SOLAPI_KAKAO_TEMPLATES`` goes as 알림톡, and SOLAPI sends it as SMS or LMS instead (대체 발송) when the
    recipient has no KakaoTalk. Every message carries its outbox id in ``customFields``, by which a result, a
    delivery report and a lookup after a lost answer find it.
    """

    name = "sms"
    batch_size = 500

    def __init__(self, settings: SolapiSettings) -> None:
        if not (settings.enabled and settings.api_key and settings.api_secret and settings.sender):
            raise ValueError("SolapiChannel needs an API key, its secret and a sender number")
        self._settings = settings
        self._sender = national(settings.sender)
        self._templates = settings.templates() if settings.kakao_pfid else {}
        self._service = SolapiMessageService(settings.api_key, settings.api_secret)
        if settings.base_url:
            self._service.base_url = settings.base_url.rstrip("/")

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Send the messages in one call; one result per message, in order, and never raises."""
        results: list[SendResult | None] = [None] * len(messages)
        found: set[str] = set()
        for i, message in enumerate(messages):
            if message.reconcile is not None:
                results[i] = await self._reconcile(message, found)
        requests: dict[int, RequestMessage] = {}
        for i, message in enumerate(messages):
            if results[i] is None:
                request = self._request(i, message)
                if isinstance(request, SendResult):
                    results[i] = request
                else:
                    requests[i] = request
        if requests:
            for i, result in (await self._send(requests, messages)).items():
                results[i] = result
        return [r or SendResult(ok=False, failure=Failure.transient, error="not answered") for r in results]

    async def aclose(self) -> None:
        return None  # the SDK opens and closes a connection per call

    def _request(self, i: int, message: OutboundMessage) -> RequestMessage | SendResult:
        """The SDK's message for ours, or the reason it cannot go (a non-Korean number, a text carriers refuse)."""
        if not korean_text.is_korean(message.to):
            return SendResult(ok=False, failure=Failure.bad_recipient, error="SOLAPI sends to Korean numbers only")
        try:
            text = korean_text.prepare(message.body)  # enqueued texts are already; older rows may not be
            size = korean_text.euckr_bytes(text)
        except korean_text.NotEucKr as exc:
            return SendResult(ok=False, failure=Failure.rejected, error=str(exc)[:500])
        if size > korean_text.LMS_MAX_BYTES:
            error = f"{size} bytes of EUC-KR: past an LMS's {korean_text.LMS_MAX_BYTES}"
            return SendResult(ok=False, failure=Failure.rejected, error=error)
        fields = {"n": str(i)} | ({"outbox": message.ref} if message.ref else {})
        common = {"from_": self._sender, "to": national(message.to), "text": text, "custom_fields": fields}
        template_id = self._templates.get(message.template or "")
        if template_id:
            kakao = KakaoOption(pf_id=self._settings.kakao_pfid, template_id=template_id, disable_sms=False)
            return RequestMessage(type=MessageType.ATA, kakao_options=kakao, **common)
        kind = MessageType.SMS if size <= korean_text.SMS_MAX_BYTES else MessageType.LMS
        return RequestMessage(type=kind, auto_type_detect=False, **common)

    async def _send(
        self, requests: dict[int, RequestMessage], messages: Sequence[OutboundMessage]
    ) -> dict[int, SendResult]:
        config = SendRequestConfig(allow_duplicates=True, show_message_list=True)
        try:
            response = await asyncio.to_thread(self._service.send, list(requests.values()), config)
        except MessageNotReceivedError as exc:  # every message of the call was refused, each with its code
            refused = {_index(f.custom_fields): _refused(f.status_code, f.status_message) for f in exc.failed_messages}
            return {i: r for i, r in refused.items() if i in requests}
        except Exception as exc:
            result = self._no_success(exc, len(requests))
            return dict.fromkeys(requests, result)
        return self._results(response, requests, messages)

    def _results(
        self, response: SendMessageResponse, requests: dict[int, RequestMessage], messages: Sequence[OutboundMessage]
    ) -> dict[int, SendResult]:
        results: dict[int, SendResult] = {}
        for failed in response.failed_message_list or []:
            i = _index(failed.custom_fields)
            results[i] = _refused(failed.status_code, failed.status_message)
            if i in requests:
                log.info("sms refused by solapi", to=mask_phone(messages[i].to), code=failed.status_code)
        for item in response.message_list or []:
            results[_index(item.custom_fields)] = SendResult(ok=True, provider_id=item.message_id)
        for i in requests:
            # Accepted, but not listed (SOLAPI lists them when asked, as we do): the report names it by outbox id.
            results.setdefault(i, SendResult(ok=True))
        log.debug("solapi batch sent", group=response.group_info.group_id, messages=len(requests))
        return {i: r for i, r in results.items() if i in requests}

    def _no_success(self, exc: Exception, count: int) -> SendResult:
        """A call that raised: whether SOLAPI may have the messages (unknown), will not (transient), or refused them."""
        error = f"{type(exc).__name__}: {exc}"[:500]
        if outcome_unknown(exc):
            log.warning("sms sent but unanswered: solapi may have them", messages=count, error=error)
            return SendResult(ok=False, failure=Failure.unknown, error=error, retry_after_s=2 * SDK_TIMEOUT_S)
        code = str(exc.args[0]) if exc.args and type(exc) is Exception else ""
        if code and len(exc.args) == 2:  # the SDK's error for a 4xx or 5xx answer: (errorCode, errorMessage)
            error = f"solapi {code}: {exc.args[1]}"[:500]
            if code == "UnknownError" or code == "TooManyRequests":
                log.warning("solapi busy or failing", error=error)
                return SendResult(ok=False, failure=Failure.transient, error=error)
            if any(word in code for word in _ACCOUNT_WORDS):
                log.error("solapi refused our account: check the SOLAPI_* settings", error=error)
                return SendResult(ok=False, failure=Failure.transient, error=error)
            log.warning("solapi rejected the call", error=error)
            return SendResult(ok=False, failure=Failure.rejected, error=error)
        log.warning("sms send failed", messages=count, error=error)
        return SendResult(ok=False, failure=Failure.transient, error=error)

    async def _reconcile(self, message: OutboundMessage, found: set[str]) -> SendResult | None:
        """The earlier attempt's message if SOLAPI has it; None to send; a failure if SOLAPI cannot be asked."""
        assert message.reconcile is not None
        since = message.reconcile.since - CLOCK_SKEW
        query = GetMessagesRequest(
            to=national(message.to), from_=self._sender, start_date=since.isoformat(), limit=LOOKUP_LIMIT
        )
        try:
            listed = await asyncio.to_thread(self._service.get_messages, query)
        except Exception as exc:
            error = f"could not look the earlier attempt up at SOLAPI: {type(exc).__name__}: {exc}"[:500]
            log.warning("sms lookup failed", to=mask_phone(message.to), ref=message.ref, error=error)
            return SendResult(ok=False, failure=Failure.transient, error=error)
        taken = message.reconcile.skip_ids | found
        for message_id, listed_message in sorted(listed.message_list.items()):
            ref = (listed_message.custom_fields or {}).get("outbox")
            if message_id not in taken and ref is not None and ref == message.ref:
                found.add(message_id)
                log.info("sms found at solapi, not sent again", to=mask_phone(message.to), ref=message.ref)
                return SendResult(ok=True, provider_id=message_id, reconciled=True)
        return None


def national(phone: str) -> str:
    """``+821012345678`` → ``01012345678``, as SOLAPI takes Korean numbers (and the 발신번호 in any spelling)."""
    digits = phone.replace("-", "").replace(" ", "")
    return "0" + digits[3:] if digits.startswith("+82") else digits


def outcome_unknown(exc: BaseException) -> bool:
    """Whether the call may have reached SOLAPI: it went out, and no answer (or an unreadable one) came back.

    A refused connection or a connect timeout sent nothing; a read timeout, a connection dropped while waiting,
    or a success answer we cannot read leaves the messages maybe accepted.
    """
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.WriteError):
        return False
    if isinstance(exc, httpx.ReadTimeout | httpx.ReadError | httpx.RemoteProtocolError | pydantic.ValidationError):
        return True
    # The SDK re-raises a 2xx answer that is not JSON as a bare Exception caused by the decode error; a 4xx one
    # that is not JSON escapes as the decode error itself, which is an error answer.
    return type(exc) is Exception and isinstance(exc.__cause__, json.JSONDecodeError)


def _index(fields: dict[str, str] | None) -> int:
    """The message's place in our batch, from the ``customFields`` we sent it with (-1 if it came back without)."""
    raw = (fields or {}).get("n", "")
    return int(raw) if raw.isdigit() else -1


def _refused(code: str, text: str) -> SendResult:
    """A message SOLAPI refused, by its status code."""
    error = f"solapi {code}: {text.strip()}"[:500]
    if code in OPTED_OUT_CODES:
        return SendResult(ok=False, failure=Failure.opted_out, error=error)
    if code in BAD_RECIPIENT_CODES:
        return SendResult(ok=False, failure=Failure.bad_recipient, error=error)
    if code in ACCOUNT_CODES:
        log.error("solapi refused our account or sender: check the SOLAPI_* settings", code=code, error=error)
        return SendResult(ok=False, failure=Failure.transient, error=error)
    if code in SERVER_CODES:
        return SendResult(ok=False, failure=Failure.transient, error=error)
    return SendResult(ok=False, failure=Failure.rejected, error=error)
