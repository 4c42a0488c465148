"""The operators' hazard desk: incidents filtered, the map's counts per district and heat per cell, bulk status
changes, and the open-data export (CSV or GeoJSON) streamed without personal data.

The export holds one transaction and a cursor for its whole run, so memory stays flat whatever the range; a
range is at most ``MAX_SPAN`` and is refused beyond it, saying so.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from api.hazards import desk_repository as repository
from api.hazards import incidents
from api.hazards.schemas import Category, Status, StatusChange, parse_choices
from api.platform.districts import DISTRICTS
from api.platform.errors import Problem
from notifications.service import Notifier

MAX_SPAN = timedelta(days=366)
DEFAULT_SPAN = timedelta(days=30)
HEAT_CELL_DEG = 0.005  # about 550 m × 440 m
MAX_BULK = 200
EXPORT_FIELDS = [
    "id", "category", "status", "district", "department_ko", "department_en", "lat", "lon", "report_count",
    "first_reported_at", "status_changed_at", "due_at", "handled_at", "overdue",
]  # fmt: skip
_DEPARTMENTS = (EXPORT_FIELDS.index("department_ko"), EXPORT_FIELDS.index("department_en"))


class Filters(msgspec.Struct, frozen=True, kw_only=True):
    args: list[Any]
    since: datetime
    until: datetime


def filters(
    *,
    category: str | None,
    status: str | None,
    district: str | None,
    overdue: bool,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
) -> Filters:
    """The desk's filters checked; a bad one is a Problem that lists what is allowed."""
    categories = parse_choices(category, Category, "category")
    statuses = parse_choices(status, Status, "status")
    if district is not None and district not in DISTRICTS:
        listed = ", ".join(f"{c} {d.name_en}" for c, d in DISTRICTS.items())
        raise Problem(f"district {district!r} is not one of Seoul's 25: {listed}.", code="invalid_district")
    until = until or now
    since = since or until - DEFAULT_SPAN
    if since >= until:
        raise Problem("since must be before until.", code="invalid_period")
    if until - since > MAX_SPAN:
        raise Problem(
            f"A period is at most {MAX_SPAN.days} days; ask for {since:%Y-%m-%d}–{until:%Y-%m-%d} in parts.",
            code="period_too_long",
            max_days=MAX_SPAN.days,
        )
    args = repository.filters(
        [c.value for c in categories] if categories else None,
        [s.value for s in statuses] if statuses else None,
        district,
        overdue,
        since,
        until,
        now,
    )
    return Filters(args=args, since=since, until=until)


async def listing(conn: asyncpg.Connection, *, chosen: Filters, before_id: int | None, limit: int) -> dict[str, Any]:
    rows = await repository.page(conn, filters=chosen.args, before_id=before_id, limit=limit)
    items = [dict(r) for r in rows]
    return {"items": items, "next_before_id": items[-1]["id"] if len(items) == limit else None}


async def map_data(conn: asyncpg.Connection, *, chosen: Filters) -> dict[str, Any]:
    """Per district: incidents, open, overdue; the heat of each grid cell (category and period filtered); and the
    incidents sensors opened."""
    counted = {r["district"]: r for r in await repository.by_district(conn, filters=chosen.args)}
    districts = [
        {
            "code": code,
            "name_ko": d.name_ko,
            "name_en": d.name_en,
            "incidents": counted[code]["incidents"] if code in counted else 0,
            "open": counted[code]["open"] if code in counted else 0,
            "overdue": counted[code]["overdue"] if code in counted else 0,
        }
        for code, d in DISTRICTS.items()
    ]
    cells = await repository.heat(conn, filters=chosen.args, cell_deg=HEAT_CELL_DEG)
    heat = [{"lat": round(c["lat"], 4), "lon": round(c["lon"], 4), "n": c["n"]} for c in cells]
    # Incidents a city sensor opened, at the sensor (docs/sensors.md): which sensor, which rule, what it measured.
    sensors = [dict(r) for r in await repository.sensor_incidents(conn, filters=chosen.args)]
    return {"since": chosen.since, "until": chosen.until, "cell_deg": HEAT_CELL_DEG, "districts": districts,
            "heat": heat, "sensors": sensors}  # fmt: skip


async def bulk_status(
    conn: asyncpg.Connection,
    *,
    notifier: Notifier,
    incident_ids: list[int],
    change: StatusChange,
    actor: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """The change applied to each incident in its own transaction; each one's outcome (done, or why not)."""
    if not 1 <= len(incident_ids) <= MAX_BULK:
        raise Problem(f"A bulk change takes 1 to {MAX_BULK} incidents.", code="bulk_size")
    results: list[dict[str, Any]] = []
    for incident_id in sorted(set(incident_ids)):
        try:
            done = await incidents.change_status(
                conn, notifier=notifier, incident_id=incident_id, change=change, actor=actor, now=now
            )
            results.append({"id": incident_id, "ok": True, "status": done.status.value})
        except Problem as exc:
            results.append({"id": incident_id, "ok": False, "code": exc.code, "detail": exc.detail})
    return results


async def export_csv(pool: asyncpg.Pool, *, chosen: Filters) -> AsyncIterator[bytes]:
    """The incidents as CSV (UTF-8 with a BOM, so spreadsheet programs read the Korean), a chunk at a time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_FIELDS)
    yield ("\ufeff" + out.getvalue()).encode()
    out.seek(0)
    out.truncate()
    rows = 0
    async for row in _rows(pool, chosen, as_text=True):
        values = list(row)
        # A department's name is operators' text: one starting like a formula is not run by a spreadsheet.
        for i in _DEPARTMENTS:
            if values[i][:1] in ("=", "+", "@", "-"):
                values[i] = "'" + values[i]
        writer.writerow(values)
        rows += 1
        if rows % 2000 == 0:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue().encode()


async def export_geojson(pool: asyncpg.Pool, *, chosen: Filters) -> AsyncIterator[bytes]:
    """The incidents as a GeoJSON FeatureCollection (RFC 7946), a feature at a time."""
    yield b'{"type":"FeatureCollection","features":['
    first = True
    async for row in _rows(pool, chosen):
        properties = {f: row[f] for f in EXPORT_FIELDS if f not in ("id", "lat", "lon")}
        feature = {
            "type": "Feature",
            "id": row["id"],
            "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
            "properties": properties,
        }
        yield (b"" if first else b",") + msgspec.json.encode(feature)
        first = False
    yield b"]}"


async def _rows(pool: asyncpg.Pool, chosen: Filters, *, as_text: bool = False) -> AsyncIterator[Any]:
    # Its own connection: the stream outlives the request handler that started it.
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        async for row in repository.export_rows(conn, filters=chosen.args, as_text=as_text):
            yield row
