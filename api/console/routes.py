"""The social workers' console: sign-in, the live case queue, a case and what to do with it; the router.

Every route here is public to the bearer-token guard and checks the console session itself (``session``), so
the JSON API's auth is untouched; every POST takes ``form``, which refuses a missing or wrong CSRF token.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Response, Template
from litestar.static_files import create_static_files_router

from api.console import service
from api.console.flood import FloodPageController
from api.console.forms import CALL_RESULTS, CALLEES, Form, read_call, read_note, read_resolve
from api.console.hazards import HazardDeskController
from api.console.i18n import translator
from api.console.lockout import SlowDown
from api.console.operators import OperatorsController
from api.console.pages import EXCEPTION_HANDLERS, STATIC, page, safe_next
from api.console.people import PeopleController
from api.console.rotas import RotaPageController
from api.console.security import SecurityController, slow_down_notice
from api.console.sessions import (
    CSRF_FIELD,
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    SIGN_IN_CSRF_COOKIE,
    CsrfRefused,
    PostedForm,
    Session,
    cleared,
    cookie,
    language,
    new_token,
    provide_form,
    provide_session,
    same,
    settings_of,
)
from api.console.signin import SignInRefused, sign_in, sign_out
from api.platform.auth.guards import PUBLIC
from api.platform.db.pool import Db
from api.platform.errors import Conflict
from api.platform.types import Id
from care.cases import service as cases
from care.cases.schemas import Called119, CaseState, Outcome, Priority

NextParam = Annotated[str | None, QueryParameter(name="next")]
StateParam = Annotated[str | None, QueryParameter(name="state")]


def _now() -> datetime:
    return datetime.now(UTC)


def _enum(kind: type, raw: str | None) -> Any:
    """A filter's value, or None for "all" and anything unknown (a stale link is not an error)."""
    try:
        return kind(raw) if raw else None
    except ValueError:
        return None


class SignInController(Controller):
    path = "/"

    @get("/", name="console.home")
    async def home(self) -> Redirect:
        return Redirect("/console/queue", status_code=303)

    @get("/sign-in", name="console.sign_in")
    async def sign_in_form(self, request: Request, next_: NextParam = None, bye: FromQuery[bool] = False) -> Template:
        """The sign-in form, with a fresh double-submit CSRF token (there is no session to hold one yet)."""
        return self._form(request, next_=next_, notice="signin.signed_out" if bye else None)

    def _form(
        self, request: Request, *, next_: str | None, notice: str | None = None, email: str = "", status: int = 200
    ) -> Template:
        token = new_token()
        response = page(
            request,
            None,
            "sign_in.html",
            status_code=status,
            token=token,
            next=safe_next(next_),
            notice=notice,
            email=email,
        )
        response.cookies.append(cookie(request, SIGN_IN_CSRF_COOKIE, token))
        return response

    @post("/sign-in", name="console.sign_in_post")
    async def sign_in(self, request: Request, db: Db) -> Response[Any]:
        form = await request.form()
        if not same(form.get(CSRF_FIELD), request.cookies.get(SIGN_IN_CSRF_COOKIE)):
            raise CsrfRefused
        email, target = str(form.get("email") or ""), str(form.get("next") or "")
        try:
            created = await sign_in(
                db,
                email=email,
                password=str(form.get("password") or ""),
                # The peer, or the client a trusted proxy named (uvicorn's FORWARDED_ALLOW_IPS), never a header.
                address=request.client.host if request.client else "unknown",
                settings=settings_of(request),
                now=_now(),
                user_agent=request.headers.get("user-agent"),
            )
        except SlowDown as exc:
            notice = slow_down_notice(translator(language(request)), exc.retry_after_s)
            response = self._form(request, next_=target, notice=notice, email=email, status=429)
            response.headers["Retry-After"] = str(exc.retry_after_s)
            return response
        except SignInRefused:
            return self._form(request, next_=target, notice="signin.bad", email=email, status=401)
        # Unread notices about this account come first: someone may be trying its password.
        goal = safe_next(target)
        if created.notices:
            goal = "/console/security?next=" + quote(goal, safe="/")
        return Redirect(
            goal,
            status_code=303,
            cookies=[cookie(request, SESSION_COOKIE, created.token), cleared(request, SIGN_IN_CSRF_COOKIE)],
        )

    @post("/sign-out", name="console.sign_out")
    async def sign_out(self, request: Request, db: Db, session: Session, form: PostedForm) -> Redirect:
        await sign_out(db, hashed_token=session.token_hash)
        return Redirect("/console/sign-in?bye=true", status_code=303, cookies=[cleared(request, SESSION_COOKIE)])

    @get("/language", name="console.language")
    async def switch_language(self, request: Request, to: FromQuery[str] = "ko", next_: NextParam = None) -> Redirect:
        """Korean or English: a preference in a cookie, nothing in the database."""
        chosen = to if to in ("ko", "en") else "ko"
        return Redirect(
            safe_next(next_),
            status_code=303,
            cookies=[cookie(request, LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600)],
        )


