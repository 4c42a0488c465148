"""The operators' hazard desk: incidents filtered, on a map of Seoul drawn from our boundaries with the heat by
category and period, bulk status changes, merge and split, and the open-data export (CSV or GeoJSON, streamed)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Stream, Template

from api.console import hazard_map
from api.console.pages import page
from api.console.sessions import PostedForm, Session, language
from api.hazards import desk, incidents, messages
from api.hazards.schemas import Category, Status, StatusChange
from api.platform.db.pool import Db
from api.platform.errors import Forbidden, Problem

PERIODS = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}


def _now() -> datetime:
    return datetime.now(UTC)


def _operators_only(session: Session) -> None:
    if not session.is_operator:
        raise Forbidden("Only operators work the hazard desk.", code="operators_only")


def _chosen(category: str, status: str, district: str, overdue: bool, period: str) -> desk.Filters:
    now = _now()
    return desk.filters(
        category=category or None,
        status=status or None,
        district=district or None,
        overdue=overdue,
        since=now - PERIODS.get(period, PERIODS["30d"]),
        until=now,
        now=now,
    )


class HazardDeskController(Controller):
    path = "/hazards"

    @get("/", name="console.hazards")
    async def desk_page(
        self,
        request: Request,
        db: Db,
        session: Session,
        category: FromQuery[str] = "",
        status: FromQuery[str] = "",
        district: FromQuery[str] = "",
        overdue: FromQuery[bool] = False,
        period: FromQuery[str] = "30d",
        done: FromQuery[int | None] = None,
        merged: FromQuery[int | None] = None,
        split: FromQuery[int | None] = None,
    ) -> Template:
        """The desk: filters, the map with its heat, and the list with bulk actions."""
        _operators_only(session)
        filters = {"category": category, "status": status, "district": district, "overdue": overdue, "period": period}
        error = None
        try:
            chosen = _chosen(category, status, district, overdue, period)
            listed = await desk.listing(db, chosen=chosen, before_id=None, limit=200)
            mapped = await desk.map_data(db, chosen=chosen)
        except Problem as exc:  # a filter from a stale link: said on the page, with everything shown
            error = exc.detail
            chosen = _chosen("", "", "", False, "30d")
            listed = await desk.listing(db, chosen=chosen, before_id=None, limit=200)
            mapped = await desk.map_data(db, chosen=chosen)
        lang = language(request)
        query = "&".join(f"{k}={v}" for k, v in filters.items() if v and k != "overdue")
        query += "&overdue=true" if overdue else ""
        return page(
            request,
            session,
            "hazards.html",
            items=listed["items"],
            districts=mapped["districts"],
            paths=hazard_map.district_paths(),
            plane=hazard_map.plane(),
            dots=hazard_map.dots(listed["items"]),
            cells=hazard_map.cells(mapped["heat"], mapped["cell_deg"]),
            filters=filters,
            categories=[c.value for c in Category],
            statuses=[s.value for s in Status if s is not Status.merged],
            targets=[s.value for s in Status if s not in (Status.submitted, Status.merged)],
            periods=list(PERIODS),
            query=query,
            done=done,
            merged=merged,
            split=split,
            category_name=lambda code: messages.category_name(code, lang),
            errors={"_": error} if error else {},
        )

    @post("/bulk", name="console.hazards_bulk")
    async def bulk(self, request: Request, db: Db, session: Session, form: PostedForm) -> Redirect:
        """One status change for the incidents ticked; back to the desk, saying how many changed."""
        _operators_only(session)
        ids = [int(v) for v in form.getall("incident") if str(v).isdigit()]
        status = str(form.get("status") or "")
        reason = str(form.get("reason") or "").strip() or None
        try:
            change = StatusChange(status=Status(status), reason=reason)
        except ValueError as exc:
            raise Problem(f"The change cannot be made: {exc}.", code="invalid_change") from None
        results = await desk.bulk_status(
            db,
            notifier=request.app.state.notifier,
            incident_ids=ids,
            change=change,
            actor=f"staff:{session.name}",
            now=_now(),
        )
        return Redirect(f"/console/hazards?done={sum(r['ok'] for r in results)}", status_code=303)

    @post("/merge", name="console.hazards_merge")
    async def merge(self, db: Db, session: Session, form: PostedForm) -> Redirect:
        """The ticked incidents folded into the oldest of them (the lowest number), one after another; back to the
        desk, saying which one remains. An incident that cannot be merged (not open) stops it, saying which."""
        _operators_only(session)
        ids = sorted({int(v) for v in form.getall("incident") if str(v).isdigit()})
        if len(ids) < 2:
            raise Problem("Tick two incidents or more to merge them.", code="merge_needs_two")
        into = ids[0]
        for incident_id in ids[1:]:
            await incidents.merge(db, incident_id=incident_id, into=into, actor=f"staff:{session.name}", now=_now())
        return Redirect(f"/console/hazards?merged={into}", status_code=303)

    @post("/split", name="console.hazards_split")
    async def split(self, db: Db, session: Session, form: PostedForm) -> Redirect:
        """Some of an incident's reports moved to a new incident; back to the desk, naming the new one."""
        _operators_only(session)
        incident = str(form.get("split_incident") or "").strip().lstrip("#")
        reports = [int(n) for n in re.split(r"[\s,#]+", str(form.get("split_reports") or "")) if n.isdigit()]
        if not incident.isdigit() or not reports:
            raise Problem(
                "Give the incident's number and the numbers of the reports to move, separated by commas.",
                code="split_needs_reports",
            )
        made = await incidents.split(
            db, incident_id=int(incident), report_ids=sorted(set(reports)), actor=f"staff:{session.name}", now=_now()
        )
        return Redirect(f"/console/hazards?split={made.id}", status_code=303)

    @get(["/export.csv", "/export.geojson"], name="console.hazards_export")
    async def export(
        self,
        request: Request,
        session: Session,
        category: FromQuery[str] = "",
        status: FromQuery[str] = "",
        district: FromQuery[str] = "",
        overdue: FromQuery[bool] = False,
        period: FromQuery[str] = "30d",
    ) -> Stream:
        """The filtered incidents as open data, without personal data, streamed."""
        _operators_only(session)
        chosen = _chosen(category, status, district, overdue, period)
        pool: Any = request.app.state.pool
        if request.url.path.endswith(".csv"):
            body, media, name = desk.export_csv(pool, chosen=chosen), "text/csv", "incidents.csv"
        else:
            body, media, name = desk.export_geojson(pool, chosen=chosen), "application/geo+json", "incidents.geojson"
        return Stream(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
