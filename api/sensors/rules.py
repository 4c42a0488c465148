"""A threshold rule's hysteresis, as a pure function of its state and one new measure.

A rule trips when its measure has stood at or above ``trip_at`` for ``trip_after`` (every reading in that span),
and stands down when it has stood below ``clear_at`` for ``clear_after``. Between the two thresholds nothing
changes, so a measure wavering around one threshold neither flaps an alert on and off nor clears one early.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import NamedTuple


class Thresholds(NamedTuple):
    trip_at: float
    clear_at: float  # below trip_at
    trip_after: timedelta
    clear_after: timedelta


class State(NamedTuple):
    tripped: bool = False
    above_since: datetime | None = None  # not tripped: since when the measure has been at or above trip_at
    below_since: datetime | None = None  # tripped: since when the measure has been below clear_at


class Change(Enum):
    none = "none"
    trip = "trip"
    stand_down = "stand_down"


def step(state: State, rule: Thresholds, *, at: datetime, measure: float) -> tuple[State, Change]:
    """The state after one measure at ``at`` (later than every measure before it), and what changed."""
    if not state.tripped:
        if measure < rule.trip_at:
            return State(), Change.none
        since = state.above_since or at
        if at - since >= rule.trip_after:
            return State(tripped=True), Change.trip
        return State(above_since=since), Change.none
    if measure >= rule.clear_at:
        return State(tripped=True), Change.none
    since = state.below_since or at
    if at - since >= rule.clear_after:
        return State(), Change.stand_down
    return State(tripped=True, below_since=since), Change.none
