"""Open311 GeoReport v2 under ``/open311/v2/``, in XML and JSON, so existing Open311 clients can use safecity.

Services are the hazard categories; a service request is one report (its status is its incident's: open while
submitted, acknowledged or in progress; closed once resolved or rejected, with the reason in status_notes).
Reading is public. Creating needs an API key: a safecity bearer token, either a citizen's (whose reports they
then follow in the app) or a service token with the ``open311:submit`` scope
(``safecity token --role service --scope open311:submit``), sent as
``Authorization: Bearer …`` or as the ``api_key`` form field. Requests are created in real time, so no tokens
are issued; ``tokens/{id}`` answers for a request id, for clients that ask anyway. Personal fields of the spec
(email, names, phone, device and account ids) are ignored, never stored. ``lat`` and ``long`` are required,
since safecity groups reports by place and does not geocode ``address_string``.

Only public reports are service requests here (api.hazards.public): every request filed through this
interface, and app reports whose reporter chose so; any other id is 404, as if it did not exist. Their
descriptions and status notes are shown without phone numbers or e-mail addresses; an app report shows on
the ~50 m grid and without its address; who sent a request is never shown.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
import structlog
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import FromPath, FromQuery
from litestar.status_codes import HTTP_200_OK

from api.hazards import messages, public, repository, routing, service
from api.hazards import open311_attributes as attributes
from api.hazards.open311_schema import (
    DISCOVERY,
    SERVICE,
    SERVICE_DEFINITION,
    SERVICE_REQUEST,
    TOKEN,
    answers,
    creates,
)
from api.hazards.schemas import OPEN_STATUSES, Category, HazardReportCreate
from api.platform.auth.guards import PUBLIC
from api.platform.auth.tokens import InvalidToken, Principal, Role, Scope
from api.platform.db.pool import Db
from api.platform.errors import EXCEPTION_HANDLERS, Problem

log = structlog.get_logger(__name__)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-02T00:00:00+09:00"  # when this endpoint's behaviour last changed
SEOUL = ZoneInfo("Asia/Seoul")
MAX_REQUESTS = 1000
MAX_SPAN = timedelta(days=90)
# Litestar adds "; charset=utf-8" to text types itself.
_MEDIA = {"json": "application/json; charset=utf-8", "xml": "text/xml"}
# Each list's item element in XML (the JSON is the same data by the Spark convention: lists become arrays).
_ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CLOSED = ("resolved", "rejected", "merged")


class Open311Error(Problem):
    """A failure reported in Open311's error format."""


def _format(request: Request[Any, Any, Any]) -> str:
    return "json" if request.url.path.endswith(".json") else "xml"


def _split(ref: str) -> str:
    """The id in ``{id}.json`` or ``{id}.xml``."""
    stem, dot, fmt = ref.rpartition(".")
    if not dot or fmt not in _MEDIA or not stem:
        raise Open311Error(f"{ref!r}: add .json or .xml to choose the format.")
    return stem


def _render(fmt: str, root: str, value: Any, *, status: int = HTTP_200_OK) -> Response[bytes]:
    if fmt == "json":
        body = msgspec.json.encode(value)
    else:
        element = ET.Element(root)
        _fill(element, root, value)
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element, encoding="unicode").encode()
    return Response(body, status_code=status, media_type=_MEDIA[fmt])


def _fill(element: ET.Element, tag: str, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, _ITEM_TAGS[tag]), _ITEM_TAGS[tag], item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), key, item)
    elif value is not None:
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        element.text = _NOT_XML.sub("", text)


def _errors(fmt: str, status: int, description: str) -> Response[bytes]:
    return _render(fmt, "errors", [{"code": status, "description": description}], status=status)


def _on_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    fmt = _format(request)
    if isinstance(exc, Problem):
        return _errors(fmt, exc.status, exc.detail)
    if isinstance(exc, ValidationException):
        extra = exc.extra if isinstance(exc.extra, list) else []
        reasons = [f"{e.get('key')}: {e.get('message')}" if isinstance(e, dict) else str(e) for e in extra]
        return _errors(fmt, 400, "; ".join(reasons) or str(exc.detail))
    if isinstance(exc, asyncpg.DataError):
        return _errors(fmt, 400, f"A value cannot be stored: {exc}.")
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return _errors(fmt, exc.status_code, str(exc.detail))
    log.exception("unhandled error", path=request.url.path, method=request.method)
    return _errors(fmt, 500, "Something went wrong on our side; try again.")


def _w3(at: datetime) -> str:
    return at.astimezone(SEOUL).isoformat(timespec="seconds")