class QueueController(Controller):
    path = "/queue"

    @get("/", name="console.queue")
    async def queue(
        self,
        request: Request,
        db: Db,
        session: Session,
        district: FromQuery[str | None] = None,
        priority: FromQuery[str | None] = None,
        case_state: StateParam = None,
    ) -> Template:
        """Open cases of the worker's districts, urgent first, then oldest; refreshed live by polling."""
        rows, version = await self._rows(db, session, district, priority, case_state)
        filters = {"district": district or "", "priority": priority or "", "state": case_state or ""}
        return page(
            request,
            session,
            "queue.html",
            cases=rows,
            version=version,
            filters=filters,
            poll_s=settings_of(request).poll_s,
            districts=session.principal.districts,
            priorities=[p.value for p in Priority],
            states=[s.value for s in CaseState],
        )

    @get("/rows", name="console.queue_rows")
    async def rows(
        self,
        request: Request,
        db: Db,
        session: Session,
        district: FromQuery[str | None] = None,
        priority: FromQuery[str | None] = None,
        case_state: StateParam = None,
    ) -> Template:
        """The queue's rows alone, for the live refresh to swap in."""
        rows, version = await self._rows(db, session, district, priority, case_state)
        return page(request, session, "_queue_rows.html", cases=rows, version=version)

    @get("/version", name="console.queue_version")
    async def version(self, db: Db, session: Session, district: FromQuery[str | None] = None) -> dict[str, str]:
        """A fingerprint of the queue; the page fetches the rows again only when it changes."""
        return {"version": await service.queue_version(db, principal=session.principal, district=district)}

    async def _rows(
        self, db: Db, session: Session, district: str | None, priority: str | None, state: str | None
    ) -> tuple[list[Any], str]:
        version = await service.queue_version(db, principal=session.principal, district=district)
        rows = await service.queue(
            db,
            principal=session.principal,
            district=district or None,
            priority=_enum(Priority, priority),
            state=_enum(CaseState, state),
            now=_now(),
        )
        return rows, version


class CaseController(Controller):
    path = "/cases"

    @get("/{case_id:int}", name="console.case")
    async def read(self, request: Request, db: Db, session: Session, case_id: FromPath[Id]) -> Template:
        """The person, why the case opened, what has been said and done, and the actions."""
        return await self._page(request, db, session, case_id)

    async def _page(
        self,
        request: Request,
        db: Db,
        session: Session,
        case_id: int,
        *,
        form: Form | None = None,
        status: int = 200,
        notice: str | None = None,
    ) -> Template:
        view = await service.case_page(db, principal=session.principal, case_id=case_id, now=_now())
        return page(
            request,
            session,
            "case.html",
            status_code=status,
            view=view,
            outcomes=[o.value for o in Outcome],
            callees=CALLEES,
            results=CALL_RESULTS,
            errors=form.errors if form else {},
            values=form.values if form else {},
            notice=notice,
        )

    @post("/{case_id:int}/acknowledge", name="console.case_acknowledge")
    async def acknowledge(
        self, request: Request, db: Db, session: Session, form: PostedForm, case_id: FromPath[Id]
    ) -> Response[Any]:
        try:
            await cases.acknowledge(db, principal=session.principal, case_id=case_id, now=_now())
        except Conflict:
            return await self._page(request, db, session, case_id, status=409, notice="err.resolved")
        return _back(case_id)

    @post("/{case_id:int}/called-119", name="console.case_called_119")
    async def called_119(
        self, request: Request, db: Db, session: Session, form: PostedForm, case_id: FromPath[Id]
    ) -> Response[Any]:
        """One click: 119 was called for this case (recorded once, noted, audited; an open case is acknowledged)."""
        await cases.record_119(db, principal=session.principal, case_id=case_id, data=Called119(), now=_now())
        return _back(case_id)

    @post("/{case_id:int}/notes", name="console.case_note")
    async def add_note(
        self, request: Request, db: Db, session: Session, form: PostedForm, case_id: FromPath[Id]
    ) -> Response[Any]:
        fields = Form(form, translator(language(request)))
        note = read_note(fields)
        if note is None:
            return await self._page(request, db, session, case_id, form=fields, status=400)
        await cases.add_note(db, principal=session.principal, case_id=case_id, data=note, now=_now())
        return _back(case_id)

    @post("/{case_id:int}/calls", name="console.case_call")
    async def log_call(
        self, request: Request, db: Db, session: Session, form: PostedForm, case_id: FromPath[Id]
    ) -> Response[Any]:
        fields = Form(form, translator(language(request)))
        call = read_call(fields)
        if call is None:
            return await self._page(request, db, session, case_id, form=fields, status=400)
        await service.log_call(db, principal=session.principal, case_id=case_id, call=call, now=_now())
        return _back(case_id)

    @post("/{case_id:int}/resolve", name="console.case_resolve")
    async def resolve(
        self, request: Request, db: Db, session: Session, form: PostedForm, case_id: FromPath[Id]
    ) -> Response[Any]:
        fields = Form(form, translator(language(request)))
        data = read_resolve(fields)
        if data is None:
            return await self._page(request, db, session, case_id, form=fields, status=400)
        try:
            await cases.resolve(db, principal=session.principal, case_id=case_id, data=data, now=_now())
        except Conflict:
            return await self._page(request, db, session, case_id, status=409, notice="err.resolved")
        return _back(case_id)


def _back(case_id: int) -> Redirect:
    return Redirect(f"/console/cases/{case_id}", status_code=303)


def console_router() -> Router:
    """Everything under /console: pages, their static files, their own sign-in and error pages."""
    static = create_static_files_router(path="/static", directories=[STATIC], name="console.static", opt=PUBLIC)
    return Router(
        path="/console",
        route_handlers=[
            SignInController,
            QueueController,
            CaseController,
            PeopleController,
            OperatorsController,
            HazardDeskController,
            RotaPageController,
            FloodPageController,
            SecurityController,
            static,
        ],
        opt=PUBLIC,
        dependencies={"session": Provide(provide_session), "form": Provide(provide_form)},
        exception_handlers=EXCEPTION_HANDLERS,
        include_in_schema=False,
        # Its forms carry notes of up to 4,000 characters, 36 KB of Korean once percent-encoded.
        request_max_body_size=64 * 1024,
    )
