"""The threshold rules over a batch's new readings: each rule's hysteresis (``rules.step``) in reading-time order;
when one trips, an alert raised through ``api.alerts`` and an incident opened on the hazard desk
(``api.hazards.sensor_incidents``), the alert renewed while the rule stays tripped, and both stood down with it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog

from api.alerts import service as alerts
from api.alerts.cap import CapReference
from api.alerts.schemas import AlertSource
from api.hazards import sensor_incidents
from api.sensors import alerting, repository
from api.sensors.rules import Change, State, Thresholds, step
from notifications.service import Notifier

log = structlog.get_logger(__name__)

# A trip seen in readings older than this (a gateway's backlog after an outage) is recorded, not told to people:
# rain of last night is no warning now.
ALERT_MAX_AGE = timedelta(hours=1)


@dataclass
class Changes:
    raised: list[int] = field(default_factory=list)
    stood_down: list[int] = field(default_factory=list)
    renewed: list[int] = field(default_factory=list)
    late_trips: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "raised": len(self.raised),
            "stood_down": len(self.stood_down),
            "renewed": len(self.renewed),
            "late_trips": self.late_trips,
        }


async def rules(
    conn: asyncpg.Connection, new: Sequence[tuple[str, datetime]], *, notifier: Notifier, now: datetime
) -> Changes:
    """Advance the rules of the sensors with new readings, in the caller's transaction; the alerts changed.

    A reading no later than the last one a rule has seen is stored but does not rewind the rule.
    """
    changes = Changes()
    if not new:
        return changes
    times: dict[str, list[datetime]] = defaultdict(list)
    for sensor_id, at in new:
        times[sensor_id].append(at)
    locked = await repository.lock_rules(conn, sorted(times))
    measured: dict[int, dict[tuple[str, datetime], float]] = {}
    for window in sorted({r["window_s"] for r in locked}):
        pairs = [
            (s, at) for s in sorted({r["sensor_id"] for r in locked if r["window_s"] == window}) for at in times[s]
        ]
        rows = await repository.measures(
            conn, sensor_ids=[p[0] for p in pairs], ats=[p[1] for p in pairs], window_s=window
        )
        measured[window] = {(m["sensor_id"], m["at"]): m["measure"] for m in rows}
    states = [
        await _advance(conn, rule, times[rule["sensor_id"]], measured, notifier=notifier, now=now, changes=changes)
        for rule in locked
    ]
    await repository.save_states(conn, states)
    return changes


class _Held:
    """What a rule holds while tripped: its alert (the trip's id, the message now in force and when that
    expires) and its incident on the hazard desk."""

    def __init__(self, rule: asyncpg.Record) -> None:
        self.alert_id: int | None = rule["alert_id"]
        self.tripped_at: datetime | None = rule["tripped_at"]
        self.expires_at: datetime | None = rule["alert_expires_at"]
        self.incident_id: int | None = rule["incident_id"]
        self.current: CapReference | None = None
        if self.alert_id is not None and self.tripped_at is not None:
            # A rule tripped before renewals were kept refers to its trip's alert.
            ident = rule["alert_identifier"] or alerting.identifier(rule["sensor_id"], rule["name"], self.tripped_at)
            sent = rule["alert_sent_at"] or self.tripped_at
            self.current = CapReference(sender=alerting.SENDER, identifier=ident, sent=sent)

    def clear(self) -> None:
        self.alert_id = self.tripped_at = self.expires_at = self.incident_id = self.current = None


async def _advance(
    conn: asyncpg.Connection,
    rule: asyncpg.Record,
    times: Sequence[datetime],
    measured: dict[int, dict[tuple[str, datetime], float]],
    *,
    notifier: Notifier,
    now: datetime,
    changes: Changes,
) -> dict[str, Any]:
    """One rule through its new readings, in time order: its alert and incident raised, renewed, stood down; the
    rule's new state."""
    state = State(rule["tripped"], rule["above_since"], rule["below_since"])
    limits = Thresholds(
        rule["trip_at"],
        rule["clear_at"],
        timedelta(seconds=rule["trip_after_s"]),
        timedelta(seconds=rule["clear_after_s"]),
    )
    held, last = _Held(rule), rule["evaluated_at"]
    for at in sorted(times):
        if last is not None and at <= last:
            continue
        measure = measured[rule["window_s"]][(rule["sensor_id"], at)]
        state, change = step(state, limits, at=at, measure=measure)
        last = at
        if change is Change.trip:
            held.tripped_at = at
            await _raise(conn, rule, held, at=at, measure=measure, notifier=notifier, now=now, changes=changes)
        elif change is Change.stand_down:
            await _stand_down(conn, rule, held, at=at, measure=measure, notifier=notifier, now=now, changes=changes)
            held.clear()
        elif state.tripped and measure >= rule["clear_at"] and _renewal_due(held, at=at, now=now):
            await _renew(conn, rule, held, at=at, measure=measure, notifier=notifier, now=now, changes=changes)
    return {
        "sensor_id": rule["sensor_id"],
        "name": rule["name"],
        "tripped": state.tripped,
        "above_since": state.above_since,
        "below_since": state.below_since,
        "evaluated_at": last,
        "alert_id": held.alert_id,
        "tripped_at": held.tripped_at,
        "incident_id": held.incident_id,
        "alert_expires_at": held.expires_at,
        "alert_identifier": held.current.identifier if held.current else None,
        "alert_sent_at": held.current.sent if held.current else None,
    }


