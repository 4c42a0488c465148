"""Which sign of life answers which check-in slot (docs/care.md, "Which sign of life answers which slot")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")


def previous_slot(times: Sequence[time], days: Sequence[int], slot: datetime) -> datetime:
    """The plan's check-in time before ``slot`` (Asia/Seoul; ``days`` are ISO weekdays)."""
    local_slot = slot.astimezone(SEOUL)
    candidates = (
        datetime.combine(local_slot.date() - timedelta(days=back), t, tzinfo=SEOUL) for back in range(8) for t in times
    )
    return max(c for c in candidates if c < slot and c.isoweekday() in days)


def answers_slot(plan: Any, at: datetime) -> bool:
    """Whether a sign of life at ``at`` answers the plan's current slot: inside its window before the check-in
    time, or while its ladder climbs, and not while the plan is paused. Nothing else moves a slot."""
    paused = plan["paused_until"] is not None and plan["paused_until"] > at
    opens = plan["slot_at"] - timedelta(minutes=plan["window_min"])
    return not paused and (plan["step"] > 0 or at >= opens)
