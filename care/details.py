"""What a person's details must be beyond their shape: a birth date that has happened, a home in Seoul.

These rules read the clock or our places, so they are the service's (422, naming the field), not the schema's;
the console reads its form through them too, so both say the same thing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from api.platform.districts import DISTRICT_CENTROIDS
from api.platform.errors import Unprocessable
from api.platform.geo import SEOUL_BOUNDS
from care.schemas import Home
from care.slots import SEOUL

# The oldest birth date taken (the database checks it too): an earlier one is a typing mistake.
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


class HomePoint(NamedTuple):
    """A home as stored: its point, and the place it was picked from (None when the point was given)."""

    lat: float
    lon: float
    place: str | None


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


def home_point(home: Home | None) -> HomePoint | None:
    """Where a home is: the point given if in Seoul (else 422 ``home_outside_seoul``), or the place's point."""
    if home is None:
        return None
    if home.place is not None:
        lat, lon = DISTRICT_CENTROIDS[home.place]
        return HomePoint(lat, lon, home.place)
    assert home.lat is not None and home.lon is not None  # the schema takes a point whole or not at all
    if not SEOUL_BOUNDS.contains(home.lat, home.lon):
        raise Unprocessable(
            f"`home` must be in Seoul ({SEOUL_BOUNDS.describe()}); {home.lat}, {home.lon} is outside.",
            code="home_outside_seoul",
            field="home",
            bounds=SEOUL_BOUNDS._asdict(),
        )
    return HomePoint(home.lat, home.lon, None)
