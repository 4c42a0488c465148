"""Care routes: staff enrol people and set plans; people check in and ask for help; sensors send signals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from api.platform.auth.guards import allow, signed_in_citizen
from api.platform.auth.tokens import Principal, Role, Scope
from api.platform.db.pool import Db
from api.platform.types import Id
from care import service
from care.passive import emergencies
from care.schemas import (
    CheckinRead,
    EmergencyRead,
    HeartbeatIn,
    HeartbeatRead,
    HelpRead,
    PauseIn,
    PlanUpdate,
    RecipientCreate,
    RecipientRead,
    SensorEventIn,
    SignalIn,
)

STAFF = (Role.social_worker, Role.operator)


def _now() -> datetime:
    return datetime.now(UTC)


class RecipientController(Controller):
    path = "/v1/care/recipients"
    tags = ["care"]

    @post("/", opt=allow(*STAFF, idempotent=True), status_code=HTTP_201_CREATED)
    async def enroll(
        self, request: Request[Principal, Any, Any], db: Db, data: JSONBody[RecipientCreate]
    ) -> RecipientRead:
        """Enrol a person living alone, with their consent, guardians and check-in plan."""
        return await service.enroll(db, data=data, principal=request.user, now=_now())

    @get("/{recipient_id:int}", opt=allow(*STAFF))
    async def read(self, request: Request[Principal, Any, Any], db: Db, recipient_id: FromPath[Id]) -> RecipientRead:
        """A recipient of your districts, with their plan and where its ladder stands."""
        return await service.get(db, recipient_id=recipient_id, principal=request.user, now=_now())

    @put("/{recipient_id:int}/plan", opt=allow(*STAFF))
    async def replace_plan(
        self, request: Request[Principal, Any, Any], db: Db, recipient_id: FromPath[Id], data: JSONBody[PlanUpdate]
    ) -> RecipientRead:
        """Replace the plan; it applies from the next check-in time."""
        return await service.replace_plan(db, recipient_id=recipient_id, plan=data, principal=request.user, now=_now())

    @post("/{recipient_id:int}/pause", opt=allow(*STAFF), status_code=HTTP_200_OK)
    async def pause(
        self, request: Request[Principal, Any, Any], db: Db, recipient_id: FromPath[Id], data: JSONBody[PauseIn]
    ) -> RecipientRead:
        """Pause check-ins until a date (hospital stay, travel), with a reason."""
        return await service.pause(db, recipient_id=recipient_id, data=data, principal=request.user, now=_now())

    @post("/{recipient_id:int}/resume", opt=allow(*STAFF), status_code=HTTP_200_OK)
    async def resume(self, request: Request[Principal, Any, Any], db: Db, recipient_id: FromPath[Id]) -> RecipientRead:
        """End a pause now."""
        return await service.resume(db, recipient_id=recipient_id, principal=request.user, now=_now())


class CheckinController(Controller):
    path = "/v1/care"
    tags = ["care"]

    @post("/checkins", opt=allow(Role.citizen, idempotent=True), status_code=HTTP_201_CREATED)
    async def check_in(self, request: Request[Principal, Any, Any], db: Db) -> CheckinRead:
        """I am well: the signed-in person checks in from the app; a retry with the same Idempotency-Key is one."""
        citizen_id = signed_in_citizen(request)
        notifier = request.app.state.notifier
        return await service.check_in(
            db, notifier=notifier, citizen_id=citizen_id, channel="app", kind="checkin", at=_now()
        )

    @post("/help", opt=allow(Role.citizen), status_code=HTTP_201_CREATED)
    async def help(self, request: Request[Principal, Any, Any], db: Db) -> HelpRead:
        """The help button: an urgent case at once, and the guardians told."""
        recipient_id = await service.recipient_for_citizen(db, citizen_id=signed_in_citizen(request))
        notifier = request.app.state.notifier
        return await service.ask_for_help(db, notifier=notifier, recipient_id=recipient_id, channel="app", at=_now())

    @post("/signals", opt=allow(Role.service, scope=Scope.sensors_write), status_code=HTTP_201_CREATED)
    async def signal(self, request: Request[Principal, Any, Any], db: Db, data: JSONBody[SignalIn]) -> CheckinRead:
        """A home sensor saw life (motion, a door, power use); it counts as a check-in where the plan allows."""
        now = _now()
        at = service.signal_time(data.at, now=now)
        return await service.check_in(
            db,
            notifier=request.app.state.notifier,
            recipient_id=data.recipient_id,
            channel="sensor",
            kind="signal",
            at=at,
            body=data.kind.value,
            device_id=data.device_id,
        )

    @post("/sensor-events", opt=allow(Role.service, scope=Scope.sensors_write), status_code=HTTP_201_CREATED)
    async def sensor_event(
        self, request: Request[Principal, Any, Any], db: Db, data: JSONBody[SensorEventIn]
    ) -> EmergencyRead:
        """A home sensor's fire, smoke, gas or fall: an urgent case at once ("119 신고 필요"), the on-duty told."""
        now = _now()
        return await emergencies.report(
            db,
            notifier=request.app.state.notifier,
            recipient_id=data.recipient_id,
            device_id=data.device_id,
            kind=data.kind.value,
            at=service.signal_time(data.at, now=now),
            now=now,
        )

    @post("/sensor-heartbeats", opt=allow(Role.service, scope=Scope.sensors_write), status_code=HTTP_200_OK)
    async def sensor_heartbeat(
        self, request: Request[Principal, Any, Any], db: Db, data: JSONBody[HeartbeatIn]
    ) -> HeartbeatRead:
        """A home device is alive; one that falls silent is told to the social worker as a device problem."""
        return await service.heartbeat(db, data=data, now=_now())
