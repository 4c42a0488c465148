"""Flood routes: staff keep the registry and read the board per dong; partners and households answer from the app."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from api.platform.auth.guards import allow
from api.platform.auth.tokens import Principal, Role
from api.platform.db.pool import Db
from api.platform.types import DistrictCode, DongCode, Id
from care.flood import service
from care.flood.schemas import (
    AnswerIn,
    CheckRead,
    DongCount,
    HouseholdCreate,
    HouseholdRead,
    HouseholdUpdate,
    WithdrawIn,
)

STAFF = (Role.operator, Role.social_worker)


def _now() -> datetime:
    return datetime.now(UTC)


class FloodController(Controller):
    path = "/v1/flood"
    tags = ["flood"]

    @post("/households", opt=allow(*STAFF, idempotent=True), status_code=HTTP_201_CREATED)
    async def register(
        self, request: Request[Principal, Any, Any], db: Db, data: JSONBody[HouseholdCreate]
    ) -> HouseholdRead:
        """Register a flood-risk household (반지하 etc.) with its consent and its 동행파트너."""
        return await service.register(db, data=data, principal=request.user, now=_now())

    @get("/households", opt=allow(*STAFF))
    async def list_households(
        self, request: Request[Principal, Any, Any], db: Db, dong: FromQuery[DongCode | None] = None
    ) -> list[HouseholdRead]:
        """The households of your districts (of one dong, when given), at most 1,000."""
        return await service.list_households(db, dong=dong, principal=request.user)

    @get("/households/{household_id:int}", opt=allow(*STAFF))
    async def read(self, request: Request[Principal, Any, Any], db: Db, household_id: FromPath[Id]) -> HouseholdRead:
        return await service.get(db, household_id=household_id, principal=request.user, now=_now())

    @put("/households/{household_id:int}", opt=allow(*STAFF))
    async def update(
        self, request: Request[Principal, Any, Any], db: Db, household_id: FromPath[Id], data: JSONBody[HouseholdUpdate]
    ) -> HouseholdRead:
        """Replace the household's details and partners (its consent stays as given)."""
        return await service.update(db, household_id=household_id, data=data, principal=request.user, now=_now())

    @post("/households/{household_id:int}/withdraw", opt=allow(*STAFF), status_code=HTTP_200_OK)
    async def withdraw(
        self, request: Request[Principal, Any, Any], db: Db, household_id: FromPath[Id], data: JSONBody[WithdrawIn]
    ) -> HouseholdRead:
        """The household withdraws its consent: nothing more is sent to it or its partners about it."""
        return await service.withdraw(
            db,
            household_id=household_id,
            data=data,
            principal=request.user,
            notifier=request.app.state.notifier,
            now=_now(),
        )

    @get("/dongs", opt=allow(*STAFF))
    async def board(
        self,
        request: Request[Principal, Any, Any],
        db: Db,
        district: FromQuery[DistrictCode | None] = None,
    ) -> list[DongCount]:
        """Per dong with households asked now: how many are confirmed, not yet, needing help."""
        return await service.board(db, principal=request.user, district=district)

    @get("/dongs/{dong:str}/checks", opt=allow(*STAFF))
    async def dong_checks(
        self, request: Request[Principal, Any, Any], db: Db, dong: FromPath[DongCode]
    ) -> list[CheckRead]:
        """The open checks of one dong, needing help first, with each partner's answer."""
        return await service.dong_checks(db, dong=dong, principal=request.user)

    @get("/checks/mine", opt=allow(Role.citizen))
    async def mine(self, request: Request[Principal, Any, Any], db: Db) -> list[CheckRead]:
        """The open checks that ask you, as a partner or as the household."""
        return await service.my_checks(db, principal=request.user)

    @post("/checks/{check_id:int}/answer", opt=allow(Role.citizen, *STAFF), status_code=HTTP_200_OK)
    async def answer(
        self, request: Request[Principal, Any, Any], db: Db, check_id: FromPath[Id], data: JSONBody[AnswerIn]
    ) -> CheckRead:
        """Answer a check: a partner ``arrived`` / ``evacuated`` / ``need_help``, the household ``safe`` /
        ``evacuated`` / ``need_help``; staff record what they were told by phone."""
        return await service.answer(
            db,
            check_id=check_id,
            answer=data.answer,
            principal=request.user,
            notifier=request.app.state.notifier,
            now=_now(),
        )

    @post("/checks/{check_id:int}/resolve", opt=allow(*STAFF), status_code=HTTP_200_OK)
    async def resolve(self, request: Request[Principal, Any, Any], db: Db, check_id: FromPath[Id]) -> CheckRead:
        """Staff have the household in hand: it counts as confirmed and nothing more escalates."""
        return await service.resolve(db, check_id=check_id, principal=request.user, now=_now())
