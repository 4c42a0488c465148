"""What a person's details must be beyond their shape: a birth date that has happened, a home in Seoul.

These rules read the clock or Seoul's boundaries, so they are the service's (422, naming the field), not the
schema's; the console reads its form through them too, so both say the same thing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from api.platform import boundaries
from api.platform.errors import Unprocessable
from care.schemas import Home
from care.slots import SEOUL

# The oldest birth date taken (the database checks it too): an earlier one is a typing mistake.
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


class HomeRow(NamedTuple):
    """A home as stored: its point (None when given as a dong) and its dong (the one the point lies in)."""

    lat: float | None
    lon: float | None
    dong: str


def check_birth_date(born: date | None, *, now: datetime) -> date | None:
    """The birth date if it lies from 1900-01-01 to today (in Seoul), else 422 ``birth_date_out_of_range``."""
    if born is None:
        return None
    today = now.astimezone(SEOUL).date()
    if not EARLIEST_BIRTH_DATE <= born <= today:
        raise Unprocessable(
            f"`birth_date` must be from {EARLIEST_BIRTH_DATE.isoformat()} to today ({today.isoformat()}, Seoul); "
            f"{born.isoformat()} is outside.",
            code="birth_date_out_of_range",
            field="birth_date",
            earliest=EARLIEST_BIRTH_DATE.isoformat(),
            latest=today.isoformat(),
        )
    return born


def locate_home(home: Home | None) -> HomeRow | None:
    """A dong as given, or a point with the dong it lies in; a point outside Seoul is 422 ``home_outside_seoul``."""
    if home is None:
        return None
    if home.dong is not None:
        return HomeRow(None, None, home.dong)
    assert home.lat is not None and home.lon is not None  # the schema takes a point whole or not at all
    found = boundaries.dong_at(home.lat, home.lon)
    if found is None:
        raise Unprocessable(
            f"`home` must be in Seoul: ({home.lat}, {home.lon}) lies in none of its dongs (WGS84 degrees).",
            code="home_outside_seoul",
            field="home",
        )
    return HomeRow(home.lat, home.lon, found.code)
