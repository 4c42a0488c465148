"""KMA weather warnings (기상특보조회서비스 getPwnCd): parsing its JSON and an async client that reads every page.

Codes follow KMA's OpenAPI guide for WthrWrnInfoService (data.go.kr 15000415): warnVar, warnStress, command,
cancel, and the result codes of its "Open API 에러 코드" table.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

import httpx
import msgspec

from api.alerts.kma_areas import SEOUL_KMA_AREAS

KST = timezone(timedelta(hours=9), "KST")  # Korea has kept no daylight saving time since 1988
PWN_CD_PATH = "/1360000/WthrWrnInfoService/getPwnCd"

OK = "00"
NO_DATA = "03"
RESULT_MESSAGES: dict[str, str] = {
    "00": "NORMAL_SERVICE",
    "01": "APPLICATION_ERROR",
    "02": "DB_ERROR",
    "03": "NODATA_ERROR",
    "04": "HTTP_ERROR",
    "05": "SERVICETIMEOUT_ERROR",
    "10": "INVALID_REQUEST_PARAMETER_ERROR",
    "11": "NO_MANDATORY_REQUEST_PARAMETERS_ERROR",
    "12": "NO_OPENAPI_SERVICE_ERROR",
    "20": "SERVICE_ACCESS_DENIED_ERROR",
    "21": "TEMPORARILY_DISABLE_THE_SERVICEKEY_ERROR",
    "22": "LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR",
    "30": "SERVICE_KEY_IS_NOT_REGISTERED_ERROR",
    "31": "DEADLINE_HAS_EXPIRED_ERROR",
    "32": "UNREGISTERED_IP_ERROR",
    "33": "UNSIGNED_CALL_ERROR",
    "99": "UNKNOWN_ERROR",
}
# Errors on KMA's side that a later try may not meet; the rest need a person (a key, a parameter, a quota plan).
_TRANSIENT = frozenset({"01", "02", "04", "05", "21", "22", "99"})
# data.go.kr's gateway answers key and quota errors in XML whatever dataType asked for.
_GATEWAY_CODE = re.compile(r"<returnReasonCode>\s*(\d+)\s*</returnReasonCode>")
_GATEWAY_MSG = re.compile(r"<returnAuthMsg>\s*([^<]*?)\s*</returnAuthMsg>")


class KmaError(Exception):
    """KMA answered with a result code other than success or no-data."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"KMA result code {code}: {message}")
        self.code = code
        self.message = message

    @property
    def transient(self) -> bool:
        """Whether trying again later may succeed (KMA's own failures and quotas, not bad keys or parameters)."""
        return self.code in _TRANSIENT


class KmaUnavailable(Exception):
    """KMA could not be reached, timed out, or answered with something that is not its API."""


class WarningKind(StrEnum):
    strong_wind = "strong_wind"  # 1 강풍
    heavy_rain = "heavy_rain"  # 2 호우
    cold_wave = "cold_wave"  # 3 한파
    dry = "dry"  # 4 건조
    storm_surge = "storm_surge"  # 5 폭풍해일
    high_seas = "high_seas"  # 6 풍랑
    typhoon = "typhoon"  # 7 태풍
    heavy_snow = "heavy_snow"  # 8 대설
    yellow_dust = "yellow_dust"  # 9 황사
    heat_wave = "heat_wave"  # 12 폭염


class WarningLevel(StrEnum):
    advisory = "advisory"  # 0 주의보
    warning = "warning"  # 1 경보


class Command(StrEnum):
    issue = "issue"  # 1 발표
    lift = "lift"  # 2 해제
    extend = "extend"  # 3 연장
    correct = "correct"  # 6 정정
    change_issue = "change_issue"  # 7 변경발표
    change_lift = "change_lift"  # 8 변경해제


KIND_CODES: dict[int, WarningKind] = {
    1: WarningKind.strong_wind,
    2: WarningKind.heavy_rain,
    3: WarningKind.cold_wave,
    4: WarningKind.dry,
    5: WarningKind.storm_surge,
    6: WarningKind.high_seas,
    7: WarningKind.typhoon,
    8: WarningKind.heavy_snow,
    9: WarningKind.yellow_dust,
    12: WarningKind.heat_wave,
}
LEVEL_CODES: dict[int, WarningLevel] = {0: WarningLevel.advisory, 1: WarningLevel.warning}
COMMAND_CODES: dict[int, Command] = {
    1: Command.issue,
    2: Command.lift,
    3: Command.extend,
    6: Command.correct,
    7: Command.change_issue,
    8: Command.change_lift,
}
KIND_NAMES_KO: dict[WarningKind, str] = {
    WarningKind.strong_wind: "강풍",
    WarningKind.heavy_rain: "호우",
    WarningKind.cold_wave: "한파",
    WarningKind.dry: "건조",
    WarningKind.storm_surge: "폭풍해일",
    WarningKind.high_seas: "풍랑",
    WarningKind.typhoon: "태풍",
    WarningKind.heavy_snow: "대설",
    WarningKind.yellow_dust: "황사",
    WarningKind.heat_wave: "폭염",
}


