"""The sensor registry (operators) and the gateways' readings (a service with ``sensors:write``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from api.platform.auth.guards import allow
from api.platform.auth.tokens import Principal, Role, Scope
from api.platform.db.pool import Db
from api.sensors import service
from api.sensors.schemas import BatchIn, BatchRead, SensorCreate, SensorRead

# 10,000 readings of about 90 bytes each, with room; a bigger body is a 413 before it is read.
READINGS_BODY_LIMIT = 2 * 1024 * 1024


def _now() -> datetime:
    return datetime.now(UTC)


class SensorController(Controller):
    path = "/v1/sensors"
    tags = ["sensors"]

    @post("/", opt=allow(Role.operator, idempotent=True), status_code=HTTP_201_CREATED)
    async def register(self, request: Request[Principal, Any, Any], db: Db, data: JSONBody[SensorCreate]) -> SensorRead:
        """Register a city sensor: its kind, place (its dong is found from it), owner and threshold rules."""
        return await service.register(db, data=data, principal=request.user, now=_now())

    @get("/", opt=allow(Role.operator, Role.social_worker))
    async def list_sensors(self, db: Db) -> list[SensorRead]:
        """Every city sensor, with its rules and whether each has tripped."""
        return await service.list_sensors(db)

    @get("/{sensor_id:str}", opt=allow(Role.operator, Role.social_worker))
    async def read(self, db: Db, sensor_id: FromPath[str]) -> SensorRead:
        return await service.get_sensor(db, sensor_id=sensor_id)

    @post(
        "/readings",
        opt=allow(Role.service, scope=Scope.sensors_write),
        status_code=HTTP_200_OK,
        request_max_body_size=READINGS_BODY_LIMIT,
    )
    async def readings(self, request: Request[Principal, Any, Any], db: Db, data: JSONBody[BatchIn]) -> BatchRead:
        """A gateway's batch (at most 10,000; more is a 413): good readings are stored, once per (sensor, time),
        and every other one is listed with its reason; an answer means the stored ones are committed."""
        return await service.ingest(
            db, batch=data, gateway=request.user.subject, notifier=request.app.state.notifier, now=_now()
        )
