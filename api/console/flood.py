"""The flood board: per dong, the households asked in this storm, confirmed, not yet and needing help; and each
dong's households with their partners' answers (docs/flood.md, "The operators' board")."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.console.pages import page
from api.console.sessions import Session
from api.platform.db.pool import Db
from api.platform.types import DongCode
from care.flood import service as flood

DistrictParam = Annotated[str | None, QueryParameter(name="district", pattern=r"^11[0-9]{3}$")]


class FloodPageController(Controller):
    path = "/flood"

    @get("/", name="console.flood")
    async def board(self, request: Request, db: Db, session: Session, district: DistrictParam = None) -> Template:
        """Every dong with households asked now, needing help first."""
        dongs = await flood.board(db, principal=session.principal, district=district)
        totals = {k: sum(getattr(d, k) for d in dongs) for k in ("households", "confirmed", "not_yet", "need_help")}
        districts = sorted(session.principal.districts) if not session.is_operator else None
        return page(request, session, "flood.html", dongs=dongs, totals=totals, district=district, districts=districts)

    @get("/{dong:str}", name="console.flood_dong")
    async def dong(self, request: Request, db: Db, session: Session, dong: FromPath[DongCode]) -> Template:
        """One dong's households asked now, with each partner's answer."""
        checks = await flood.dong_checks(db, dong=dong, principal=session.principal)
        return page(request, session, "flood_dong.html", dong=dong, checks=checks)
