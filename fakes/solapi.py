"""A fake SOLAPI (messages v4: send-many/detail, list-old) as the ``solapi`` SDK calls it, and SOLAPI's side of our
webhooks (delivery reports, and inbound texts in the format docs/messages.md designs).

It checks what the real one checks: the HMAC-SHA256 Authorization header (api key, date, salt, signature), the
registered sender, EUC-KR only, 90 bytes for an SMS and 2,000 for an LMS, and for 알림톡 the KakaoTalk channel and
template. A number can be made to have no KakaoTalk (``no_kakao``): its 알림톡 then goes as SMS or LMS unless
``disableSms`` was set. Failures on command like the other fakes: ``down``, ``delay``, ``fail_next``,
``fail_number`` (a SOLAPI status code for one number).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx

from fakes.provider import FakeProvider, read_body
from notifications.korean_text import LMS_MAX_BYTES, SMS_MAX_BYTES, encodable, euckr_bytes
from notifications.solapi_routes import SECRET_HEADER

SEND_PATH = "/messages/v4/send-many/detail"
LIST_PATH = "/messages/v4/list-old"
ACCOUNT_ID = "12925149"
_VARIABLE = re.compile(r"#\{[^}]*\}")

# SOLAPI's status codes and texts (docs: api-reference/message-status-codes) for those the fake plays.
STATUS: dict[str, str] = {
    "1010": "필수 입력 값 미입력",
    "1026": "중복 수신번호",
    "1029": "문자메시지의 경우 EUC-KR(완성형 한글) 범위 안에 있는 문자만 사용 합니다.",
    "1030": "잔액 부족",
    "1031": "SMS는 90byte LMS, MMS는 2000byte ATA, CTA는 한/영포함 1000자 CTI는 한/영포함 400자까지 사용 가능 합니다.",
    "1041": "유효한 플러스 친구 값이 아닙니다.",
    "1042": "유효한 템플릿 아이디가 아닙니다.",
    "1043": "등록한 템플릿과 내용이 다릅니다.",
    "1060": "차단된 수신번호",
    "1061": "사용자에 의해 수신거부 됨(080무료수신거부)",
    "1062": "발신번호 미등록",
    "2000": "정상 접수(이통사로 접수 예정) ",
    "2061": "사용자에 의해 수신거부 됨(080무료수신거부)",
    "3000": "이통사로 접수(리포트를 기다리는 중)",
    "3010": "수신번호 형식 오류",
    "3104": "카카오톡 미사용자",
    "4000": "수신 완료",
}
_HTTP_ERRORS = {
    429: ("TooManyRequests", "요청이 너무 많습니다."),
    500: ("InternalError", "서버 오류"),
    503: ("ServiceUnavailable", "서비스를 일시적으로 사용할 수 없습니다."),
}


def _id(prefix: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    return f"{prefix}4V{stamp}{secrets.token_hex(8).upper()}"


def signature_ok(header: str, api_key: str, api_secret: str) -> bool:
    """Whether an ``Authorization: HMAC-SHA256 ApiKey=…, Date=…, salt=…, signature=…`` header is ours."""
    scheme, _, rest = header.partition(" ")
    if scheme != "HMAC-SHA256":
        return False
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    fields = {k.lower(): v for k, v in fields.items()}
    date, salt, signature = fields.get("date", ""), fields.get("salt", ""), fields.get("signature", "")
    expected = hmac.new(api_secret.encode(), (date + salt).encode(), hashlib.sha256).hexdigest()
    key_ok = hmac.compare_digest(fields.get("apikey", "").encode(), api_key.encode())
    return bool(date and salt) and key_ok and hmac.compare_digest(signature.encode(), expected.encode())


class FakeSolapi(FakeProvider):
    """Records the messages it accepts; ``.app`` is the ASGI app, ``.serve()`` its server."""

    def __init__(
        self,
        *,
        api_key: str = "NCSFAKEKEY0000001",
        api_secret: str = "fake-solapi-secret",  # noqa: S107 - the fake's own, guards nothing
        sender: str = "0212345678",
        pfid: str = "KA01PF000000000000000000000000",
        templates: Mapping[str, str] | None = None,  # template id → its text, as registered with Kakao
        webhook_secret: str = "fake-solapi-webhook-secret",  # noqa: S107
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.api_secret = api_secret
        self.sender = sender
        self.pfid = pfid
        self.templates = dict(templates or {})
        self.webhook_secret = webhook_secret
        self._sent: list[dict[str, Any]] = []
        self._by_id: dict[str, dict[str, Any]] = {}
        self._failing: dict[str, str] = {}
        self._no_kakao: set[str] = set()
        self._fail_next: deque[int] = deque()
        self.requests = 0
        self.lookups = 0

    # -- controls (thread-safe; the server runs in another thread) -------------------------------------------------

    @property
    def sent(self) -> list[dict[str, Any]]:
        """The accepted messages, oldest first: messageId, to, from, text, type, delivered_as, customFields…"""
        with self._lock:
            return [dict(record) for record in self._sent]

    def fail_number(self, phone: str, status_code: str) -> None:
        """Refuse every message to ``phone`` (as sent: 01012345678) with a SOLAPI status code (1061, 1060, 3010…)."""
        with self._lock:
            self._failing[phone] = status_code

    def no_kakao(self, phone: str) -> None:
        """``phone`` has no KakaoTalk: its 알림톡 goes as SMS/LMS, or fails (3104) with ``disableSms``."""
        with self._lock:
            self._no_kakao.add(phone)

    def fail_next(self, n: int, status: int = 503) -> None:
        """Answer the next ``n`` send requests with HTTP ``status`` (500, 503, 429)."""
        with self._lock:
            self._fail_next.extend([status] * n)

    def reset(self) -> None:
        with self._lock:
            self._sent.clear()
            self._by_id.clear()
            self._failing.clear()
            self._no_kakao.clear()
            self._fail_next.clear()
            self._clear_controls()
            self.requests = 0
            self.lookups = 0

    def _control(self, command: Mapping[str, Any]) -> None:
        """SOLAPI's own commands: ``fail_number`` ({phone, code} or a list), ``no_kakao`` (numbers), ``fail_next``."""
        fail_number = command.get("fail_number")
        for rule in [fail_number] if isinstance(fail_number, Mapping) else fail_number or []:
            self.fail_number(str(rule["phone"]), str(rule["code"]))
        for phone in command.get("no_kakao") or []:
            self.no_kakao(str(phone))
        fail_next = command.get("fail_next")
        if isinstance(fail_next, Mapping):
            self.fail_next(int(fail_next.get("n", 1)), int(fail_next.get("status", 503)))
        elif fail_next is not None:
            self.fail_next(int(fail_next))

    # -- SOLAPI's side of the webhooks ------------------------------------------------------------------------------

    def report_body(self, message_id: str, status_code: str | None = None) -> list[dict[str, Any]]:
        """A delivery report as SOLAPI posts it (the SDK's ``SingleReportPayload``): final status of one message."""
        with self._lock:
            record = dict(self._by_id[message_id])
        code = status_code or record["final_status"]
        now = datetime.now(UTC).isoformat()
        data = {
            "messageId": message_id,
            "groupId": record["groupId"],
            "type": record["delivered_as"],
            "to": record["to"],
            "from": record["from"],
            "statusCode": code,
            "statusMessage": STATUS.get(code, ""),
            "dateProcessed": now,
            "dateReported": now,
            "dateReceived": now if code == "4000" else None,
            "networkCode": "SKT",
            "customFields": record["customFields"] or {},
        }
        return [{"eventDataId": _id("E"), "data": data, "retryCount": 0}]

    async def report(
        self, url: str, message_id: str, status_code: str | None = None, *, client: httpx.AsyncClient | None = None
    ) -> httpx.Response:
        """POST a delivery report for ``message_id`` to our webhook, with the shared secret."""
        return await self._post(url, self.report_body(message_id, status_code), client)

    async def inbound_sms(
        self, url: str, from_: str, text: str, *, to: str | None = None, client: httpx.AsyncClient | None = None
    ) -> httpx.Response:
        """POST an inbound text (someone replied to our 발신번호) in the format our webhook takes."""
        body = [
            {
                "eventDataId": _id("E"),
                "data": {
                    "messageId": _id("M"),
                    "type": "SMS" if euckr_bytes(text) <= SMS_MAX_BYTES else "LMS",
                    "from": from_,
                    "to": to or self.sender,
                    "text": text,
                    "dateReceived": datetime.now(UTC).isoformat(),
                },
                "retryCount": 0,
            }
        ]
        return await self._post(url, body, client)

    async def _post(self, url: str, body: Any, client: httpx.AsyncClient | None) -> httpx.Response:
        headers = {SECRET_HEADER: self.webhook_secret, "Content-Type": "application/json"}
        content = json.dumps(body, ensure_ascii=False).encode()
        if client is not None:
            return await client.post(url, content=content, headers=headers)
        async with httpx.AsyncClient(timeout=10) as own:
            return await own.post(url, content=content, headers=headers)

    # -- the ASGI app -----------------------------------------------------------------------------------------------

    async def _handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        body = await read_body(receive)
        if path == SEND_PATH and method == "POST":
            status, payload = await self._send_many(scope, body)
        elif path == LIST_PATH and method == "GET":
            status, payload = self._list(scope)
        elif path == "/_fake/sent" and method == "GET":
            query = parse_qs(scope.get("query_string", b"").decode())
            with self._lock:
                status, payload = 200, self._sent[int(query.get("after", ["0"])[0]) :]
        elif path == "/_fake/control" and method == "POST":
            try:
                self.control(json.loads(body or b"{}"))
            except (ValueError, KeyError, TypeError) as exc:
                status, payload = 400, {"error": str(exc)}
            else:
                status, payload = 200, {"ok": True}
        else:
            status, payload = 404, {"errorCode": "NotFound", "errorMessage": f"{method} {path}"}
        await _respond(send, status, payload)

    def _refusal(self, scope: dict[str, Any]) -> tuple[int, Any] | None:
        header = dict(scope["headers"]).get(b"authorization", b"").decode()
        if not signature_ok(header, self.api_key, self.api_secret):
            return 401, {
                "errorCode": "SignatureDoesNotMatch",
                "errorMessage": "Authorization 헤더가 올바르지 않습니다.",
            }
        return None

    async def _send_many(self, scope: dict[str, Any], body: bytes) -> tuple[int, Any]:
        with self._lock:
            self.requests += 1
            delay, down = self._delay, self._down
            failure = self._fail_next.popleft() if self._fail_next and not down else None
        await self._observed(SEND_PATH)
        if delay:
            # Slow, and the messages are accepted all the same, whether or not the client still waits.
            await asyncio.sleep(delay)
        if down or failure is not None:
            code, text = _HTTP_ERRORS.get(failure or 503, _HTTP_ERRORS[503])
            return failure or 503, {"errorCode": code, "errorMessage": text}
        refused = self._refusal(scope)
        if refused is not None:
            return refused
        try:
            request = json.loads(body)
            messages = request["messages"]
            assert isinstance(messages, list) and messages
        except (ValueError, KeyError, TypeError, AssertionError):
            return 400, {"errorCode": "ValidationError", "errorMessage": "messages 는 비어있지 않은 배열이어야 합니다."}
        group_id = _id("G")
        accepted: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        seen: set[str] = set()
        for message in messages:
            record = self._accept(
                message, group_id, duplicate=not request.get("allowDuplicates") and message.get("to") in seen
            )
            seen.add(str(message.get("to")))
            (accepted if record["statusCode"] == "2000" else failed).append(record)
        with self._lock:
            for record in accepted:
                self._sent.append(record)
                self._by_id[record["messageId"]] = record
        return 200, self._answer(group_id, accepted, failed, show=bool(request.get("showMessageList")))

    def _accept(self, message: Mapping[str, Any], group_id: str, *, duplicate: bool) -> dict[str, Any]:
        """The record of one message: accepted (status 2000) or refused with SOLAPI's status code."""
        to, text = str(message.get("to") or ""), message.get("text")
        kakao = message.get("kakaoOptions") or {}
        kind = message.get("type") or (
            "SMS" if text and encodable(text) and euckr_bytes(text) <= SMS_MAX_BYTES else "LMS"
        )
        record: dict[str, Any] = {
            "messageId": _id("M"),
            "groupId": group_id,
            "to": to,
            "from": message.get("from"),
            "text": text,
            "type": kind,
            "subject": message.get("subject"),
            "country": message.get("country", "82"),
            "customFields": message.get("customFields"),
            "kakaoOptions": kakao or None,
            "accountId": ACCOUNT_ID,
            "dateCreated": datetime.now(UTC).isoformat(),
        }
        with self._lock:
            forced, kakao_missing = self._failing.get(to), to in self._no_kakao
        code = forced or self._check(record, duplicate=duplicate)
        record["statusCode"] = code
        record["statusMessage"] = STATUS.get(code, "")
        record["delivered_as"], record["final_status"] = kind, "4000"
        if kind == "ATA" and kakao_missing:
            # No KakaoTalk: SOLAPI sends the text as SMS or LMS instead (대체 발송) unless told not to.
            if kakao.get("disableSms"):
                record["final_status"] = "3104"
            else:
                record["delivered_as"] = "SMS" if euckr_bytes(str(text)) <= SMS_MAX_BYTES else "LMS"
        return record

    def _check(self, record: Mapping[str, Any], *, duplicate: bool) -> str:
        text, kind = record["text"], record["type"]
        if not (record["to"] and record["from"] and text):
            return "1010"
        if duplicate:
            return "1026"
        if str(record["from"]).replace("-", "") != self.sender:
            return "1062"
        if not record["to"].isdigit() or not record["to"].startswith("01"):
            return "3010"
        if kind == "ATA":
            kakao = record["kakaoOptions"] or {}
            if kakao.get("pfId") != self.pfid:
                return "1041"
            template = self.templates.get(kakao.get("templateId"))
            if template is None:
                return "1042"
            if not _matches(template, text):
                return "1043"
            return "1031" if len(text) > 1000 else "2000"
        if not encodable(text):
            return "1029"
        limit = SMS_MAX_BYTES if kind == "SMS" else LMS_MAX_BYTES
        return "1031" if euckr_bytes(text) > limit else "2000"

    def _answer(
        self, group_id: str, accepted: list[dict[str, Any]], failed: list[dict[str, Any]], *, show: bool
    ) -> Any:
        now = datetime.now(UTC).isoformat()
        cash = {"requested": 0, "replacement": 0, "refund": 0, "sum": 0}
        total = len(accepted) + len(failed)
        group = {
            "count": {
                "total": total,
                "sentTotal": 0,
                "sentSuccess": 0,
                "sentPending": len(accepted),
                "sentReplacement": 0,
                "refund": 0,
                "registeredFailed": len(failed),
                "registeredSuccess": len(accepted),
            },
            "countForCharge": {"sms": {}, "lms": {}, "ata": {}},
            "balance": cash,
            "point": cash,
            "app": {"profit": {"sms": 0, "lms": 0, "ata": 0}, "appId": None},
            "log": [],
            "status": "SENDING" if accepted else "FAILED",
            "allowDuplicates": False,
            "isRefunded": False,
            "accountId": ACCOUNT_ID,
            "masterAccountId": None,
            "apiVersion": "4",
            "groupId": group_id,
            "price": {},
            "dateCreated": now,
            "dateUpdated": now,
        }
        keys = ("messageId", "to", "from", "type", "country", "statusCode", "statusMessage", "accountId")
        answer: dict[str, Any] = {
            "groupInfo": group,
            "failedMessageList": [{k: r[k] for k in keys} | {"customFields": r["customFields"]} for r in failed],
        }
        if show:
            answer["messageList"] = [{k: r[k] for k in keys} | {"customFields": r["customFields"]} for r in accepted]
        return answer

    def _list(self, scope: dict[str, Any]) -> tuple[int, Any]:
        """Messages by recipient (and sender) created since ``startDate``, as ``get_messages`` reads them."""
        with self._lock:
            self.lookups += 1
            down, records = self._down, [dict(r) for r in self._sent]
        if down:
            return 503, {"errorCode": "ServiceUnavailable", "errorMessage": ""}
        refused = self._refusal(scope)
        if refused is not None:
            return refused
        query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        try:
            since = datetime.fromisoformat(query["startDate"]) if "startDate" in query else None
            limit = int(query.get("limit", "20"))
        except ValueError as exc:
            return 400, {"errorCode": "ValidationError", "errorMessage": str(exc)}
        found = [
            r
            for r in records
            if r["to"] == query.get("to", r["to"])
            and r["from"] == query.get("from", r["from"])
            and (since is None or datetime.fromisoformat(r["dateCreated"]) >= since)
        ]
        keys = ("messageId", "groupId", "to", "from", "text", "type", "statusCode", "customFields", "dateCreated")
        listed = {r["messageId"]: {k: r[k] for k in keys} for r in found[:limit]}
        return 200, {"limit": limit, "messageList": listed, "startKey": query.get("startKey"), "nextKey": None}


def _matches(template: str, text: str) -> bool:
    """Whether ``text`` is the registered template with its ``#{variables}`` filled in."""
    pattern = ".+?".join(re.escape(part) for part in _VARIABLE.split(template))
    return re.fullmatch(pattern, text, flags=re.DOTALL) is not None


async def _respond(send: Any, status: int, payload: Any) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json; charset=utf-8")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
