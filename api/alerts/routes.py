"""Alerts: CAP in from operators and services, the public feed for the app, CAP and Atom out, "I'm safe"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from api.alerts import service
from api.alerts.atom import CAP_MEDIA_TYPE, render_atom
from api.alerts.cap import CapError, parse_cap
from api.alerts.cap_render import render_cap
from api.alerts.schemas import AlertRead, AlertSource, Ingested, Outcome, SafeRead
from api.alerts.senders import check_may_send
from api.platform.auth.guards import PUBLIC, allow, signed_in_citizen
from api.platform.auth.tokens import Principal, Role, Scope
from api.platform.db.pool import Db
from api.platform.districts import DISTRICTS
from api.platform.errors import NotFound, Problem
from api.platform.openapi import documented
from api.platform.query import declared_query_only
from api.platform.types import Id

# A CAP message with its resources by reference is a few kilobytes; a megabyte is plenty and bounds the parser.
CAP_BODY_LIMIT = 1024 * 1024
_CAP_XML = {
    "type": "string",
    "description": "one CAP 1.2 (or 1.1) <alert> document, UTF-8",
    "maxLength": CAP_BODY_LIMIT,
}
CAP_BODY = {CAP_MEDIA_TYPE: _CAP_XML, "application/xml": _CAP_XML, "text/xml": _CAP_XML}
DistrictParam = Annotated[str | None, QueryParameter(description="Only alerts covering this district, e.g. 11680")]


def _now() -> datetime:
    return datetime.now(UTC)


class InvalidCap(Problem):
    status = 400
    title = "Invalid CAP message"


class AlertController(Controller):
    path = "/v1/alerts"
    tags = ["alerts"]

    @post(
        "/cap",
        opt=allow(Role.operator, Role.service, scope=Scope.alerts_publish),
        status_code=HTTP_201_CREATED,
        request_max_body_size=CAP_BODY_LIMIT,
        operation_class=documented(body=CAP_BODY),
        responses={HTTP_200_OK: ResponseSpec(Ingested, description="A duplicate, or ignored: the reason says why")},
    )
    async def ingest_cap(self, request: Request[Principal, Any, Any], db: Db) -> Response[Ingested]:
        """Take one CAP 1.2 (or 1.1) ``<alert>`` as the body: stored and told to its districts' people once.

        201 when stored; 200 with ``outcome`` ``duplicate`` (already received, nothing sent again) or
        ``ignored`` (an exercise, a test, a draft, or nothing in Seoul) and the reason; 400 for a message that
        is not valid CAP, saying what is wrong; 403 when a service token speaks as a sender it was not given, or
        refers to another sender's alert; 422 for an expired alert or a Cancel of an unknown one.
        """
        try:
            cap = parse_cap(await request.body())
        except CapError as e:
            raise InvalidCap(f"This is not a CAP message we can take: {e.reason}.", code="cap_invalid") from None
        check_may_send(request.user, cap)
        result = await service.ingest(
            db,
            cap,
            source=AlertSource.post,
            notifier=request.app.state.notifier,
            now=_now(),
            pool=request.app.state.pool,  # a second connection, for the citizens' parts beside the care part
        )
        status = HTTP_201_CREATED if result.outcome is Outcome.created else HTTP_200_OK
        return Response(result, status_code=status)

    @get("/", opt=PUBLIC, guards=[declared_query_only])
    async def list_alerts(
        self,
        db: Db,
        district: DistrictParam = None,
        active: Annotated[bool | None, QueryParameter(description="true: only alerts in force now")] = None,
        before_id: Annotated[int | None, QueryParameter(ge=1)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> list[AlertRead]:
        """Warnings newest first: of a district, in force or not; ``before_id`` pages on."""
        if district is not None and district not in DISTRICTS:
            raise Problem(
                f"district {district!r} is not one of Seoul's 25 district codes (11110 … 11740).",
                code="district_unknown",
            )
        return await service.list_alerts(
            db, now=_now(), district=district, in_force=active, before_id=before_id, limit=limit
        )

    @get("/{ref:str}", opt=PUBLIC)
    async def read(self, db: Db, ref: FromPath[str]) -> Response[Any]:
        """An alert: ``/v1/alerts/12`` as JSON, ``/v1/alerts/12.cap`` as CAP 1.2 XML."""
        number, _, suffix = ref.partition(".")
        if not number.isdigit() or suffix not in ("", "cap") or len(number) > 18:
            raise NotFound(f"There is no alert {ref!r}: use /v1/alerts/<id> or /v1/alerts/<id>.cap.")
        alert_id = int(number)
        if suffix == "cap":
            cap = await service.get_cap(db, alert_id=alert_id)
            return Response(render_cap(cap), media_type=CAP_MEDIA_TYPE)
        return Response(await service.get_alert(db, alert_id=alert_id, now=_now()))

    @post("/{alert_id:int}/safe", opt=allow(Role.citizen, idempotent=True), status_code=HTTP_200_OK)
    async def safe(self, request: Request[Principal, Any, Any], db: Db, alert_id: FromPath[Id]) -> SafeRead:
        """ "I'm safe": kept with the alert, and for someone in care it answers their safety check."""
        return await service.mark_safe(
            db,
            alert_id=alert_id,
            citizen_id=signed_in_citizen(request),
            notifier=request.app.state.notifier,
            now=_now(),
        )


class AlertFeedController(Controller):
    path = "/v1/alerts.atom"
    tags = ["alerts"]

    @get("/", opt=PUBLIC, media_type="application/atom+xml")
    async def atom(self, request: Request[Any, Any, Any], db: Db) -> Response[bytes]:
        """An Atom index of the alerts in force, each linking to its CAP document."""
        now = _now()
        alerts = await service.list_alerts(db, now=now, district=None, in_force=True, before_id=None, limit=100)
        base = request.app.state.settings.notify.public_url or str(request.base_url)
        return Response(render_atom(alerts, base_url=base, now=now), media_type="application/atom+xml")
