"""The console's people pages: search the enrolled, enrol someone, change a plan, pause and resume it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from api.console import service
from api.console.forms import (
    GUARDIAN_ROWS,
    STEP_CHOICES,
    Form,
    read_details,
    read_enrolment,
    read_pause,
    read_plan,
)
from api.console.i18n import translator
from api.console.pages import page
from api.console.sessions import PostedForm, Session, language
from api.platform import boundaries
from api.platform.boundaries import Region
from api.platform.db.pool import Db
from api.platform.districts import DISTRICTS
from api.platform.errors import Conflict, Forbidden
from api.platform.types import Id
from care.schemas import DEFAULT_CONTACT, ContactBy, RecipientRead

_NEW_DEFAULTS = {
    "times": "09:00, 19:00",
    "days": [1, 2, 3, 4, 5, 6, 7],
    "window_minutes": "120",
    "language": "ko",
    "contact_by": DEFAULT_CONTACT.value,
}


def _now() -> datetime:
    return datetime.now(UTC)


class PeopleController(Controller):
    path = "/people"

    @get("/", name="console.people")
    async def search(
        self,
        request: Request,
        db: Db,
        session: Session,
        q: FromQuery[str | None] = None,
        district: FromQuery[str | None] = None,
    ) -> Template:
        """Enrolled people of the worker's districts, by name, phone or address."""
        found = await service.people(db, principal=session.principal, query=q, district=district, now=_now())
        return page(request, session, "people.html", people=found, q=q or "", district=district or "")

    @get("/new", name="console.person_new")
    async def new(self, request: Request, session: Session) -> Template:
        return self._enrol_form(request, session, values=dict(_NEW_DEFAULTS))

    def _enrol_form(
        self,
        request: Request,
        session: Session,
        *,
        values: dict[str, Any],
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        return page(
            request,
            session,
            "person_new.html",
            status_code=status,
            values=values,
            errors=errors or {},
            notice="people.fix" if errors else None,
            served=self._served(session),
            contact_options=[c.value for c in ContactBy],
            dongs=_dongs(self._served(session)),
            guardian_rows=GUARDIAN_ROWS,
            step_choices=STEP_CHOICES,
            effect=None,
        )

    def _served(self, session: Session) -> list[str]:
        return list(DISTRICTS) if session.is_operator else list(session.principal.districts)

    @post("/", name="console.person_enrol")
    async def enrol(self, request: Request, db: Db, session: Session, form: PostedForm) -> Response[Any]:
        fields = Form(form, translator(language(request)))
        now = _now()
        data = read_enrolment(fields, districts=tuple(self._served(session)), now=now)
        if data is not None:
            try:
                person = await service.enroll(db, principal=session.principal, data=data, now=now)
            except Conflict:
                fields.error("phone", "err.phone_taken")
            except Forbidden:
                fields.error("district", "err.district")
            else:
                return Redirect(f"/console/people/{person.id}?saved=true", status_code=303)
        return self._enrol_form(request, session, values=fields.values, errors=fields.errors, status=400)

    @get("/{recipient_id:int}", name="console.person")
    async def read(
        self, request: Request, db: Db, session: Session, recipient_id: FromPath[Id], saved: FromQuery[bool] = False
    ) -> Template:
        """A person, their guardians and plan; the plan's edit and pause forms."""
        return await self._page(request, db, session, recipient_id, notice="people.saved" if saved else None)

    async def _page(
        self,
        request: Request,
        db: Db,
        session: Session,
        recipient_id: int,
        *,
        form: Form | None = None,
        status: int = 200,
        notice: str | None = None,
    ) -> Template:
        person = await service.person(db, principal=session.principal, recipient_id=recipient_id, now=_now())
        plan = person.plan
        values = {
            "times": ", ".join(plan.times),
            "days": plan.days,
            "window_minutes": str(plan.window_minutes),
            "quiet_start": plan.quiet_hours["start"] if plan.quiet_hours else "",
            "quiet_end": plan.quiet_hours["end"] if plan.quiet_hours else "",
            **{f"step_{name}": by or "" for name, by in msgspec.structs.asdict(plan.ladder.steps).items()},
        }
        if form is not None:
            values.update(form.values)
        return page(
            request,
            session,
            "person.html",
            status_code=status,
            person=person,
            values=values,
            errors=form.errors if form else {},
            notice=notice or ("people.fix" if form and form.errors else None),
            step_choices=STEP_CHOICES,
            effect=msgspec.structs.asdict(plan.ladder.steps_in_effect),
        )

    @get("/{recipient_id:int}/edit", name="console.person_edit")
    async def edit(self, request: Request, db: Db, session: Session, recipient_id: FromPath[Id]) -> Template:
        """The person's details and guardians, to change."""
        person = await service.person(db, principal=session.principal, recipient_id=recipient_id, now=_now())
        values: dict[str, Any] = {
            "name": person.name,
            "birth_date": person.birth_date.isoformat() if person.birth_date else "",
            "address": person.address,
            "language": person.language,
            "contact_by": person.contact_by,
            **_home_values(person),
        }
        for suffix, g in zip(GUARDIAN_ROWS, person.guardians, strict=False):
            values |= {f"guardian_name{suffix}": g.name, f"guardian_phone{suffix}": g.phone}
            values[f"guardian_relation{suffix}"] = g.relation
        return self._edit_form(request, session, person=person, values=values)

    def _edit_form(
        self,
        request: Request,
        session: Session,
        *,
        person: RecipientRead,
        values: dict[str, Any],
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        return page(
            request,
            session,
            "person_edit.html",
            status_code=status,
            person=person,
            values=values,
            errors=errors or {},
            notice="people.fix" if errors else None,
            contact_options=[c.value for c in ContactBy],
            dongs=_dongs([person.district]),
            guardian_rows=GUARDIAN_ROWS,
        )

    @post("/{recipient_id:int}/edit", name="console.person_update")
    async def update(
        self, request: Request, db: Db, session: Session, form: PostedForm, recipient_id: FromPath[Id]
    ) -> Response[Any]:
        now = _now()
        person = await service.person(db, principal=session.principal, recipient_id=recipient_id, now=now)
        fields = Form(form, translator(language(request)))
        read = read_details(fields, phone=person.phone, now=now)
        if read is None:
            return self._edit_form(
                request, session, person=person, values=fields.values, errors=fields.errors, status=400
            )
        await service.update_details(
            db,
            principal=session.principal,
            recipient_id=recipient_id,
            details=read.fields,
            born=read.born,
            home=read.home,
            now=now,
        )
        return Redirect(f"/console/people/{recipient_id}?saved=true", status_code=303)

    @post("/{recipient_id:int}/plan", name="console.person_plan")
    async def replace_plan(
        self, request: Request, db: Db, session: Session, form: PostedForm, recipient_id: FromPath[Id]
    ) -> Response[Any]:
        now = _now()
        current = await service.person(db, principal=session.principal, recipient_id=recipient_id, now=now)
        fields = Form(form, translator(language(request)))
        plan = read_plan(fields, **service.plan_carry_over(current))
        if plan is None:
            return await self._page(request, db, session, recipient_id, form=fields, status=400)
        await service.replace_plan(db, principal=session.principal, recipient_id=recipient_id, plan=plan, now=now)
        return Redirect(f"/console/people/{recipient_id}?saved=true", status_code=303)

    @post("/{recipient_id:int}/pause", name="console.person_pause")
    async def pause(
        self, request: Request, db: Db, session: Session, form: PostedForm, recipient_id: FromPath[Id]
    ) -> Response[Any]:
        now = _now()
        fields = Form(form, translator(language(request)))
        data = read_pause(fields, now=now)
        if data is None:
            return await self._page(request, db, session, recipient_id, form=fields, status=400)
        await service.pause(db, principal=session.principal, recipient_id=recipient_id, data=data, now=now)
        return Redirect(f"/console/people/{recipient_id}?saved=true", status_code=303)

    @post("/{recipient_id:int}/resume", name="console.person_resume")
    async def resume(
        self, request: Request, db: Db, session: Session, form: PostedForm, recipient_id: FromPath[Id]
    ) -> Redirect:
        await service.resume(db, principal=session.principal, recipient_id=recipient_id, now=_now())
        return Redirect(f"/console/people/{recipient_id}?saved=true", status_code=303)


def _home_values(person: RecipientRead) -> dict[str, str]:
    """The home as the form shows it: the dong picked, or the point as "lat, lon"."""
    home = person.home
    if home is None:
        return {"home_dong": "", "home_point": ""}
    if home.lat is None:
        return {"home_dong": home.dong or "", "home_point": ""}
    return {"home_dong": "", "home_point": f"{home.lat}, {home.lon}"}


def _dongs(districts: list[str]) -> dict[str, list[Region]]:
    """The dongs a home may be picked from, by district: the districts the form enrols into."""
    by_district: dict[str, list[Region]] = {d: [] for d in districts}
    for dong in boundaries.dongs().values():
        if dong.district in by_district:
            by_district[dong.district].append(dong)
    return by_district
