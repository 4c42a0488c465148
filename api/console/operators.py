"""The operators' page: delivery health, warnings in force, sign-in waits and budgets, time to acknowledge."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from api.accounts import signin_budget
from api.console import lockout, service
from api.console.pages import page
from api.console.sessions import PostedForm, Session, settings_of
from api.platform.db.pool import Db
from api.platform.errors import Forbidden, Problem
from care import on_duty
from notifications.schemas import DeliveryState

UnlockedParam = Annotated[int | None, QueryParameter(name="unlocked", ge=0)]


def _now() -> datetime:
    return datetime.now(UTC)


def _operators_only(session: Session) -> None:
    if not session.is_operator:
        raise Forbidden("Only operators see this page.", code="operators_only")


class OperatorsController(Controller):
    path = "/operators"

    @get("/", name="console.operators")
    async def health(self, request: Request, db: Db, session: Session, unlocked: UnlockedParam = None) -> Template:
        """Operators' page: one section per concern: delivery, the warnings in force, sign-in waits."""
        _operators_only(session)
        return await self._page(request, db, session, notice="ops.unlocked" if unlocked is not None else None)

    @post("/unlock", name="console.operators_unlock")
    async def unlock(self, request: Request, db: Db, session: Session, form: PostedForm) -> Template | Redirect:
        """Lift a wait: ``source`` (from the list) for every account, or with ``email`` for that one; or ``email``."""
        _operators_only(session)
        email = str(form.get("email") or "").strip() or None
        raw_source = str(form.get("source") or "").strip()
        try:
            source = lockout.parse_source(raw_source) if raw_source else None
            await lockout.unlock(db, email=email, source=source, actor=session.name, now=_now())
        except Problem as exc:
            # Said on the page itself, with the form to try again.
            return await self._page(request, db, session, status=exc.status, error=exc.detail)
        return Redirect("/console/operators?unlocked=1#sign-in-waits", status_code=303)

    async def _page(
        self,
        request: Request,
        db: Db,
        session: Session,
        *,
        status: int = 200,
        notice: str | None = None,
        error: str | None = None,
    ) -> Template:
        now = _now()
        summary = await service.delivery_health(db, now=now)
        channels = sorted({c.channel for c in summary.by_channel})
        counts = {(c.channel, c.state): c.count for c in summary.by_channel}
        states = [s.value for s in DeliveryState]
        delivery = {"summary": summary, "channels": channels, "counts": counts, "states": states}
        in_force = await service.alerts_in_force(db, now=now)
        slowed = await lockout.slowed_sources(db, settings=settings_of(request), now=now)
        budget_alerts = await signin_budget.recent_alerts(db, now=now)
        acks = await on_duty.acknowledgement_times(db, now=now)
        # Each section is a template and its data.
        sections = [
            ("_ops_delivery.html", delivery),
            ("_ops_alerts.html", {"alerts": in_force}),
            ("_ops_sign_in.html", {"slowed": slowed, "now": now}),
            ("_ops_sign_in_budget.html", {"alerts": budget_alerts}),
            ("_ops_ack.html", {"weeks": acks, "target": on_duty.TSA_TARGET}),
        ]
        return page(
            request,
            session,
            "operators.html",
            status_code=status,
            sections=sections,
            notice=notice,
            errors={"_": error} if error else {},
        )
