"""The operators' rota pages: who is on duty in each district and at the city night desk, edited as text.

A rota is one shift a line, in Seoul time, with the ids of the staff on it (docs/care.md, "People on duty"):

    mon 09:00 - mon 18:00: 3, 4
    mon 18:00 - tue 09:00: 7
"""

from __future__ import annotations

import re
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from api.accounts import service as accounts
from api.console.pages import page
from api.console.sessions import PostedForm, Session
from api.platform.db.pool import Db
from api.platform.districts import DISTRICTS
from api.platform.errors import Forbidden, Problem, Unprocessable
from care import on_duty
from care.on_duty_routes import DESK
from care.schemas import RotaIn, RotaRead, ShiftIn

RefParam = Annotated[str, QueryParameter(name="ref", pattern=r"^(desk|11\d{3})$")]
SavedParam = Annotated[int | None, QueryParameter(name="saved", ge=0)]
LINE = re.compile(r"^\s*(\w{3}\s+\d{1,2}:\d{2})\s*[-–~]\s*(\w{3}\s+\d{1,2}:\d{2})\s*:\s*([\d,\s]+?)\s*$")


def rota_text(rota: RotaRead) -> str:
    return "\n".join(f"{s.starts} - {s.ends}: {', '.join(map(str, s.staff))}" for s in rota.shifts)


def parse_rota(text: str) -> RotaIn:
    """The rota in the page's text, one shift a line; a line that is not one is refused with its number."""
    shifts = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = LINE.fullmatch(line)
        if match is None:
            raise Unprocessable(
                f"Line {number} ({line.strip()!r}) is not 'mon 09:00 - mon 18:00: 3, 4'.", code="rota_line"
            )
        staff = [int(s) for s in re.split(r"[,\s]+", match[3]) if s]
        shifts.append(ShiftIn(starts=" ".join(match[1].split()), ends=" ".join(match[2].split()), staff=staff))
    if not shifts:
        raise Unprocessable("The rota has no shift: the week must be covered.", code="rota_empty")
    return RotaIn(shifts=shifts)


class RotaPageController(Controller):
    path = "/operators/rota"

    @get("/", name="console.rota")
    async def show(
        self, request: Request, db: Db, session: Session, ref: RefParam = DESK, saved: SavedParam = None
    ) -> Template:
        """A district's rota, or the night desk's, with the staff who can be put on it."""
        _operators_only(session, ref)
        rota = await on_duty.get_rota(db, district=None if ref == DESK else ref, principal=session.principal)
        return await _page(request, db, session, ref=ref, text=rota_text(rota), notice="rota.saved" if saved else None)

    @post("/", name="console.rota_save")
    async def save(self, request: Request, db: Db, session: Session, form: PostedForm) -> Template | Redirect:
        """Replace the rota with the page's text; a gap, an overlap or a bad line is said on the page."""
        ref = str(form.get("ref") or "")
        _operators_only(session, ref)
        text = str(form.get("shifts") or "")
        try:
            await on_duty.replace_rota(
                db, district=None if ref == DESK else ref, data=parse_rota(text), principal=session.principal
            )
        except Problem as exc:
            return await _page(request, db, session, ref=ref, text=text, status=exc.status, error=exc.detail)
        return Redirect(f"/console/operators/rota?ref={ref}&saved=1", status_code=303)


def _operators_only(session: Session, ref: str) -> None:
    if not session.is_operator:
        raise Forbidden("Only operators edit rotas.", code="operators_only")
    if ref != DESK and ref not in DISTRICTS:
        raise Unprocessable(f"{ref!r} is not a district code or {DESK!r}.", code="rota_ref")


async def _page(
    request: Request,
    db: Db,
    session: Session,
    *,
    ref: str,
    text: str,
    status: int = 200,
    notice: str | None = None,
    error: str | None = None,
) -> Template:
    staff = [s for s in await accounts.list_staff(db) if s.active and s.phone]
    if ref != DESK:
        staff = [s for s in staff if ref in s.districts or s.role == "operator"]
    return page(
        request,
        session,
        "rota.html",
        status_code=status,
        ref=ref,
        text=text,
        staff=staff,
        refs=[DESK, *DISTRICTS],
        notice=notice,
        errors={"_": error} if error else {},
    )