def _renewal_due(held: _Held, *, at: datetime, now: datetime) -> bool:
    if held.alert_id is None or held.current is None or held.expires_at is None:
        return False
    return alerting.renewal_due(held.expires_at, at=at, now=now, max_age=ALERT_MAX_AGE)


async def _raise(
    conn: asyncpg.Connection,
    rule: asyncpg.Record,
    held: _Held,
    *,
    at: datetime,
    measure: float,
    notifier: Notifier,
    now: datetime,
    changes: Changes,
) -> None:
    """The alert of a trip, stored and fanned out now, and its incident on the desk; nothing for a trip too old
    to tell."""
    if now - at > ALERT_MAX_AGE:
        changes.late_trips += 1
        log.warning("sensor rule tripped in old readings; not told", sensor=rule["sensor_id"], rule=rule["name"])
        return
    cap = alerting.trip_alert(rule, at=at, measure=measure)
    done = await alerts.ingest(conn, cap, source=AlertSource.sensor, notifier=notifier, now=now)
    if done.alert_id is not None:
        changes.raised.append(done.alert_id)
        held.alert_id, held.current, held.expires_at = done.alert_id, alerting.reference(cap), at + alerting.EXPIRES
    held.incident_id = await sensor_incidents.open_for(
        conn,
        sensor_id=rule["sensor_id"],
        rule=rule["name"],
        measure=measure,
        lat=rule["lat"],
        lon=rule["lon"],
        district=rule["district"],
        at=at,
    )
    log.info(
        "sensor rule tripped",
        sensor=rule["sensor_id"],
        rule=rule["name"],
        alert_id=done.alert_id,
        incident_id=held.incident_id,
        measure=measure,
    )


async def _renew(
    conn: asyncpg.Connection,
    rule: asyncpg.Record,
    held: _Held,
    *,
    at: datetime,
    measure: float,
    notifier: Notifier,
    now: datetime,
    changes: Changes,
) -> None:
    """An Update that keeps the alert in force EXPIRES past this reading; it tells nobody again."""
    assert held.current is not None and held.tripped_at is not None
    cap = alerting.renewal_alert(rule, tripped_at=held.tripped_at, current=held.current, at=at, measure=measure)
    done = await alerts.ingest(conn, cap, source=AlertSource.sensor, notifier=notifier, now=now, renewal=True)
    if done.alert_id is not None:
        changes.renewed.append(done.alert_id)
    held.current, held.expires_at = alerting.reference(cap), at + alerting.EXPIRES
    log.info("sensor alert renewed", sensor=rule["sensor_id"], rule=rule["name"], update=done.alert_id)


async def _stand_down(
    conn: asyncpg.Connection,
    rule: asyncpg.Record,
    held: _Held,
    *,
    at: datetime,
    measure: float,
    notifier: Notifier,
    now: datetime,
    changes: Changes,
) -> None:
    """The Cancel of the alert now in force (the all-clear), and the incident resolved with a note."""
    if held.alert_id is not None and held.current is not None and held.tripped_at is not None:
        cap = alerting.stand_down_alert(rule, tripped_at=held.tripped_at, current=held.current, at=at, measure=measure)
        done = await alerts.ingest(conn, cap, source=AlertSource.sensor, notifier=notifier, now=now)
        changes.stood_down.append(held.alert_id)
        log.info("sensor rule stood down", sensor=rule["sensor_id"], rule=rule["name"], cancel=done.alert_id)
    if held.incident_id is not None:
        await sensor_incidents.stand_down(
            conn,
            incident_id=held.incident_id,
            actor=f"sensor:{rule['sensor_id']}:{rule['name']}",
            note=alerting.stand_down_note(rule, measure),
            notifier=notifier,
            at=at,
        )
