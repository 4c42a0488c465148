"""Rotas: who is on duty in a district, and at the city night desk, to be told of urgent cases."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, put
from litestar.params import FromPath, JSONBody

from api.platform.auth.guards import allow
from api.platform.auth.tokens import Principal, Role
from api.platform.db.pool import Db
from api.platform.districts import check_district
from api.platform.errors import NotFound
from care import on_duty
from care.schemas import RotaIn, RotaRead

DESK = "desk"  # the path segment for the city night desk


def _district(ref: str) -> str | None:
    if ref == DESK:
        return None
    try:
        check_district(ref)
    except ValueError as exc:
        raise NotFound(f"{exc}; or `{DESK}` for the city night desk.", code="district_not_found") from None
    return ref


class RotaController(Controller):
    path = "/v1/care/rota"
    tags = ["care"]

    @get("/{ref:str}", opt=allow(Role.social_worker, Role.operator))
    async def read(self, request: Request[Principal, Any, Any], db: Db, ref: FromPath[str]) -> RotaRead:
        """A district's rota (a district code), or the night desk's (``desk``), as weekly shifts in Seoul time."""
        return await on_duty.get_rota(db, district=_district(ref), principal=request.user)

    @put("/{ref:str}", opt=allow(Role.operator, idempotent=True))
    async def replace(
        self, request: Request[Principal, Any, Any], db: Db, ref: FromPath[str], data: JSONBody[RotaIn]
    ) -> RotaRead:
        """Replace a rota: its shifts must cover the whole week exactly once, each naming staff who have a phone."""
        return await on_duty.replace_rota(db, district=_district(ref), data=data, principal=request.user)
