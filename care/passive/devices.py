"""Home devices' health: a device that stops sending heartbeats is a device problem for the social worker (a
normal-priority ``sensor_fault`` case), never read as the person's silence; it clears when the device is heard."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import structlog

from api.platform.errors import Conflict
from care.addressing import local
from care.cases import repository as cases_repository
from care.ladder import SLA
from care.passive import repository

log = structlog.get_logger(__name__)

BATCH = 20_000


async def seen(conn: asyncpg.Connection, *, device_id: str, recipient_id: int, at: datetime) -> None:
    """The device spoke for this person at ``at`` (a heartbeat, a signal, an emergency), in the caller's
    transaction: registered on first sight; a device registered to someone else is refused (409)."""
    owner, fault_at = await repository.seen(conn, device_id=device_id, recipient_id=recipient_id, at=at)
    if owner != recipient_id:
        raise Conflict(
            f"Device {device_id} is registered to another person; a device speaks for one person only.",
            code="device_other_recipient",
            field="device_id",
        )
    if fault_at is not None:
        note = f"{local(at)} 기기 신호 복구 (device {device_id} heard again)"
        await cases_repository.all_clear_reason(
            conn, recipient_id=recipient_id, reason="sensor_fault", now=at, note=note, device_id=device_id
        )


async def expect_every(conn: asyncpg.Connection, *, device_id: str, minutes: int) -> None:
    """How long the device may be silent before it is a problem."""
    await repository.set_heartbeat(conn, device_id=device_id, minutes=minutes)


async def sweep(conn: asyncpg.Connection, *, now: datetime) -> dict[str, int]:
    """Open a device-problem case for every device silent past its heartbeat limit, once per silence."""
    async with conn.transaction():
        silent = await repository.silent_devices(conn, now=now, limit=BATCH)
        opened = await cases_repository.open_fault_cases(conn, devices=silent, now=now, sla=SLA["normal"])
    if silent:
        log.info("home devices silent", devices=len(silent), cases=len(opened))
    return {"silent": len(silent), "cases": len(opened)}
