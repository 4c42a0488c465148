"""A fake KMA weather-warning API (WthrWrnInfoService getPwnCd) that speaks its JSON, quirks included.

Raw ASGI like the fake Twilio. It answers as KMA does: result codes in a 200 body, one item as an object rather
than a list, result code 03 with no body items when nothing matches, and data.go.kr's gateway XML for a bad key.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from api.alerts.kma import (
    COMMAND_CODES,
    KIND_CODES,
    KST,
    LEVEL_CODES,
    PWN_CD_PATH,
    RESULT_MESSAGES,
    Command,
    WarningKind,
    WarningLevel,
)
from api.alerts.kma_areas import KMA_AREA_NAMES
from fakes.provider import FakeProvider, read_body

_KIND = {v: k for k, v in KIND_CODES.items()}
_LEVEL = {v: k for k, v in LEVEL_CODES.items()}
_COMMAND = {v: k for k, v in COMMAND_CODES.items()}
SEOUL_STATION = "109"  # 서울 regional office: announces for Seoul, Incheon and Gyeonggi

_GATEWAY_ERROR = (
    "<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>SERVICE ERROR</errMsg>"
    "<returnAuthMsg>SERVICE_KEY_IS_NOT_REGISTERED_ERROR</returnAuthMsg>"
    "<returnReasonCode>30</returnReasonCode></cmmMsgHeader></OpenAPI_ServiceResponse>"
)


def _tm(at: datetime | None) -> int:
    # KMA's JSON carries times as numbers, and 0 where a time does not apply.
    return int(at.astimezone(KST).strftime("%Y%m%d%H%M")) if at is not None else 0


class FakeKma(FakeProvider):
    """Holds the announcements it is given and serves them from getPwnCd; ``.serve()`` gives its server."""

    def __init__(self, service_key: str = "fake-kma-key") -> None:
        super().__init__()
        self.service_key = service_key
        self._items: list[dict[str, Any]] = []
        self._seq: dict[str, int] = {}
        self._fail_next: deque[str] = deque()
        self.queries: list[dict[str, str]] = []

    # -- controls (thread-safe; the server runs in another thread) -------------------------------------------------

    def issue(
        self,
        area: str,
        kind: WarningKind,
        level: WarningLevel,
        command: Command,
        at: datetime,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        seq: int | None = None,
        cancel: bool = False,
    ) -> dict[str, Any]:
        """Add one announcement line; an issue starts at ``at`` and a lift ends at ``at`` unless told otherwise."""
        if start is None and command in (Command.issue, Command.change_issue):
            start = at
        if end is None and command in (Command.lift, Command.change_lift):
            end = at
        month = at.astimezone(KST).strftime("%Y%m")
        with self._lock:
            if seq is None:
                self._seq[month] = seq = self._seq.get(month, 0) + 1
            item = {
                "stnId": SEOUL_STATION,
                "tmFc": _tm(at),
                "tmSeq": seq,
                "areaCode": area,
                "areaName": KMA_AREA_NAMES.get(area, area),
                "warnVar": _KIND[kind],
                "warnStress": _LEVEL[level],
                "command": _COMMAND[command],
                "startTime": _tm(start),
                "endTime": _tm(end),
                "allEndTime": 0,
                "cancel": int(cancel),
            }
            self._items.append(item)
        return dict(item)

    def fail_next(self, n: int, result_code: str = "22") -> None:
        """Answer the next ``n`` getPwnCd requests with KMA result ``result_code``, in a 200 body as KMA does."""
        with self._lock:
            self._fail_next.extend([result_code] * n)

    def reset(self) -> None:
        """Forget the announcements, the queries and every failure set up."""
        with self._lock:
            self._items.clear()
            self._seq.clear()
            self._fail_next.clear()
            self._clear_controls()
            self.queries.clear()

    def _control(self, command: Mapping[str, Any]) -> None:
        """KMA's own command: ``fail_next`` (a rule with ``n`` and ``result_code``, or a count)."""
        fail_next = command.get("fail_next")
        if isinstance(fail_next, Mapping):
            self.fail_next(int(fail_next.get("n", 1)), str(fail_next.get("result_code", "22")))
        elif fail_next is not None:
            self.fail_next(int(fail_next))

    # -- the ASGI app -----------------------------------------------------------------------------------------------

    async def _handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        path, method = scope["path"], scope["method"]
        if path == PWN_CD_PATH and method == "GET":
            query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
            status, content_type, payload = await self._pwn_cd(query)
            await _respond(send, status, payload, content_type)
        elif path == "/_fake/control" and method == "POST":
            try:
                self.control(json.loads(body or b"{}"))
            except (ValueError, KeyError, TypeError) as exc:
                await _respond(send, 400, json.dumps({"error": str(exc)}).encode())
                return
            await _respond(send, 200, b'{"ok": true}')
        else:
            await _respond(send, 404, b"Unexpected errors", "text/plain")

    async def _pwn_cd(self, query: dict[str, str]) -> tuple[int, str, bytes]:
        with self._lock:
            self.queries.append(query)
            delay, down = self._delay, self._down
            failure = self._fail_next.popleft() if self._fail_next and not down else None
            items = list(self._items)
        await self._observed(PWN_CD_PATH)
        if delay:
            await asyncio.sleep(delay)
        if down:
            return 503, "text/plain", b"Service Unavailable"
        if query.get("serviceKey") != self.service_key:
            return 200, "application/xml", _GATEWAY_ERROR.encode()
        if failure is not None:
            return 200, "application/json", _json(_header(failure))
        try:
            page_no = int(query.get("pageNo", "1"))
            rows = int(query.get("numOfRows", "10"))
        except ValueError:
            return 200, "application/json", _json(_header("10"))
        today = datetime.now(KST).strftime("%Y%m%d")
        first = int(query.get("fromTmFc") or today) * 10_000
        last = int(query.get("toTmFc") or today) * 10_000 + 2359
        matching = [
            item
            for item in items
            if first <= item["tmFc"] <= last
            and query.get("areaCode") in (None, "", item["areaCode"])
            and query.get("warningType") in (None, "", str(item["warnVar"]))
            and query.get("stnId") in (None, "", item["stnId"])
        ]
        # Newest first, as KMA lists announcements; readers must not rely on the order.
        matching.sort(key=lambda item: (item["tmFc"], item["tmSeq"]), reverse=True)
        page = matching[(page_no - 1) * rows : page_no * rows]
        if not page:
            return 200, "application/json", _json(_header("03"))
        payload = _header("00")
        payload["response"]["body"] = {
            "dataType": "JSON",
            "items": {"item": page[0] if len(page) == 1 else page},
            "pageNo": page_no,
            "numOfRows": rows,
            "totalCount": len(matching),
        }
        return 200, "application/json", _json(payload)


def _header(code: str) -> dict[str, Any]:
    return {"response": {"header": {"resultCode": code, "resultMsg": RESULT_MESSAGES.get(code, "UNKNOWN_ERROR")}}}


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


async def _respond(send: Any, status: int, body: bytes, content_type: str = "application/json") -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", f"{content_type}; charset=utf-8".encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
