"""Routes for the signed-in citizen, districts, and staff administration."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from api.accounts import places, service
from api.accounts.places_schemas import PlaceCreate, PlaceRead
from api.accounts.schemas import (
    CitizenRead,
    CitizenUpdate,
    DeviceCreate,
    DeviceRead,
    DistrictRead,
    DistrictSummary,
    StaffCreate,
    StaffRead,
)
from api.platform.auth.guards import PUBLIC, allow, signed_in_citizen
from api.platform.auth.tokens import Role
from api.platform.db.pool import Db
from api.platform.types import Id


class MeController(Controller):
    path = "/v1/me"
    tags = ["accounts"]

    @get("/", opt=allow(Role.citizen))
    async def read(self, request: Request, db: Db) -> CitizenRead:
        """The signed-in citizen's profile."""
        return await service.get_citizen(db, citizen_id=signed_in_citizen(request))

    @patch("/", opt=allow(Role.citizen))
    async def update(self, request: Request, db: Db, data: JSONBody[CitizenUpdate]) -> CitizenRead:
        """Change language, home district or display name."""
        return await service.update_citizen(db, citizen_id=signed_in_citizen(request), data=data)

    @get("/devices", opt=allow(Role.citizen))
    async def devices(self, request: Request, db: Db) -> list[DeviceRead]:
        """Devices registered for push notifications."""
        return await service.list_devices(db, citizen_id=signed_in_citizen(request))

    @post("/devices", opt=allow(Role.citizen, idempotent=True), status_code=HTTP_201_CREATED)
    async def register_device(self, request: Request, db: Db, data: JSONBody[DeviceCreate]) -> DeviceRead:
        """Register this phone's FCM token for push notifications."""
        return await service.register_device(db, citizen_id=signed_in_citizen(request), data=data)

    @delete("/devices/{device_id:int}", opt=allow(Role.citizen))
    async def remove_device(self, request: Request, db: Db, device_id: FromPath[Id]) -> None:
        """Stop push notifications to a device."""
        await service.remove_device(db, citizen_id=signed_in_citizen(request), device_id=device_id)

    @get("/places", opt=allow(Role.citizen))
    async def places(self, request: Request, db: Db) -> list[PlaceRead]:
        """Home and watched places: a warning over any of them reaches this citizen, once."""
        return await places.list_places(db, citizen_id=signed_in_citizen(request))

    @post("/places", opt=allow(Role.citizen, idempotent=True), status_code=HTTP_201_CREATED)
    async def add_place(self, request: Request, db: Db, data: JSONBody[PlaceCreate]) -> PlaceRead:
        """Add a place, as a point or a dong: the home (replacing the old one), or one of at most five watched."""
        return await places.add_place(db, citizen_id=signed_in_citizen(request), data=data, now=datetime.now(UTC))

    @delete("/places/{place_id:int}", opt=allow(Role.citizen))
    async def remove_place(self, request: Request, db: Db, place_id: FromPath[Id]) -> None:
        """Stop watching a place."""
        await places.remove_place(db, citizen_id=signed_in_citizen(request), place_id=place_id)


class DistrictController(Controller):
    path = "/v1/districts"
    tags = ["districts"]

    @get("/", opt=PUBLIC)
    async def list_districts(self, db: Db) -> list[DistrictRead]:
        """Seoul's 25 districts and their codes."""
        return await service.list_districts(db)

    @get("/{district:str}/summary", opt=allow(Role.social_worker, Role.operator, district_param="district"))
    async def summary(self, db: Db, district: FromPath[str]) -> DistrictSummary:
        """How many people safecity reaches in a district (staff of that district only)."""
        return await service.district_summary(db, code=district)


class StaffController(Controller):
    path = "/v1/admin/staff"
    tags = ["admin"]

    @get("/", opt=allow(Role.operator))
    async def list_staff(self, db: Db) -> list[StaffRead]:
        """Every staff account."""
        return await service.list_staff(db)

    @post("/", opt=allow(Role.operator, idempotent=True), status_code=HTTP_201_CREATED)
    async def create_staff(self, db: Db, data: JSONBody[StaffCreate]) -> StaffRead:
        """Create a social-worker or operator account."""
        return await service.create_staff(db, data=data)
