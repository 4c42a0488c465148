"""The social workers' case queue: list, read, acknowledge, note and resolve."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from api.platform.auth.guards import allow
from api.platform.auth.tokens import Principal, Role
from api.platform.db.pool import Db
from api.platform.types import Id
from care.cases import service
from care.cases.schemas import Called119, CaseDetail, CaseRead, CaseResolve, CaseState, NoteCreate, NoteRead

_STAFF = (Role.social_worker, Role.operator)


class CaseController(Controller):
    path = "/v1/care/cases"
    tags = ["care"]

    @get("/", opt=allow(*_STAFF))
    async def list_cases(
        self,
        request: Request[Principal, str, State],
        db: Db,
        district: Annotated[str | None, QueryParameter(pattern=r"^11[0-9]{3}$")] = None,
        case_state: Annotated[CaseState | None, QueryParameter(name="state")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> list[CaseRead]:
        """Cases of your districts: open, then acknowledged, then resolved; urgent first; oldest first.

        Without ``state``, every case not yet resolved.
        """
        return await service.list_cases(
            db,
            principal=request.user,
            district=district,
            state=case_state,
            limit=limit,
            now=datetime.now(UTC),
        )

    @get("/{case_id:int}", opt=allow(*_STAFF))
    async def read(self, request: Request[Principal, str, State], db: Db, case_id: FromPath[Id]) -> CaseDetail:
        """One case, its notes, and the person's last ten check-ins."""
        return await service.get_case(db, principal=request.user, case_id=case_id, now=datetime.now(UTC))

    @post("/{case_id:int}/acknowledge", opt=allow(*_STAFF), status_code=HTTP_200_OK)
    async def acknowledge(self, request: Request[Principal, str, State], db: Db, case_id: FromPath[Id]) -> CaseRead:
        """Take the case on; doing so again changes nothing."""
        return await service.acknowledge(db, principal=request.user, case_id=case_id, now=datetime.now(UTC))

    @post("/{case_id:int}/notes", opt=allow(*_STAFF, idempotent=True), status_code=HTTP_201_CREATED)
    async def add_note(
        self, request: Request[Principal, str, State], db: Db, case_id: FromPath[Id], data: JSONBody[NoteCreate]
    ) -> NoteRead:
        """Record what was done or learnt."""
        return await service.add_note(db, principal=request.user, case_id=case_id, data=data, now=datetime.now(UTC))

    @post("/{case_id:int}/resolve", opt=allow(*_STAFF, idempotent=True), status_code=HTTP_200_OK)
    async def resolve(
        self, request: Request[Principal, str, State], db: Db, case_id: FromPath[Id], data: JSONBody[CaseResolve]
    ) -> CaseRead:
        """Close the case with its outcome."""
        return await service.resolve(db, principal=request.user, case_id=case_id, data=data, now=datetime.now(UTC))

    @post("/{case_id:int}/called-119", opt=allow(*_STAFF, idempotent=True), status_code=HTTP_200_OK)
    async def called_119(
        self, request: Request[Principal, str, State], db: Db, case_id: FromPath[Id], data: JSONBody[Called119]
    ) -> CaseRead:
        """Record that 119 was called for this case (one click in the console); again, it changes nothing."""
        return await service.record_119(db, principal=request.user, case_id=case_id, data=data, now=datetime.now(UTC))