def _lang(request: Request[Any, Any, Any], *also: str | None) -> str:
    """English when ``locale`` (GeoReport v2's parameter: ``en``, ``en_US``, ``en-GB``…) or ``lang`` asks for it."""
    given = [request.query_params.get("locale"), request.query_params.get("lang"), *also]
    chosen = next((g.strip() for g in given if g and g.strip()), "ko")
    return "en" if chosen.lower().replace("-", "_").split("_")[0] == "en" else "ko"


def _service(code: str, lang: str) -> dict[str, Any]:
    text = messages.CATEGORIES[code]
    return {
        "service_code": code,
        "service_name": text.en if lang == "en" else text.ko,
        "description": text.about_en if lang == "en" else text.about_ko,
        "metadata": bool(attributes.of(code)),
        "type": "realtime",
        "keywords": text.ko if lang == "en" else text.en,
        "group": text.group,
    }


def _deadline(minutes: int, lang: str) -> str:
    if minutes % (24 * 60) == 0:
        n = minutes // (24 * 60)
        return f"{n} day{'s' if n > 1 else ''}" if lang == "en" else f"{n}일"
    if minutes % 60 == 0:
        n = minutes // 60
        return f"{n} hour{'s' if n > 1 else ''}" if lang == "en" else f"{n}시간"
    return f"{minutes} minutes" if lang == "en" else f"{minutes}분"


def _notice(row: Any, lang: str) -> str | None:
    """What is expected to happen: who acts, and by when (in Seoul time)."""
    if row["status"] in _CLOSED or row["due_at"] is None:
        return None
    who = routing.agency(row["district"], row["department_ko"], row["department_en"], lang)
    due = row["due_at"].astimezone(SEOUL).strftime("%Y-%m-%d %H:%M")
    if lang == "en":
        return f"{who} aims to deal with it by {due} (Seoul time)."
    return f"{who}에서 {due}까지 처리할 예정입니다."


def _request(row: Any, lang: str, base: str) -> dict[str, Any]:
    lat, lon = public.point(row["lat"], row["lon"], source=row["source"])
    media = row["media_url"] or (f"{base}/v1/hazard-photos/{row['photo_id']}" if row["photo_id"] else None)
    return {
        "service_request_id": row["id"],
        "status": "closed" if row["status"] in _CLOSED else "open",
        "status_notes": public.text(row["status_reason"]),
        "service_name": messages.category_name(row["category"], lang),
        "service_code": row["category"],
        "description": public.text(row["description"]) or None,
        "agency_responsible": routing.agency(row["district"], row["department_ko"], row["department_en"], lang),
        "service_notice": _notice(row, lang),
        "requested_datetime": _w3(row["reported_at"]),
        "updated_datetime": _w3(row["updated_at"]),
        "expected_datetime": _w3(row["due_at"]) if row["due_at"] and row["status"] not in _CLOSED else None,
        "address": public.address(row["address"], source=row["source"]),
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": media,
    }


def _base(request: Request[Any, Any, Any]) -> str:
    return (request.app.state.settings.notify.public_url or str(request.base_url)).rstrip("/")


def _when(raw: str | None, name: str) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    try:
        at = datetime.fromisoformat(raw.strip())
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise Open311Error(f"{name} must be a w3 date-time with a zone, e.g. 2026-11-01T00:00:00+09:00.")
    return at


