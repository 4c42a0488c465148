"""Hazard routes: citizens report and follow hazards, operators work incidents, anyone reads the public map."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from api.hazards import desk, incidents, routing, service, watches, word
from api.hazards.routing_schemas import RoutingRead, RoutingUpdate, Timeliness
from api.hazards.schemas import (
    BulkStatusChange,
    Category,
    FeedbackIn,
    FeedbackRead,
    FollowRead,
    HazardReportCreate,
    HazardReportPage,
    HazardReportRead,
    IncidentDetail,
    IncidentFeed,
    MergeIn,
    SplitIn,
    StatusChange,
    UpdatesChoice,
)
from api.hazards.storage import MAX_PHOTO_BYTES, photo_storage, upload_gate
from api.hazards.watches_schemas import WatchCreate, WatchRead
from api.platform.auth.guards import PUBLIC, allow
from api.platform.auth.tokens import Principal, Role
from api.platform.db.pool import Db
from api.platform.errors import Problem, Unavailable
from api.platform.openapi import documented
from api.platform.types import Id

# A photo at the limit plus its multipart framing gets through to our own check, which says what is wrong.
_PHOTO_BODY_LIMIT = MAX_PHOTO_BYTES + 64 * 1024
PHOTO_BODY = {
    "multipart/form-data": {
        "type": "object",
        "required": ["photo"],
        "properties": {"photo": {"type": "string", "format": "binary", "description": "JPEG, PNG, WebP or HEIC"}},
    }
}


def _now() -> datetime:
    return datetime.now(UTC)


def _citizen_id(request: Request[Principal, Any, Any]) -> int:
    if request.user.citizen_id is None:
        raise NotAuthorizedException("This token names no citizen account; sign in by phone.")
    return request.user.citizen_id


class HazardReportController(Controller):
    path = "/v1/hazard-reports"
    tags = ["hazards"]

    @post("/", opt=allow(Role.citizen, idempotent=True), status_code=HTTP_201_CREATED)
    async def create(
        self, request: Request[Principal, Any, Any], db: Db, data: JSONBody[HazardReportCreate]
    ) -> HazardReportRead:
        """Report a hazard: it joins an open incident of its kind within 50 m and 24 h, or opens one."""
        reporter = service.Reporter(subject=request.user.subject, citizen_id=_citizen_id(request))
        return await service.report(db, reporter=reporter, data=data, now=_now())

    @get("/mine", opt=allow(Role.citizen))
    async def mine(
        self,
        request: Request[Principal, Any, Any],
        db: Db,
        before_id: Annotated[int | None, QueryParameter(ge=1)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> HazardReportPage:
        """Your reports, newest first, each with its incident; ``before_id`` pages on."""
        return await service.my_reports(db, citizen_id=_citizen_id(request), before_id=before_id, limit=limit)

    @get("/{report_id:int}", opt=allow(Role.citizen, Role.operator))
    async def read(self, request: Request[Principal, Any, Any], db: Db, report_id: FromPath[Id]) -> HazardReportRead:
        """A report with its incident and how many others reported it (its reporter, or operators)."""
        return await service.get_report(
            db,
            report_id=report_id,
            citizen_id=request.user.citizen_id,
            operator=request.user.role is Role.operator,
        )

    @patch("/{report_id:int}", opt=allow(Role.citizen))
    async def choose_updates(
        self, request: Request[Principal, Any, Any], db: Db, report_id: FromPath[Id], data: JSONBody[UpdatesChoice]
    ) -> HazardReportRead:
        """How often you hear of this report: ``every`` status change, or only the ``end``."""
        return await word.choose_updates(db, report_id=report_id, citizen_id=_citizen_id(request), updates=data.updates)

    @post(
        "/{report_id:int}/photos",
        opt=allow(Role.citizen),
        status_code=HTTP_201_CREATED,
        request_max_body_size=_PHOTO_BODY_LIMIT,
        operation_class=documented(body=PHOTO_BODY),
    )
    async def add_photo(
        self, request: Request[Principal, Any, Any], db: Db, report_id: FromPath[Id]
    ) -> HazardReportRead:
        """Attach a photo (multipart part ``photo``: JPEG, PNG, WebP or HEIC, ≤ 10 MB); resending one adds nothing."""
        citizen_id = _citizen_id(request)
        gate = upload_gate(request.app.state)
        if gate.locked():  # refused before its body is read, rather than queued holding a connection
            busy = Unavailable(
                "As many photos as this server takes at once are being received; send this one again in a few seconds.",
                code="uploads_busy",
            )
            busy.headers["Retry-After"] = "5"
            raise busy
        async with gate:
            form = await request.form()
            upload = form.get("photo")
            if not isinstance(upload, UploadFile):
                raise Problem(
                    "Send the photo as multipart/form-data, in a file part named `photo`.", code="photo_missing"
                )
            data = await upload.read(MAX_PHOTO_BYTES + 1)
            return await service.add_photo(
                db,
                storage=photo_storage(request.app.state),
                report_id=report_id,
                citizen_id=citizen_id,
                data=data,
                now=_now(),
            )

    @get("/{report_id:int}/photos/{photo_id:int}", opt=allow(Role.citizen, Role.operator))
    async def photo(
        self, request: Request[Principal, Any, Any], db: Db, report_id: FromPath[Id], photo_id: FromPath[Id]
    ) -> Response[bytes]:
        """A report's photo (its reporter, or operators)."""
        content, content_type = await service.read_photo(
            db,
            storage=photo_storage(request.app.state),
            report_id=report_id,
            photo_id=photo_id,
            citizen_id=request.user.citizen_id,
            operator=request.user.role is Role.operator,
        )
        # Served with nosniff and no-store (api.platform.http), as every signed-in answer is.
        return Response(content, media_type=content_type)


