"""The sensor registry and a gateway's batches of readings.

A batch is checked reading by reading: the good ones are stored, each once per (sensor, time), and every other
one is listed back with its reason (unknown sensor, in the future, too old, impossible, a duplicate); the stored
readings, the rules' new states and any alert they raise commit together, before the answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from api.platform import boundaries
from api.platform.auth.tokens import Principal, Role
from api.platform.errors import Conflict, Forbidden, NotFound, Problem, Unprocessable
from api.sensors import evaluate, repository
from api.sensors.repository import Reading, RuleRow
from api.sensors.schemas import (
    BOUNDS,
    MAX_BATCH,
    BatchIn,
    BatchRead,
    Refused,
    RuleIn,
    RuleRead,
    SensorCreate,
    SensorKind,
    SensorRead,
)
from notifications.service import Notifier

log = structlog.get_logger(__name__)

CLOCK_SKEW = timedelta(minutes=5)  # a gateway's clock this far ahead is taken at its word
MAX_AGE = timedelta(days=7)  # a gateway back from an outage may send a week of buffered readings

# Seoul's flood pre-warning levels (docs/sensors.md): 55 mm in an hour or 20 mm in 15 minutes of rain, 15 cm of
# water on a road; an underpass at 10 cm. Each stands down below about half its level held for 30 minutes.
DEFAULT_RULES: dict[SensorKind, list[RuleRow]] = {
    SensorKind.rain_gauge: [
        RuleRow("rain_60m", 3600, 55.0, 30.0, 0, 1800),
        RuleRow("rain_15m", 900, 20.0, 10.0, 0, 1800),
    ],
    SensorKind.road_water: [RuleRow("water_level", 0, 15.0, 10.0, 300, 1800)],
    SensorKind.underpass_water: [RuleRow("water_level", 0, 10.0, 5.0, 120, 1800)],
    SensorKind.river_level: [],
}


class BatchTooLarge(Problem):
    status = 413
    title = "Content Too Large"


async def register(conn: asyncpg.Connection, *, data: SensorCreate, principal: Principal, now: datetime) -> SensorRead:
    """Add a sensor to the registry, its dong found from its place, with its rules or Seoul's defaults."""
    if principal.role is not Role.operator:
        raise Forbidden("Only operators register sensors.", code="operators_only")
    dong = boundaries.dong_at(data.lat, data.lon)
    if dong is None:
        raise Unprocessable(f"({data.lat}, {data.lon}) is not inside Seoul.", code="sensor_outside_seoul", field="lat")
    rules = [_rule(r) for r in data.rules] if data.rules else DEFAULT_RULES[data.kind]
    if not rules:
        raise Unprocessable(
            f"A {data.kind.value} sensor has no default thresholds: give its `rules`.", code="rules_required"
        )
    for rule in rules:
        low, high, unit = BOUNDS[data.kind]
        if not low <= rule.clear_at < rule.trip_at <= high:
            raise Unprocessable(
                f"Rule {rule.name}: thresholds must lie within {low}–{high} {unit}.", code="rule_out_of_range"
            )
    row = {**{f: getattr(data, f) for f in ("id", "name", "lat", "lon", "owner", "radius_m")}}
    row |= {"kind": data.kind.value, "dong": dong.code, "district": dong.district, "created_at": now}
    async with conn.transaction():
        if not await repository.insert_sensor(conn, row, rules):
            raise Conflict(f"A sensor {data.id} is registered already.", code="sensor_exists")
        (found,) = await repository.get_sensors(conn, [data.id])
    return _read(found)


async def list_sensors(conn: asyncpg.Connection) -> list[SensorRead]:
    return [_read(r) for r in await repository.get_sensors(conn)]


async def get_sensor(conn: asyncpg.Connection, *, sensor_id: str) -> SensorRead:
    found = await repository.get_sensors(conn, [sensor_id])
    if not found:
        raise NotFound(f"There is no sensor {sensor_id}.", code="sensor_not_found")
    return _read(found[0])


