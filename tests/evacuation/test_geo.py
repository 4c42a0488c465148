"""Great-circle distance, the local plane's distortion bound that makes the index search exact, walking time."""

from __future__ import annotations

import math
import random

import pytest

from api.platform import geo


def test_a_degree_of_latitude_is_a_360th_of_the_meridian():
    assert geo.great_circle_m(37.0, 127.0, 38.0, 127.0) == pytest.approx(2 * math.pi * geo.EARTH_RADIUS_M / 360)


def test_distances_across_seoul_match_known_values():
    # Seoul City Hall to Gangnam Station is about 8.9 km as the crow flies.
    assert geo.great_circle_m(37.5663, 126.9779, 37.4979, 127.0276) == pytest.approx(8_850, abs=100)
    assert geo.great_circle_m(37.5, 127.0, 37.5, 127.0) == 0.0
    assert geo.great_circle_m(37.5, 127.0, 37.6, 127.1) == geo.great_circle_m(37.6, 127.1, 37.5, 127.0)


def test_the_plane_stays_within_its_stated_distortion_across_seoul_and_its_surroundings():
    """The exactness of the nearest search rests on this bound; it holds with room to spare."""
    rnd = random.Random(7)
    q, s = geo.QUERY_BOUNDS, geo.SEOUL_BOUNDS
    corners = [(lat, lon) for lat in (q.south, q.north) for lon in (q.west, q.east)]
    worst = 0.0
    for i in range(20_000):
        a = corners[i % 4] if i < 400 else (rnd.uniform(q.south, q.north), rnd.uniform(q.west, q.east))
        b = (rnd.uniform(s.south, s.north), rnd.uniform(s.west, s.east))
        (ax, ay), (bx, by) = geo.plane_m(*a), geo.plane_m(*b)
        plane = math.hypot(ax - bx, ay - by)
        worst = max(worst, abs(plane / geo.great_circle_m(*a, *b) - 1))
    assert worst < geo.PLANE_DISTORTION / 2


def test_the_plane_and_seoul_bounds_agree_with_the_migration():
    assert geo.plane_m(geo.PLANE_LAT0, geo.PLANE_LON0) == (0.0, 0.0)
    assert geo.QUERY_BOUNDS.contains(37.3700, 126.7100)
    assert not geo.SEOUL_BOUNDS.contains(37.3700, 126.7100)
    assert not geo.QUERY_BOUNDS.contains(float("nan"), 127.0)
    assert not geo.SEOUL_BOUNDS.contains(36.146513, 121.169846)


@pytest.mark.parametrize(("metres", "minutes"), [(0, 0), (1, 1), (500, 10), (1000, 20), (2000, 39)])
def test_walking_minutes_are_cautious(metres, minutes):
    assert geo.walking_minutes(metres) == minutes
