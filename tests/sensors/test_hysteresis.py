"""The threshold rule's hysteresis (``api.sensors.rules.step``), over random series of measures (hypothesis).

Invariants:
1. A rule trips only when every measure over at least ``trip_after`` up to the tripping one stood at or above
   ``trip_at``; it stands down only when every measure over at least ``clear_after`` stood below ``clear_at``.
2. Trips and stand-downs alternate, beginning with a trip: an alert is never raised twice or cleared unraised.
3. Measures between ``clear_at`` and ``trip_at`` never change whether the rule is tripped (no flapping).
4. A measure that stays at or above ``trip_at`` for longer than ``trip_after`` trips the rule, once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from api.sensors.rules import Change, State, Thresholds, step

T0 = datetime(2026, 12, 3, tzinfo=UTC)


@st.composite
def rules(draw: st.DrawFn) -> Thresholds:
    clear = draw(st.floats(0, 50))
    trip = clear + draw(st.floats(0.5, 50))
    return Thresholds(
        trip, clear, timedelta(minutes=draw(st.integers(0, 20))), timedelta(minutes=draw(st.integers(0, 40)))
    )


series = st.lists(st.tuples(st.integers(1, 10), st.floats(0, 120)), min_size=1, max_size=200)


def run(rule: Thresholds, points: list[tuple[int, float]]) -> list[tuple[datetime, float, State, Change]]:
    state, at, out = State(), T0, []
    for gap, measure in points:
        at += timedelta(minutes=gap)
        state, change = step(state, rule, at=at, measure=measure)
        out.append((at, measure, state, change))
    return out


@given(rule=rules(), points=series)
def test_trips_and_stand_downs_need_their_whole_duration_and_alternate(rule, points):
    history = run(rule, points)
    expect = Change.trip
    for i, (at, _, _, change) in enumerate(history):
        if change is Change.none:
            continue
        assert change is expect  # 2
        expect = Change.stand_down if change is Change.trip else Change.trip
        held = [(t, m) for t, m, _, _ in history[: i + 1]]
        # The run of measures on the right side of the threshold that ends here lasts at least the duration. (1)
        run_start = at
        for t, m in reversed(held):
            if (m >= rule.trip_at) if change is Change.trip else (m < rule.clear_at):
                run_start = t
            else:
                break
        assert at - run_start >= (rule.trip_after if change is Change.trip else rule.clear_after)


@given(rule=rules(), points=series)
def test_measures_inside_the_band_never_change_the_state(rule, points):
    history = run(rule, points)
    before = False
    for _, measure, state, _ in history:
        if rule.clear_at <= measure < rule.trip_at:
            assert state.tripped is before  # 3
        before = state.tripped


@given(rule=rules(), minutes=st.integers(1, 120), over=st.floats(0, 50))
def test_a_measure_held_above_the_level_past_its_duration_trips_once(rule, minutes, over):
    held = int(rule.trip_after.total_seconds() // 60) + minutes
    history = run(rule, [(1, rule.trip_at + over)] * (held + 1))
    assert [c for *_, c in history].count(Change.trip) == 1  # 4
