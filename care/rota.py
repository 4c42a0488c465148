"""A rota: a week of shifts in Asia/Seoul local time, each naming who is told of an urgent case, in order.

Times are minutes from Monday 00:00 local time (0 … 10080). A shift is written as people write it, ``mon 09:00``
to ``mon 18:00``; one that ends at or before it starts runs on past midnight into the next day (``sun 22:00``
to ``mon 08:00``). A district's rota must cover the whole week exactly once: a gap would be minutes in which
nobody is told, an overlap two answers to who is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")
WEEK = 7 * 24 * 60
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAYS_KO = ("월", "화", "수", "목", "금", "토", "일")
_WHEN = re.compile(r"^\s*(mon|tue|wed|thu|fri|sat|sun)\s+([01][0-9]|2[0-4]):([0-5][0-9])\s*$", re.IGNORECASE)


class Shift(NamedTuple):
    starts: int  # minute of the week
    ends: int  # exclusive, starts < ends <= WEEK
    staff_ids: tuple[int, ...]


class RotaError(ValueError):
    """A rota that leaves minutes uncovered, covers some twice, or is written wrong; the message says where."""


def minute_of_week(when: str) -> int:
    """``"tue 09:30"`` → 1,980."""
    found = _WHEN.match(when)
    if found is None:
        raise RotaError(f"{when!r} is not a time of the week: write it as 'mon 09:00' ({', '.join(DAYS)}).")
    day, hour, minute = DAYS.index(found[1].lower()), int(found[2]), int(found[3])
    if hour == 24 and minute:
        raise RotaError(f"{when!r}: 24:00 is the latest time of a day.")
    return day * 1440 + hour * 60 + minute


def spoken(minute: int) -> str:
    """1,980 → ``"화 09:30 (tue 09:30)"``, for messages about a rota."""
    day, rest = divmod(minute % WEEK, 1440)
    return f"{DAYS_KO[day]} {rest // 60:02d}:{rest % 60:02d} ({DAYS[day]} {rest // 60:02d}:{rest % 60:02d})"


def written(minute: int) -> str:
    """1,980 → ``"tue 09:00"``; the week's end is written as Monday 00:00."""
    day, rest = divmod(minute % WEEK, 1440)
    return f"{DAYS[day]} {rest // 60:02d}:{rest % 60:02d}"


def shifts_of(written: Sequence[tuple[str, str, Sequence[int]]]) -> list[Shift]:
    """The shifts of (from, to, staff ids), split at the week's end where one runs past it, checked to tile the week."""
    shifts: list[Shift] = []
    for start_text, end_text, staff in written:
        start, end = minute_of_week(start_text), minute_of_week(end_text)
        people = tuple(dict.fromkeys(staff))
        if not people:
            raise RotaError(f"The shift from {spoken(start)} names nobody.")
        if end <= start:  # past midnight on Sunday into Monday, or a whole week from one point
            end += WEEK
        if end - start > WEEK:
            raise RotaError(f"The shift from {spoken(start)} is longer than a week.")
        if end <= WEEK:
            shifts.append(Shift(start, end, people))
        else:
            shifts += [Shift(start, WEEK, people), Shift(0, end - WEEK, people)]
    check_tiles(shifts)
    return sorted(shifts)


def check_tiles(shifts: Sequence[Shift]) -> None:
    """Raise ``RotaError`` naming the first gap or overlap, unless the shifts cover the week exactly once."""
    if not shifts:
        raise RotaError("A rota needs at least one shift; the whole week must be covered.")
    at = 0
    for shift in sorted(shifts):
        if shift.starts > at:
            raise RotaError(f"Nobody is on duty from {spoken(at)} to {spoken(shift.starts)}: add a shift there.")
        if shift.starts < at:
            raise RotaError(f"{spoken(shift.starts)} to {spoken(min(at, shift.ends))} is in two shifts: remove one.")
        at = shift.ends
    if at < WEEK:
        raise RotaError(f"Nobody is on duty from {spoken(at)} to {spoken(WEEK)}: add a shift there.")


def on_duty(shifts: Sequence[Shift], at: datetime) -> tuple[int, ...]:
    """Who the rota names at this moment, in order; () for an empty rota."""
    local = at.astimezone(SEOUL)
    minute = local.weekday() * 1440 + local.hour * 60 + local.minute
    for shift in shifts:
        if shift.starts <= minute < shift.ends:
            return shift.staff_ids
    return ()


def chain(district: Sequence[Shift], desk: Sequence[Shift], at: datetime) -> tuple[int, ...]:
    """Who is told of an urgent case at this moment, in order: the district's shift, then the night desk's."""
    return tuple(dict.fromkeys(on_duty(district, at) + on_duty(desk, at)))
