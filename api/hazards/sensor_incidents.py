"""Incidents a city sensor opens on the operators' desk and map when one of its rules trips, and closes when it
stands down (``api.sensors`` calls these in its batch's transaction, beside the alert).

One open incident per (sensor, rule): a trip while the last one is still open (an operator has not closed it,
or it was never stood down) reuses it. The stand-down resolves it with a note, as an operator would, and tells
anyone whose report an operator merged into it; an incident an operator already closed, merged or rejected is
left as it is.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import structlog

from api.hazards import repository, telling
from api.hazards import sensor_incidents_repository as sensors
from api.hazards.schemas import OPEN_STATUSES, Category, Status
from notifications.service import Notifier

log = structlog.get_logger(__name__)

# A flood sensor's incident is flooding (rain gauges too: what their rule warns of is water on the ground), so
# it goes to the Flood Control Division with that category's deadline (docs/hazards.md, "Routing").
CATEGORY = Category.flooding


async def open_for(
    conn: asyncpg.Connection,
    *,
    sensor_id: str,
    rule: str,
    measure: float,
    lat: float,
    lon: float,
    district: str,
    at: datetime,
) -> int:
    """The open incident of the sensor's rule (reused, its measure the new one), or a new one opened at ``at``."""
    found = await sensors.open_of(conn, sensor_id=sensor_id, rule=rule)
    if found is not None:
        await sensors.seen_again(conn, incident_id=found["id"], measure=measure, now=at)
        log.info("sensor incident reused", incident_id=found["id"], sensor=sensor_id, rule=rule)
        return int(found["id"])
    incident_id = await sensors.insert(
        conn,
        category=CATEGORY.value,
        lat=lat,
        lon=lon,
        district=district,
        sensor_id=sensor_id,
        rule=rule,
        measure=measure,
        now=at,
    )
    log.info("sensor incident opened", incident_id=incident_id, sensor=sensor_id, rule=rule, measure=measure)
    return incident_id


async def stand_down(
    conn: asyncpg.Connection, *, incident_id: int, actor: str, note: str, notifier: Notifier, at: datetime
) -> bool:
    """Resolve the sensor's incident with ``note``, if it is still open; whether it was."""
    [row] = await repository.lock_incidents(conn, [incident_id]) or [None]
    if row is None or Status(row["status"]) not in OPEN_STATUSES:
        log.info("sensor incident not open; left", incident_id=incident_id, status=row and row["status"])
        return False
    resolved = Status.resolved.value
    await repository.set_status(conn, incident_id=incident_id, status=resolved, reason=note, now=at)
    event_id = await repository.insert_event(
        conn,
        incident_id=incident_id,
        kind="status",
        from_status=row["status"],
        to_status=resolved,
        reason=note,
        actor=actor,
        now=at,
    )
    items = await telling.status_messages(
        conn, incident_id=incident_id, category=row["category"], status=resolved, reason=note, event_id=event_id
    )
    if items:
        await notifier.enqueue_many(conn, items=items, now=at)
    return True