async def ingest(
    conn: asyncpg.Connection, *, batch: BatchIn, gateway: str, notifier: Notifier, now: datetime
) -> BatchRead:
    """Store a batch's good readings, evaluate the rules they touch, and list every reading not stored, and why."""
    if len(batch.readings) > MAX_BATCH:
        raise BatchTooLarge(
            f"A batch holds at most {MAX_BATCH:,} readings; this one has {len(batch.readings):,}. Split it.",
            code="batch_too_large",
            limit=MAX_BATCH,
        )
    kinds = await repository.kinds_of(conn, sorted({r.sensor_id for r in batch.readings}))
    good, rejected, duplicates = _check(batch, kinds, now=now)
    async with conn.transaction():
        missing = await repository.missing_days(conn, sorted({r.at.astimezone(UTC).date() for _, r in good}))
        if missing:
            await repository.ensure_partitions(conn, first=min(missing), last=max(missing))
        stored = await repository.insert_readings(conn, [r for _, r in good], gateway=gateway, now=now)
        new = {(s["sensor_id"], s["at"]) for s in stored}
        for index, r in good:
            if (r.sensor_id, r.at) not in new:
                duplicates.append(_refused(index, r, "duplicate", "already stored; the stored reading is kept"))
        changes = await evaluate.rules(conn, sorted(new), notifier=notifier, now=now)
    log.info("sensor readings", gateway=gateway, stored=len(new), rejected=len(rejected), **changes.counts())
    return BatchRead(
        received=len(batch.readings),
        stored=len(new),
        duplicates=sorted(duplicates, key=lambda d: d.index),
        rejected=rejected,
        alerts_raised=changes.raised,
        alerts_stood_down=changes.stood_down,
        alerts_renewed=changes.renewed,
    )


def _check(
    batch: BatchIn, kinds: dict[str, str], *, now: datetime
) -> tuple[list[tuple[int, Reading]], list[Refused], list[Refused]]:
    """The readings to store (with their place in the batch), those refused, and repeats within the batch."""
    good: list[tuple[int, Reading]] = []
    rejected: list[Refused] = []
    duplicates: list[Refused] = []
    seen: set[tuple[str, datetime]] = set()
    for index, r in enumerate(batch.readings):
        reading = Reading(r.sensor_id, r.at, r.value)
        kind = kinds.get(r.sensor_id)
        if kind is None:
            rejected.append(_refused(index, reading, "unknown_sensor", f"no sensor {r.sensor_id} is registered"))
        elif r.at > now + CLOCK_SKEW:
            latest = (now + CLOCK_SKEW).isoformat()
            rejected.append(_refused(index, reading, "in_future", f"later than {latest} (the clock skew allowed)"))
        elif r.at < now - MAX_AGE:
            earliest = (now - MAX_AGE).isoformat()
            rejected.append(_refused(index, reading, "too_old", f"earlier than {earliest} (7 days are kept open)"))
        elif not BOUNDS[SensorKind(kind)].low <= r.value <= BOUNDS[SensorKind(kind)].high:
            low, high, unit = BOUNDS[SensorKind(kind)]
            reason = f"{r.value:g} {unit} is impossible for a {kind} (allowed {low:g} to {high:g} {unit})"
            rejected.append(_refused(index, reading, "impossible_value", reason))
        elif (r.sensor_id, r.at) in seen:
            duplicates.append(_refused(index, reading, "duplicate", "the same sensor and time earlier in this batch"))
        else:
            seen.add((r.sensor_id, r.at))
            good.append((index, reading))
    return good, rejected, duplicates


def _refused(index: int, r: Reading, code: str, reason: str) -> Refused:
    return Refused(index=index, sensor_id=r.sensor_id, at=r.at, code=code, reason=reason)


def _rule(r: RuleIn) -> RuleRow:
    minutes = (r.window_minutes, r.trip_after_minutes, r.clear_after_minutes)
    window_s, trip_after_s, clear_after_s = (m * 60 for m in minutes)
    return RuleRow(r.name, window_s, r.trip_at, r.clear_at, trip_after_s, clear_after_s)


def _time(value: str | None) -> datetime | None:
    # Times inside the rules' json come as ISO text.
    return None if value is None else datetime.fromisoformat(value)


def _read(row: Any) -> SensorRead:
    kind = SensorKind(row["kind"])
    return SensorRead(
        id=row["id"],
        kind=kind,
        name=row["name"],
        lat=row["lat"],
        lon=row["lon"],
        dong=row["dong"],
        dong_name_ko=boundaries.dongs()[row["dong"]].name_ko,
        district=row["district"],
        owner=row["owner"],
        radius_m=row["radius_m"],
        unit=BOUNDS[kind].unit,
        rules=[
            RuleRead(
                name=r["name"],
                window_minutes=r["window_s"] // 60,
                trip_at=r["trip_at"],
                clear_at=r["clear_at"],
                trip_after_minutes=r["trip_after_s"] // 60,
                clear_after_minutes=r["clear_after_s"] // 60,
                tripped=r["tripped"],
                alert_id=r["alert_id"],
                incident_id=r["incident_id"],
                alert_expires_at=_time(r["alert_expires_at"]),
            )
            for r in row["rules"]
        ],
    )