class IncidentFeedController(Controller):
    path = "/v1/incidents"
    tags = ["hazards"]

    @get("/", opt=PUBLIC, media_type="application/geo+json")
    async def feed(
        self,
        db: Db,
        bbox: FromQuery[str | None] = None,
        category: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        before_id: Annotated[int | None, QueryParameter(ge=1)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> IncidentFeed:
        """The public map as GeoJSON, newest first: ``bbox=minLon,minLat,maxLon,maxLat``, comma-listed filters."""
        return await service.feed(db, bbox=bbox, category=category, status=status, before_id=before_id, limit=limit)

    @post("/{incident_id:int}/feedback", opt=allow(Role.citizen), status_code=HTTP_200_OK)
    async def feedback(
        self, request: Request[Principal, Any, Any], db: Db, incident_id: FromPath[Id], data: JSONBody[FeedbackIn]
    ) -> FeedbackRead:
        """Fixed? Its reporters answer after a resolve; a "no" within 14 days reopens it with the note."""
        return await word.answer(
            db,
            notifier=request.app.state.notifier,
            incident_id=incident_id,
            citizen_id=_citizen_id(request),
            data=data,
            now=_now(),
        )

    @put("/{incident_id:int}/follow", opt=allow(Role.citizen))
    async def follow(self, request: Request[Principal, Any, Any], db: Db, incident_id: FromPath[Id]) -> FollowRead:
        """ "Me too": follow an open incident; it adds weight (not a report) and you hear when it ends."""
        return await word.follow(db, incident_id=incident_id, citizen_id=_citizen_id(request), now=_now())

    @delete("/{incident_id:int}/follow", opt=allow(Role.citizen), status_code=HTTP_200_OK)
    async def unfollow(self, request: Request[Principal, Any, Any], db: Db, incident_id: FromPath[Id]) -> FollowRead:
        """Stop following an incident."""
        return await word.unfollow(db, incident_id=incident_id, citizen_id=_citizen_id(request))


class IncidentAdminController(Controller):
    path = "/v1/admin/incidents"
    tags = ["admin", "hazards"]

    @get("/{incident_id:int}", opt=allow(Role.operator))
    async def read(self, db: Db, incident_id: FromPath[Id]) -> IncidentDetail:
        """An incident and its reports (without who sent them)."""
        return await incidents.get_incident(db, incident_id=incident_id)

    @post("/{incident_id:int}/status", opt=allow(Role.operator), status_code=HTTP_200_OK)
    async def change_status(
        self, request: Request[Principal, Any, Any], db: Db, incident_id: FromPath[Id], data: JSONBody[StatusChange]
    ) -> IncidentDetail:
        """submitted → acknowledged → in_progress → resolved, or rejected with a reason; every reporter is told."""
        return await incidents.change_status(
            db,
            notifier=request.app.state.notifier,
            incident_id=incident_id,
            change=data,
            actor=request.user.subject,
            now=_now(),
        )

    @post("/{incident_id:int}/merge", opt=allow(Role.operator), status_code=HTTP_200_OK)
    async def merge(
        self, request: Request[Principal, Any, Any], db: Db, incident_id: FromPath[Id], data: JSONBody[MergeIn]
    ) -> IncidentDetail:
        """Fold this open incident into another (``into``); answers with the one that remains."""
        return await incidents.merge(
            db, incident_id=incident_id, into=data.into, actor=request.user.subject, now=_now()
        )

    @post("/{incident_id:int}/split", opt=allow(Role.operator, idempotent=True), status_code=HTTP_201_CREATED)
    async def split(
        self, request: Request[Principal, Any, Any], db: Db, incident_id: FromPath[Id], data: JSONBody[SplitIn]
    ) -> IncidentDetail:
        """Move ``report_ids`` to a new incident; answers with the new one."""
        return await incidents.split(
            db, incident_id=incident_id, report_ids=data.report_ids, actor=request.user.subject, now=_now()
        )


class RoutingAdminController(Controller):
    path = "/v1/admin/hazard-routing"
    tags = ["admin", "hazards"]

    @get("/", opt=allow(Role.operator))
    async def list_routing(self, db: Db) -> list[RoutingRead]:
        """Each category's department and deadline, shortest deadline first."""
        return await routing.list_routing(db)

    @put("/{category:str}", opt=allow(Role.operator))
    async def update(
        self,
        request: Request[Principal, Any, Any],
        db: Db,
        category: FromPath[Category],
        data: JSONBody[RoutingUpdate],
    ) -> RoutingRead:
        """Set a category's department and deadline; incidents opened from now on take them."""
        return await routing.update_routing(db, category=category, data=data, actor=request.user.subject, now=_now())

    @get("/timeliness", opt=allow(Role.operator))
    async def timeliness(
        self, db: Db, since: FromQuery[datetime | None] = None, until: FromQuery[datetime | None] = None
    ) -> Timeliness:
        """Per district: incidents handled in the period, the share by their deadline, and those overdue now."""
        return await routing.timeliness(db, since=since, until=until, now=_now())


class WatchController(Controller):
    path = "/v1/me/hazard-watches"
    tags = ["hazards"]

    @get("/", opt=allow(Role.citizen))
    async def list_watches(self, request: Request[Principal, Any, Any], db: Db) -> list[WatchRead]:
        """The areas you watch for hazards."""
        return await watches.list_watches(db, citizen_id=_citizen_id(request))

    @post("/", opt=allow(Role.citizen, idempotent=True), status_code=HTTP_201_CREATED)
    async def add(self, request: Request[Principal, Any, Any], db: Db, data: JSONBody[WatchCreate]) -> WatchRead:
        """Watch an area (a polygon up to 10 km², or one of your places): gas, sinkhole and fire at once, the
        rest in a daily digest."""
        return await watches.add_watch(db, citizen_id=_citizen_id(request), data=data, now=_now())

    @delete("/{watch_id:int}", opt=allow(Role.citizen))
    async def remove(self, request: Request[Principal, Any, Any], db: Db, watch_id: FromPath[Id]) -> None:
        """Stop watching an area."""
        await watches.remove_watch(db, citizen_id=_citizen_id(request), watch_id=watch_id)


class PublicPhotoController(Controller):
    path = "/v1/hazard-photos"
    tags = ["hazards"]

    @get("/{photo_id:int}", opt=PUBLIC)
    async def public_photo(self, request: Request[Any, Any, Any], db: Db, photo_id: FromPath[Id]) -> Response[bytes]:
        """A public report's photo, resized (≤ 1280 px) and without metadata; the original stays private."""
        content = await service.read_public_photo(db, storage=photo_storage(request.app.state), photo_id=photo_id)
        return Response(content, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=3600"})


def _desk_filters(
    category: str | None,
    status: str | None,
    district: str | None,
    overdue: bool,
    since: datetime | None,
    until: datetime | None,
) -> desk.Filters:
    return desk.filters(
        category=category, status=status, district=district, overdue=overdue, since=since, until=until, now=_now()
    )


class HazardDeskController(Controller):
    """The operators' desk as data: the console's hazard pages and the city's open data read these."""

    path = "/v1/admin/hazard-desk"
    tags = ["admin", "hazards"]

    @get("/incidents", opt=allow(Role.operator))
    async def incidents(
        self,
        db: Db,
        category: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        district: FromQuery[str | None] = None,
        overdue: FromQuery[bool] = False,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        before_id: Annotated[int | None, QueryParameter(ge=1)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        """Incidents first reported in the period (30 days by default), newest first, filtered."""
        chosen = _desk_filters(category, status, district, overdue, since, until)
        return await desk.listing(db, chosen=chosen, before_id=before_id, limit=limit)

    @get("/map", opt=allow(Role.operator))
    async def map_data(
        self,
        db: Db,
        category: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        overdue: FromQuery[bool] = False,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
    ) -> dict[str, Any]:
        """Counts per district (incidents, open, overdue) and the heat per ~500 m cell, by category and period."""
        return await desk.map_data(db, chosen=_desk_filters(category, status, None, overdue, since, until))

    @post("/bulk-status", opt=allow(Role.operator), status_code=HTTP_200_OK)
    async def bulk_status(
        self, request: Request[Principal, Any, Any], db: Db, data: JSONBody[BulkStatusChange]
    ) -> list[dict[str, Any]]:
        """One status change for many incidents (at most 200); each answers for itself."""
        change = StatusChange(status=data.status, reason=data.reason)
        return await desk.bulk_status(
            db,
            notifier=request.app.state.notifier,
            incident_ids=data.incident_ids,
            change=change,
            actor=request.user.subject,
            now=_now(),
        )

    @get("/export.csv", opt=allow(Role.operator), media_type="text/csv")
    async def export_csv(
        self,
        request: Request[Principal, Any, Any],
        category: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        district: FromQuery[str | None] = None,
        overdue: FromQuery[bool] = False,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
    ) -> Stream:
        """Open data as CSV (UTF-8 with a BOM): incidents without personal data (no words, no reporter, places on
        the ~50 m grid), streamed; a period is at most 366 days."""
        chosen = _desk_filters(category, status, district, overdue, since, until)
        body = desk.export_csv(request.app.state.pool, chosen=chosen)
        return _download(body, "text/csv", "incidents.csv")

    @get("/export.geojson", opt=allow(Role.operator), media_type="application/geo+json")
    async def export_geojson(
        self,
        request: Request[Principal, Any, Any],
        category: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        district: FromQuery[str | None] = None,
        overdue: FromQuery[bool] = False,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
    ) -> Stream:
        """Open data as a GeoJSON FeatureCollection, as the CSV; streamed; a period is at most 366 days."""
        chosen = _desk_filters(category, status, district, overdue, since, until)
        body = desk.export_geojson(request.app.state.pool, chosen=chosen)
        return _download(body, "application/geo+json", "incidents.geojson")


def _download(body: Any, media_type: str, name: str) -> Stream:
    return Stream(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})