class KmaWarning(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a KMA announcement: a command for one kind and level of warning in one area."""

    id: str
    area_code: str
    area_name: str
    station_id: str
    kind: WarningKind
    level: WarningLevel
    command: Command
    announced_at: datetime  # tmFc
    seq: int | None = None  # tmSeq, numbered within the month
    start_at: datetime | None = None  # startTime: in force from (given on issue)
    end_at: datetime | None = None  # endTime: lifted at (given on lift)
    all_end_at: datetime | None = None  # allEndTime: every warning in the announcement lifted
    cancelled: bool = False  # cancel=1: KMA withdrew this announcement

    @property
    def effective_at(self) -> datetime:
        """When the command takes effect: the start of an issue, the end of a lift, else the announcement."""
        return self.start_at or self.end_at or self.announced_at


class KmaPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of a getPwnCd answer."""

    items: list[KmaWarning]
    page_no: int
    num_of_rows: int
    total_count: int

    @property
    def has_more(self) -> bool:
        return self.page_no * self.num_of_rows < self.total_count


def parse_kma_time(value: Any) -> datetime | None:
    """A KMA ``yyyyMMddHHmm`` time in KST (a string or, in JSON, a number) as an aware UTC datetime; 0 or "" is none."""
    text = "" if value is None else str(value).strip()
    if text in ("", "0"):
        return None
    if not (len(text) == 12 and text.isdigit()):
        raise KmaError("99", f"time {value!r} is not yyyyMMddHHmm")
    try:
        local = datetime.strptime(text, "%Y%m%d%H%M").replace(tzinfo=KST)
    except ValueError:
        raise KmaError("99", f"time {value!r} is not a real date and time") from None
    return local.astimezone(UTC)


def result_code(value: Any) -> str:
    """KMA's result code as two digits: the guide writes 0 and 3, the service sends "00" and "03"."""
    text = str(value).strip()
    return f"{int(text):02d}" if text.isdigit() else text


def parse_pwn_cd(payload: Mapping[str, Any]) -> KmaPage:
    """A getPwnCd JSON answer (dataType=JSON) as a page of warnings; no data is an empty page, errors raise."""
    response = payload.get("response")
    if not isinstance(response, Mapping):
        raise KmaError("99", "answer has no 'response' object")
    header = response.get("header") or {}
    code = result_code(header.get("resultCode", "99"))
    body = response.get("body") or {}
    if code == NO_DATA:
        return KmaPage(
            items=[], page_no=_int(body.get("pageNo"), 1), num_of_rows=_int(body.get("numOfRows"), 0), total_count=0
        )
    if code != OK:
        raise KmaError(code, str(header.get("resultMsg") or RESULT_MESSAGES.get(code, "unknown result code")))
    items = body.get("items")
    # items arrives as {"item": [..]}, {"item": {..}} when there is one, and "" or {} when there is none.
    raw = items.get("item") if isinstance(items, Mapping) else None
    rows = [raw] if isinstance(raw, Mapping) else list(raw or [])
    warnings = [parse_item(row) for row in rows]
    return KmaPage(
        items=warnings,
        page_no=_int(body.get("pageNo"), 1),
        num_of_rows=_int(body.get("numOfRows"), len(warnings)),
        total_count=_int(body.get("totalCount"), len(warnings)),
    )


def parse_item(item: Mapping[str, Any]) -> KmaWarning:
    """One getPwnCd item."""
    area_code = str(item.get("areaCode") or "").strip()
    if not area_code:
        raise KmaError("99", f"item without an areaCode: {dict(item)!r}")
    kind = _coded(item, "warnVar", KIND_CODES)
    level = _coded(item, "warnStress", LEVEL_CODES)
    command = _coded(item, "command", COMMAND_CODES)
    announced_at = parse_kma_time(item.get("tmFc"))
    if announced_at is None:
        raise KmaError("99", f"item without a tmFc: {dict(item)!r}")
    seq = _int(item.get("tmSeq"), None)
    station = str(item.get("stnId") or "").strip()
    tm_fc = announced_at.astimezone(KST).strftime("%Y%m%d%H%M")
    # Stable across re-reads: one announcement has at most one line per area, kind, level and command.
    identifier = f"kma:{station}:{tm_fc}:{seq or 0}:{area_code}:{kind}:{level}:{command}"
    return KmaWarning(
        id=identifier,
        area_code=area_code,
        area_name=str(item.get("areaName") or "").strip(),
        station_id=station,
        kind=kind,
        level=level,
        command=command,
        announced_at=announced_at,
        seq=seq,
        start_at=parse_kma_time(item.get("startTime")),
        end_at=parse_kma_time(item.get("endTime")),
        all_end_at=parse_kma_time(item.get("allEndTime")),
        cancelled=_int(item.get("cancel"), 0) == 1,
    )


def _int(value: Any, default: Any) -> Any:
    text = "" if value is None else str(value).strip()
    return int(text) if text.lstrip("-").isdigit() else default


def _coded(item: Mapping[str, Any], field: str, codes: Mapping[int, Any]) -> Any:
    code = _int(item.get(field), None)
    if code not in codes:
        raise KmaError("99", f"{field} {item.get(field)!r} is not a known code ({', '.join(map(str, codes))})")
    return codes[code]


def gateway_error(text: str) -> KmaError | None:
    """The error in a data.go.kr gateway XML answer (bad key, quota), if it is one."""
    code = _GATEWAY_CODE.search(text)
    if code is None:
        return None
    message = _GATEWAY_MSG.search(text)
    normalised = result_code(code.group(1))
    return KmaError(normalised, message.group(1) if message else RESULT_MESSAGES.get(normalised, "gateway error"))


class KmaClient:
    """Reads KMA's warnings for Seoul's areas from getPwnCd.

    ``service_key`` is the *decoded* key from data.go.kr: httpx URL-encodes it, and the encoded one would be
    encoded twice.
    """

    def __init__(
        self,
        base_url: str,
        service_key: str,
        *,
        timeout_s: float = 10,
        page_size: int = 100,
        max_pages: int = 50,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + PWN_CD_PATH
        self._key = service_key
        self._timeout = timeout_s
        self._page_size = page_size
        self._max_pages = max_pages
        self._http = http

    async def warnings(
        self, *, since: datetime, now: datetime, areas: Collection[str] = SEOUL_KMA_AREAS
    ) -> list[KmaWarning]:
        """Every warning line announced in ``areas`` from ``since`` to ``now`` (inclusive), oldest first."""
        if since.tzinfo is None or now.tzinfo is None:
            raise ValueError("since and now must be aware datetimes")
        # The API filters by KST date only; the exact window is applied here.
        params = {
            "fromTmFc": since.astimezone(KST).strftime("%Y%m%d"),
            "toTmFc": now.astimezone(KST).strftime("%Y%m%d"),
        }
        found: dict[str, KmaWarning] = {}
        if self._http is not None:
            await self._read_areas(self._http, params, areas, found)
        else:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                await self._read_areas(http, params, areas, found)
        selected = [w for w in found.values() if since <= w.announced_at <= now]
        return sorted(selected, key=lambda w: (w.announced_at, w.seq or 0, w.area_code, w.id))

    async def _read_areas(
        self, http: httpx.AsyncClient, params: dict[str, str], areas: Collection[str], found: dict[str, KmaWarning]
    ) -> None:
        for area in areas:
            for page_no in range(1, self._max_pages + 1):
                page = await self.page(http, {**params, "areaCode": area}, page_no)
                found.update((w.id, w) for w in page.items)
                if not page.has_more or not page.items:
                    break
            else:
                raise KmaError("99", f"more than {self._max_pages} pages of warnings for {area}")

    async def page(self, http: httpx.AsyncClient, filters: Mapping[str, str], page_no: int) -> KmaPage:
        """One page of getPwnCd with ``filters`` (fromTmFc, toTmFc, areaCode, warningType, stnId)."""
        query = {
            "serviceKey": self._key,
            "pageNo": str(page_no),
            "numOfRows": str(self._page_size),
            "dataType": "JSON",
            **filters,
        }
        try:
            response = await http.get(self.url, params=query, timeout=self._timeout)
        except httpx.TransportError as e:
            raise KmaUnavailable(f"KMA getPwnCd unreachable: {type(e).__name__}: {e}") from e
        if response.status_code != httpx.codes.OK:
            raise KmaUnavailable(f"KMA getPwnCd answered HTTP {response.status_code}")
        try:
            payload = msgspec.json.decode(response.content)
        except msgspec.DecodeError:
            error = gateway_error(response.text)
            if error is not None:
                raise error from None
            raise KmaUnavailable(f"KMA getPwnCd answered something that is not JSON: {response.text[:200]!r}") from None
        if not isinstance(payload, Mapping):
            raise KmaUnavailable("KMA getPwnCd answered JSON that is not an object")
        return parse_pwn_cd(payload)
