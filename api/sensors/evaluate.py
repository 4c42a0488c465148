"""The threshold rules over a batch's new readings: each rule's hysteresis (``rules.step``) in reading-time order,
and an alert raised through ``api.alerts`` when one trips, cancelled when it stands down."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg
import structlog

from api.alerts import service as alerts
from api.alerts.schemas import AlertSource
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
    late_trips: int = 0

    def counts(self) -> dict[str, int]:
        return {"raised": len(self.raised), "stood_down": len(self.stood_down), "late_trips": self.late_trips}


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
    states = []
    for rule in locked:
        state = State(rule["tripped"], rule["above_since"], rule["below_since"])
        limits = Thresholds(
            rule["trip_at"],
            rule["clear_at"],
            timedelta(seconds=rule["trip_after_s"]),
            timedelta(seconds=rule["clear_after_s"]),
        )
        alert_id, tripped_at, last = rule["alert_id"], rule["tripped_at"], rule["evaluated_at"]
        for at in sorted(times[rule["sensor_id"]]):
            if last is not None and at <= last:
                continue
            measure = measured[rule["window_s"]][(rule["sensor_id"], at)]
            state, change = step(state, limits, at=at, measure=measure)
            last = at
            if change is Change.trip:
                tripped_at = at
                alert_id = await _raise(conn, rule, at=at, measure=measure, notifier=notifier, now=now, changes=changes)
            elif change is Change.stand_down:
                if alert_id is not None and tripped_at is not None:
                    cap = alerting.stand_down_alert(rule, tripped_at=tripped_at, at=at, measure=measure)
                    done = await alerts.ingest(conn, cap, source=AlertSource.sensor, notifier=notifier, now=now)
                    changes.stood_down.append(alert_id)
                    log.info(
                        "sensor rule stood down", sensor=rule["sensor_id"], rule=rule["name"], cancel=done.alert_id
                    )
                alert_id, tripped_at = None, None
        states.append(
            {
                "sensor_id": rule["sensor_id"],
                "name": rule["name"],
                "tripped": state.tripped,
                "above_since": state.above_since,
                "below_since": state.below_since,
                "evaluated_at": last,
                "alert_id": alert_id,
                "tripped_at": tripped_at,
            }
        )
    await repository.save_states(conn, states)
    return changes


async def _raise(
    conn: asyncpg.Connection,
    rule: asyncpg.Record,
    *,
    at: datetime,
    measure: float,
    notifier: Notifier,
    now: datetime,
    changes: Changes,
) -> int | None:
    """The alert of a trip, stored and fanned out now; None for a trip too old to tell."""
    if now - at > ALERT_MAX_AGE:
        changes.late_trips += 1
        log.warning("sensor rule tripped in old readings; not told", sensor=rule["sensor_id"], rule=rule["name"])
        return None
    done = await alerts.ingest(
        conn, alerting.trip_alert(rule, at=at, measure=measure), source=AlertSource.sensor, notifier=notifier, now=now
    )
    if done.alert_id is not None:
        changes.raised.append(done.alert_id)
    log.info(
        "sensor rule tripped", sensor=rule["sensor_id"], rule=rule["name"], alert_id=done.alert_id, measure=measure
    )
    return done.alert_id