def _date_range(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    if start is None:
        end = now if end is None else end
        return end - MAX_SPAN, end
    if end is None:
        return start, start + MAX_SPAN
    if end < start:
        raise Open311Error("end_date is before start_date.")
    if end - start > MAX_SPAN:
        raise Open311Error("start_date and end_date may not span more than 90 days.")
    return start, end


def _csv(raw: str | None) -> list[str] | None:
    values = [v.strip() for v in (raw or "").split(",") if v.strip()]
    return values or None


def _ids(raw: str | None) -> list[int] | None:
    values = _csv(raw)
    if values is None:
        return None
    if len(values) > MAX_REQUESTS or not all(v.isdigit() and 0 < int(v) < 2**63 for v in values):
        raise Open311Error(f"service_request_id takes up to {MAX_REQUESTS} request ids, comma separated.")
    return [int(v) for v in values]


def _authenticate(request: Request[Any, Any, Any], form: dict[str, str]) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, bearer = header.partition(" ")
    key = bearer.strip() if scheme.lower() == "bearer" else ""
    key = key or form.get("api_key", "").strip() or request.query_params.get("api_key", "").strip()
    if not key:
        raise Open311Error(
            "An api_key is required to create a request: a safecity citizen or service token.", status=403
        )
    try:
        principal = request.app.state.tokens.verify(key)
    except InvalidToken as exc:
        raise Open311Error(f"Invalid api_key: {exc}.", status=403) from None
    if principal.role not in (Role.citizen, Role.service) or (
        principal.role is Role.citizen and principal.citizen_id is None
    ):
        raise Open311Error("This api_key may not create requests: use a citizen or service token.", status=403)
    if principal.role is Role.service and not principal.has_scope(Scope.open311_submit):
        raise Open311Error(
            f"This api_key may not create requests: a service token needs the {Scope.open311_submit.value} scope.",
            status=403,
        )
    return principal


def _report_input(form: dict[str, str]) -> HazardReportCreate:
    code = form.get("service_code", "").strip()
    if not code:
        raise Open311Error("service_code is required; GET services lists them.")
    if code not in messages.CATEGORIES:
        raise Open311Error(
            f"service_code {code!r} was not found; the services are: {', '.join(messages.CATEGORIES)}.", status=404
        )
    lat, lon = form.get("lat", "").strip(), form.get("long", "").strip()
    if not lat or not lon:
        raise Open311Error(
            "lat and long are required: safecity places reports by coordinates and does not geocode "
            "address_string or address_id."
        )
    try:
        location = {"lat": float(lat), "lon": float(lon), "address": form.get("address_string") or None}
    except ValueError:
        raise Open311Error("lat and long must be decimal degrees (WGS84).") from None
    body = {"category": code, "location": location, "description": form.get("description", "")}
    try:
        return msgspec.convert(body, HazardReportCreate)
    except msgspec.ValidationError as exc:
        raise Open311Error(f"The request is invalid: {exc}.") from None


async def _fields(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The posted fields, form-encoded (as the spec has it) or a JSON object of the same names.

    In JSON, attributes may be ``"attribute[code]": key`` as in a form, or ``"attribute": {code: key}``; numbers
    (``lat``, ``long``) may be numbers.
    """
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raw = await request.form()
        return {k: v for k, v in raw.items() if isinstance(v, str)}
    try:
        body = msgspec.json.decode(await request.body())
    except msgspec.DecodeError as exc:
        raise Open311Error(f"The JSON body cannot be read: {exc}.") from None
    if not isinstance(body, dict):
        raise Open311Error("The JSON body must be an object of the request's fields (service_code, lat, long, ...).")
    fields: dict[str, str] = {}
    for key, value in body.items():
        if key == "attribute" and isinstance(value, dict):
            fields.update({f"attribute[{k}]": str(v) for k, v in value.items()})
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            fields[key] = str(value)
        elif value is not None:
            raise Open311Error(f"{key} must be a string or a number.")
    return fields


def _media_url(form: dict[str, str]) -> str | None:
    url = form.get("media_url", "").strip()
    if not url:
        return None
    if not re.match(r"^https?://\S+$", url) or len(url) > 2000:
        raise Open311Error("media_url must be an http(s) URL of at most 2,000 characters.")
    return url


class Open311Controller(Controller):
    path = "/open311/v2"
    tags = ["open311"]
    # Every failure here, the framework's own included, answers in Open311's error format.
    exception_handlers = dict.fromkeys(EXCEPTION_HANDLERS, _on_error)

    @get(["/discovery.json", "/discovery.xml"], opt=PUBLIC, operation_class=answers(DISCOVERY, many=False))
    async def discovery(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Service discovery: where this GeoReport v2 endpoint is and what it speaks."""
        base = request.app.state.settings.notify.public_url or str(request.base_url)
        doc = {
            "changeset": CHANGESET,
            "contact": "safecity operators, Seoul Metropolitan Government",
            "key_service": "API keys are safecity bearer tokens: a citizen's, or a service token from operators.",
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": base.rstrip("/") + "/open311/v2",
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        }
        return _render(_format(request), "discovery", doc)

    @get(["/services.json", "/services.xml"], opt=PUBLIC, operation_class=answers(SERVICE))
    async def services(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """The hazard categories, as Open311 services (``lang=en`` for English; Korean by default)."""
        return _render(_format(request), "services", [_service(c.value, _lang(request)) for c in Category])

    @get("/services/{ref:str}", opt=PUBLIC, operation_class=answers(SERVICE_DEFINITION, many=False))
    async def service_definition(self, request: Request[Any, Any, Any], ref: FromPath[str]) -> Response[bytes]:
        """A service's definition: the questions it asks besides the description (``attribute[code]=key``)."""
        code = _split(ref)
        if code not in messages.CATEGORIES:
            raise Open311Error(f"service_code {code!r} was not found.", status=404)
        questions = attributes.definition(code, _lang(request))
        return _render(_format(request), "service_definition", {"service_code": code, "attributes": questions})

    @get(["/requests.json", "/requests.xml"], opt=PUBLIC, operation_class=answers(SERVICE_REQUEST))
    async def list_requests(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        service_request_id: FromQuery[str | None] = None,
        service_code: FromQuery[str | None] = None,
        start_date: FromQuery[str | None] = None,
        end_date: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """Service requests, newest first: the last 90 days by default, at most 1,000."""
        codes = _csv(service_code)
        unknown = [c for c in codes or [] if c not in messages.CATEGORIES]
        if unknown:
            raise Open311Error(
                f"service_code {', '.join(unknown)} not found; the services are: {', '.join(messages.CATEGORIES)}."
            )
        wanted = _csv(status)
        if wanted and not set(wanted) <= {"open", "closed"}:
            raise Open311Error("status takes open, closed, or both comma separated.")
        statuses = None
        if wanted and set(wanted) != {"open", "closed"}:
            statuses = [s.value for s in OPEN_STATUSES] if "open" in wanted else list(_CLOSED)
        start, end = _date_range(_when(start_date, "start_date"), _when(end_date, "end_date"), datetime.now(UTC))
        rows = await repository.open311_requests(
            db,
            ids=_ids(service_request_id),
            categories=codes,
            statuses=statuses,
            start=start,
            end=end,
            limit=MAX_REQUESTS,
        )
        return _render(
            _format(request), "service_requests", [_request(r, _lang(request), _base(request)) for r in rows]
        )

    @get("/requests/{ref:str}", opt=PUBLIC, operation_class=answers(SERVICE_REQUEST))
    async def read_request(self, request: Request[Any, Any, Any], db: Db, ref: FromPath[str]) -> Response[bytes]:
        """One service request."""
        [request_id] = _ids(_split(ref)) or [0]
        rows = await repository.open311_requests(
            db, ids=[request_id], categories=None, statuses=None, start=None, end=None, limit=1
        )
        if not rows:
            raise Open311Error(f"service_request_id {request_id} was not found.", status=404)
        return _render(_format(request), "service_requests", [_request(rows[0], _lang(request), _base(request))])

    @get("/tokens/{ref:str}", opt=PUBLIC, operation_class=answers(TOKEN))
    async def token(self, request: Request[Any, Any, Any], db: Db, ref: FromPath[str]) -> Response[bytes]:
        """The request a token stands for; safecity's requests are realtime, so a token is the request's id."""
        token = _split(ref)
        rows = []
        if token.isdigit() and 0 < int(token) < 2**63:
            rows = await repository.open311_requests(
                db, ids=[int(token)], categories=None, statuses=None, start=None, end=None, limit=1
            )
        if not rows:
            raise Open311Error(f"token {token} was not found.", status=404)
        return _render(_format(request), "service_requests", [{"service_request_id": rows[0]["id"], "token": token}])

    # A form of a few fields, but a 4,000-character Korean description is 36 KB once percent-encoded.
    @post(
        ["/requests.json", "/requests.xml"],
        opt=PUBLIC,
        status_code=HTTP_200_OK,
        request_max_body_size=64 * 1024,
        operation_class=creates(),
    )
    async def create_request(self, request: Request[Any, Any, Any], db: Db) -> Response[bytes]:
        """Create a service request (form-encoded, with an api_key); it joins or opens an incident as in the app."""
        form = await _fields(request)
        principal = _authenticate(request, form)
        data = _report_input(form)
        answers = attributes.read(
            data.category.value,
            {k[len("attribute[") : -1]: v for k, v in form.items() if k.startswith("attribute[") and k.endswith("]")},
        )
        reporter = service.Reporter(subject=principal.subject, citizen_id=principal.citizen_id, source="open311")
        read = await service.report(
            db,
            reporter=reporter,
            data=data,
            now=datetime.now(UTC),
            media_url=_media_url(form),
            attributes=answers,
        )
        language = _lang(request, form.get("locale"), form.get("lang"))
        [row] = await repository.open311_requests(
            db, ids=[read.id], categories=None, statuses=None, start=None, end=None, limit=1
        )
        notices = [_notice(row, language)]
        if read.incident.others_reporting:
            n = read.incident.others_reporting
            notices.append(
                f"{n} other people reported this hazard already; the reports are handled together."
                if language == "en"
                else f"다른 {n}명이 같은 위험을 이미 신고했습니다. 함께 처리합니다."
            )
        notice = " ".join(n for n in notices if n) or None
        return _render(
            _format(request),
            "service_requests",
            [{"service_request_id": read.id, "service_notice": notice, "account_id": None}],
        )
