"""Warnings that reach exactly the people under them: true boundaries, homes and watched places.

Who is told (docs/alerts.md, "Who is told"):
- a district an alert names by geocode, or covers at least half of with its shapes, is told as a whole (its
  topic, its citizens without the app by SMS, everyone in care there);
- besides, every citizen with a place (home or watched) inside one of the alert's shapes, or given only as a
  dong the shapes overlap, and everyone in care whose home lies inside, is told;
- nobody is told twice, however many of their places are inside.
"""

from __future__ import annotations

import math
import os
import random
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon

from api.alerts.cap import CapError, parse_cap
from api.alerts.service import ingest
from api.platform import boundaries
from api.platform.auth.tokens import Principal, Role
from api.platform.geo import great_circle_m, polygon_literal
from api.platform.settings import NotifySettings, Settings
from care import service as care
from care.schemas import GuardianIn, Home, PlanIn, RecipientCreate
from notifications.service import Notifier
from tests.alerts import cap_xml

NOW = datetime(2026, 7, 14, 3, 0, tzinfo=UTC)
SEOCHO, GANGNAM, JONGNO = "11650", "11680", "11110"
WORKER = Principal(subject="staff:1", role=Role.social_worker, districts=(SEOCHO, GANGNAM))
# Over 양재동 (서초구) and 개포동 (강남구), and neither district office: the polygon that once reached nobody.
BORDER = "37.470,127.035 37.470,127.060 37.480,127.060 37.480,127.035 37.470,127.035"
INSIDE_SEOCHO, INSIDE_GANGNAM, OUTSIDE_GANGNAM = (37.475, 127.04), (37.475, 127.055), (37.50, 127.06)
NO_SHELTER = {"shelter_ko": "", "shelter_en": "", "event_ko": "e", "event_en": "e"}
EXAMPLES = int(os.environ.get("SAFECITY_MODEL_EXAMPLES", "25"))


@pytest.fixture
def notifier(settings: Settings) -> Notifier:
    return Notifier(settings.notify)


async def citizen(conn: asyncpg.Connection, phone: str, district: str | None, *places: object, device: bool = False):  # type: ignore[no-untyped-def]
    """A citizen with places: (lat, lon) points, or dong codes; the first is their home."""
    cid = await conn.fetchval("INSERT INTO citizens (phone, district) VALUES ($1, $2) RETURNING id", phone, district)
    for n, place in enumerate(places):
        kind, label = ("home", "집") if n == 0 else ("watched", f"곳 {n}")
        if isinstance(place, str):
            lat = lon = None
            dong = place
        else:
            lat, lon = place  # type: ignore[misc]
            found = boundaries.dong_at(lat, lon)
            assert found is not None
            dong = found.code
        await conn.execute(
            "INSERT INTO citizen_places (citizen_id, kind, label, lat, lon, dong, district, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, substr($6, 1, 5), $7)",
            cid,
            kind,
            label,
            lat,
            lon,
            dong,
            NOW,
        )
    if device:
        await conn.execute(
            "INSERT INTO devices (citizen_id, platform, fcm_token) VALUES ($1, 'android', $2)", cid, f"tok-{phone}" * 3
        )
    return cid


async def in_care(conn: asyncpg.Connection, phone: str, district: str, home: tuple[float, float] | str) -> int:
    """Someone in care with a home point, or a home given as a dong (its code)."""
    data = RecipientCreate(
        name="박영자",
        phone=phone,
        district=district,
        address="서울",
        home=Home(dong=home) if isinstance(home, str) else Home(lat=home[0], lon=home[1]),
        guardians=[GuardianIn(name="박민수", phone="010-2222-9999", relation="아들")],
        plan=PlanIn(times=["09:00"]),
    )
    return (await care.enroll(conn, data=data, principal=WORKER, now=NOW - timedelta(days=1))).id


async def told(pool: asyncpg.Pool) -> list[tuple[str, str, str]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT channel, recipient, template FROM outbox ORDER BY id")
    return [(r["channel"], r["recipient"], r["template"]) for r in rows]


async def run(pool: asyncpg.Pool, notifier: Notifier, xml: bytes):  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        return await ingest(conn, parse_cap(xml), source="post", notifier=notifier, now=NOW)


async def test_a_polygon_over_two_districts_reaches_the_people_under_it_once_each(pool, notifier) -> None:
    async with pool.acquire() as conn:
        await citizen(conn, "+821030000001", SEOCHO, INSIDE_SEOCHO)  # home inside
        # Lives in Jongno, watches two places inside (her parents', their shop): one SMS.
        await citizen(conn, "+821030000002", JONGNO, (37.57, 126.98), INSIDE_GANGNAM, (37.478, 127.058))
        await citizen(conn, "+821030000003", GANGNAM, OUTSIDE_GANGNAM)  # home in Gangnam, not under it
        await citizen(conn, "+821030000004", GANGNAM)  # only a district known: not told by a small shape
        await citizen(conn, "+821030000005", SEOCHO, INSIDE_SEOCHO, device=True)  # the app: a push to it
        await citizen(conn, "+821030000006", SEOCHO, "11650102")  # a home given as 양재동, which it overlaps
        await in_care(conn, "010-3000-0007", SEOCHO, INSIDE_SEOCHO)
        await in_care(conn, "010-3000-0008", GANGNAM, OUTSIDE_GANGNAM)
        await in_care(conn, "010-3000-0009", SEOCHO, "11650102")  # a home picked as 양재동: told, as a citizen's
        await in_care(conn, "010-3000-0010", SEOCHO, "11650101")  # 방배동, which it does not overlap

    result = await run(pool, notifier, cap_xml("gas-1", geocodes=(), polygons=(BORDER,), event="가스 누출"))

    assert result.outcome == "created"
    rows = await told(pool)
    assert sorted(r[1] for r in rows if r[0] == "sms") == [
        "+821030000001",
        "+821030000002",
        "+821030000006",
        "+821030000007",
        "+821030000009",
    ]
    assert [r[1] for r in rows if r[0] == "push"] == ["tok-+821030000005" * 3]  # no district topic
    assert result.deliveries == len(rows)
    assert result.safety_checks == 2  # both people in care under it are asked
    async with pool.acquire() as conn:
        alert = await conn.fetchrow("SELECT districts, areas FROM alerts")
    assert alert["districts"] == [SEOCHO, GANGNAM]
    area = alert["areas"][0]  # the Korean info's; the English one's is the same
    assert area["method"] == "polygon"
    assert 0 < area["shares"][SEOCHO] < 0.5 and 0 < area["shares"][GANGNAM] < 0.5
    assert {"11650102", "11680103"} <= area["dongs"].keys()


async def test_the_all_clear_reaches_the_same_people(pool, notifier) -> None:
    async with pool.acquire() as conn:
        await citizen(conn, "+821030000001", SEOCHO, INSIDE_SEOCHO)
        await citizen(conn, "+821030000003", GANGNAM, OUTSIDE_GANGNAM)
    await run(pool, notifier, cap_xml("gas-1", sent=NOW, geocodes=(), polygons=(BORDER,)))
    cancel = cap_xml(
        "gas-2",
        sent=NOW + timedelta(minutes=30),
        msg_type="Cancel",
        geocodes=(),
        references=(("safety@seoul.go.kr", "gas-1", NOW),),
    )
    await run(pool, notifier, cancel)
    assert [(r[1], r[2]) for r in await told(pool)] == [
        ("+821030000001", "alerts.warning"),
        ("+821030000001", "alerts.all_clear"),
    ]


async def test_a_shape_over_most_of_a_district_tells_it_whole_and_nobody_twice(pool, notifier) -> None:
    gangnam = boundaries.districts()[GANGNAM].shape.buffer(0.002)
    ring = " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in gangnam.exterior.simplify(0.001).coords)
    async with pool.acquire() as conn:
        await citizen(conn, "+821030000003", GANGNAM, OUTSIDE_GANGNAM)  # told with the district
        await citizen(conn, "+821030000004", GANGNAM, OUTSIDE_GANGNAM, INSIDE_GANGNAM)  # and only once
        await citizen(conn, "+821030000002", JONGNO, (37.57, 126.98), INSIDE_GANGNAM)  # by her watched place
        await citizen(conn, "+821030000009", JONGNO, (37.57, 126.98))  # not under it
    result = await run(pool, notifier, cap_xml("rain-9", geocodes=(), polygons=(ring,)))
    rows = await told(pool)
    recipients = [r[1] for r in rows]
    assert ("push", "district-11680", "alerts.warning") in rows
    assert sorted(r for r in recipients if r.startswith("+82")) == ["+821030000002", "+821030000003", "+821030000004"]
    assert len(recipients) == len(set(recipients)) == result.deliveries


CHEONGDAM, SAMSEONG = "11680104", "11680105"


def two_dongs_and_a_margin() -> Polygon:
    """A shape over all of 청담동 and 삼성동 and a margin of their neighbours: well under half of 강남구."""
    dongs = boundaries.dongs()
    union = dongs[CHEONGDAM].shape.union(dongs[SAMSEONG].shape).buffer(0.002)
    shape = Polygon(union.exterior).simplify(0.0005)
    assert shape.covers(dongs[CHEONGDAM].shape) and shape.covers(dongs[SAMSEONG].shape)
    return shape


def ring_of(shape: Polygon) -> str:
    return " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in shape.exterior.coords)


async def subscribe(conn: asyncpg.Connection, phone: str, *topics: str) -> None:
    """The citizen's device is on these topics at FCM, as the dispatcher's upkeep leaves it."""
    await conn.execute(
        "UPDATE devices SET subscribed_topics = $2, topic_pending = false"
        " WHERE citizen_id = (SELECT id FROM citizens WHERE phone = $1)",
        phone,
        sorted(topics),
    )


async def test_dongs_wholly_under_a_shape_are_told_by_their_topics_and_nobody_twice(pool, notifier) -> None:
    shape = two_dongs_and_a_margin()
    dongs = boundaries.dongs()
    cheongdam = dongs[CHEONGDAM].shape.representative_point()
    samseong = dongs[SAMSEONG].shape.representative_point()
    margin = shape.difference(dongs[CHEONGDAM].shape.union(dongs[SAMSEONG].shape)).representative_point()
    at = {"cheongdam": (cheongdam.y, cheongdam.x), "samseong": (samseong.y, samseong.x), "margin": (margin.y, margin.x)}
    async with pool.acquire() as conn:
        # On 청담동's topic already: the topic's push is theirs, and nothing else.
        await citizen(conn, "+821040000001", GANGNAM, at["cheongdam"], device=True)
        await subscribe(conn, "+821040000001", f"district-{GANGNAM}", f"dong-{CHEONGDAM}")
        # Home in 청담동, a watched place in 삼성동, on both topics: both pushes share one notice (one shown).
        await citizen(conn, "+821040000002", JONGNO, at["cheongdam"], at["samseong"], device=True)
        await subscribe(conn, "+821040000002", f"district-{JONGNO}", f"dong-{CHEONGDAM}", f"dong-{SAMSEONG}")
        # A new phone still joining its topics: told by a push of its own.
        await citizen(conn, "+821040000003", GANGNAM, at["samseong"], device=True)
        await citizen(conn, "+821040000004", GANGNAM, at["samseong"])  # no app: an SMS
        await citizen(conn, "+821040000005", GANGNAM, at["margin"], device=True)  # in a dong only partly under it
        await subscribe(conn, "+821040000005", f"district-{GANGNAM}", f"dong-{boundaries.dong_at(*at['margin']).code}")
        await citizen(conn, "+821040000006", GANGNAM, OUTSIDE_GANGNAM, device=True)  # not under it
        await subscribe(conn, "+821040000006", f"district-{GANGNAM}")

    result = await run(pool, notifier, cap_xml("gas-7", geocodes=(), polygons=(ring_of(shape),), event="가스 누출"))

    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT channel, recipient, topic, notice_id FROM outbox ORDER BY id")
        area = (await conn.fetchval("SELECT areas FROM alerts"))[0]
    assert area["shares"][GANGNAM] < 0.5  # not told whole
    assert area["dongs"][CHEONGDAM] == area["dongs"][SAMSEONG] == 1.0
    topics = [r for r in rows if r["topic"]]
    assert sorted(r["recipient"] for r in topics) == [f"dong-{CHEONGDAM}", f"dong-{SAMSEONG}"]
    assert len({r["notice_id"] for r in topics}) == 1
    direct = sorted(r["recipient"] for r in rows if not r["topic"])
    assert direct == sorted(["tok-+821040000003" * 3, "+821040000004", "tok-+821040000005" * 3])
    assert result.deliveries == len(rows)


async def test_a_circle_tells_nobody_in_the_band_postgresql_counts_as_its_edge(pool, notifier) -> None:
    """PostgreSQL's own point-in-polygon test counts a point near enough to an edge's line as on the edge, and so
    inside, with a tolerance in the polygon's units (degrees here): beside the 96 short sides drawn around a 1 km
    circle, up to about 33 m out. Someone at home 33 m outside the circle, where that test says inside, is not
    told; someone at its centre is, and so is someone in care there, and nobody in care at the same outside spot."""
    centre, outside = (37.5, 127.0), (37.505478, 127.009407)
    [ring] = boundaries.area_shape([], [(*centre, 1.0)])
    assert not ring.covers(Point(outside[1], outside[0]))
    assert 30 < ring.exterior.distance(Point(outside[1], outside[0])) * 111_000 < 40
    async with pool.acquire() as conn:
        assert await conn.fetchval(  # the band: PostgreSQL's plain test calls it inside
            "SELECT point($1, $2) <@ $3::text::polygon",
            outside[1],
            outside[0],
            polygon_literal([(round(lat, 6), round(lon, 6)) for lon, lat in ring.exterior.coords]),  # as stored
        )
        await citizen(conn, "+821050000001", SEOCHO, centre)
        await citizen(conn, "+821050000002", SEOCHO, outside)
        await in_care(conn, "010-5000-0003", SEOCHO, outside)
        await in_care(conn, "010-5000-0004", SEOCHO, centre)
    await run(pool, notifier, cap_xml("gas-small", geocodes=(), circles=("37.5,127.0 1.0",), event="가스 누출"))
    assert sorted(r[1] for r in await told(pool) if r[0] == "sms") == ["+821050000001", "+821050000004"]


def test_a_share_of_one_means_all_of_the_dong() -> None:
    """Invariant: a dong's share is 1.0 only when the shape covers all of it; one that merely rounds to 1 is not."""
    dong = boundaries.dongs()[CHEONGDAM].shape
    nearly = dong.difference(Point(dong.representative_point()).buffer(0.00005))
    [share] = [s for s in boundaries.dong_shares([nearly]) if s.code == CHEONGDAM]
    assert share.share < 1.0
    [share] = [s for s in boundaries.dong_shares([dong.buffer(0.0001)]) if s.code == CHEONGDAM]
    assert share.share == 1.0


def test_the_polygon_around_a_circle_holds_every_point_of_it() -> None:
    """Invariant: every point within the radius of the centre, on the ground, is inside the drawn polygon."""
    area = parse_cap(cap_xml("c", geocodes=(), circles=("37.5172,127.0473 1.0",))).infos[0].areas[0]
    [ring] = boundaries.area_shape(area.polygons, area.circles)
    rng = random.Random(7)
    checked = 0
    for _ in range(5000):
        lat, lon = 37.5172 + rng.uniform(-0.01, 0.01), 127.0473 + rng.uniform(-0.012, 0.012)
        if great_circle_m(37.5172, 127.0473, lat, lon) <= 1000:
            checked += 1
            assert ring.covers(Point(lon, lat)), (lat, lon)
    assert checked > 1000
    assert ring.area < 1.01 * math.pi * (1000 / 111_195) ** 2 / math.cos(math.radians(37.5172))


def test_broken_shapes_are_refused_with_the_element_named() -> None:
    crossing = "37.47,127.03 37.48,127.06 37.47,127.06 37.48,127.03 37.47,127.03"
    with pytest.raises(CapError, match=r"<polygon> is not a simple ring .*Self-intersection"):
        parse_cap(cap_xml("x", geocodes=(), polygons=(crossing,)))
    with pytest.raises(CapError, match="<polygon> is not closed"):
        parse_cap(cap_xml("x", geocodes=(), polygons=("37.47,127.03 37.48,127.06 37.47,127.06 37.48,127.03",)))
    with pytest.raises(CapError, match=r"<polygon> point '97\.47,127\.03'"):
        parse_cap(cap_xml("x", geocodes=(), polygons=("97.47,127.03 37.48,127.06 37.47,127.06 97.47,127.03",)))
    with pytest.raises(CapError, match="<circle> radius"):
        parse_cap(cap_xml("x", geocodes=(), circles=("37.5,127.0 -1",)))


def test_the_boundaries_are_seouls_25_districts_and_467_dongs() -> None:
    from api.platform.districts import DISTRICTS

    assert boundaries.districts().keys() == DISTRICTS.keys()
    assert len(boundaries.dongs()) == 467
    assert all(d.shape.is_valid and d.code[:5] in DISTRICTS for d in boundaries.dongs().values())
    office = boundaries.district_at(37.5172, 127.0473)
    assert office is not None and office.name_ko == "강남구"
    assert boundaries.dong_at(35.1796, 129.0756) is None  # Busan


# Random quadrilaterals and triangles over Seoul, and random homes: the statement's choice is compared with
# shapely's brute force over every home.
SEOUL_BOX = (37.43, 37.70, 126.80, 127.17)
corner = st.tuples(st.floats(SEOUL_BOX[0], SEOUL_BOX[1]), st.floats(SEOUL_BOX[2], SEOUL_BOX[3]))
shapes = st.lists(corner, min_size=3, max_size=5).map(lambda c: Polygon([(lon, lat) for lat, lon in c]))


class Homes(list):  # type: ignore[type-arg]
    def __repr__(self) -> str:  # hypothesis prints its arguments; 2,000 homes say nothing
        return f"<{len(self)} homes>"


@pytest.fixture
async def homes(pool: asyncpg.Pool) -> Homes:
    """2,000 citizens at random homes in Seoul, once for all the examples of a test."""
    rng = random.Random(19)
    people: list[tuple[int, float, float]] = []
    async with pool.acquire() as conn:
        while len(people) < 2000:
            lat, lon = rng.uniform(*SEOUL_BOX[:2]), rng.uniform(*SEOUL_BOX[2:])
            if boundaries.dong_at(lat, lon) is not None:
                people.append((await citizen(conn, f"+82105{len(people):07d}", None, (lat, lon)), lat, lon))
    return Homes(people)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(shape=shapes.filter(lambda p: p.is_valid and p.area > 1e-6))
async def test_the_people_chosen_are_exactly_those_whose_homes_lie_inside(pool, homes, shape) -> None:
    """Invariants: everyone whose home lies inside the shape is told, once: by the topic of a dong wholly under
    it when their phone is on that topic, else by a message of their own; nobody whose home lies outside is told
    either way, except within 1e-9 degrees (a tenth of a millimetre) of an edge.

    Every other citizen has the app, on their home dong's topic. PostgreSQL's own test counts a point near enough
    to an edge's line as on it, and so inside, with a tolerance in degrees: this property found a home 1.06e-5
    degrees (1.2 m) outside a short edge told, and beside the sides drawn around a circle it reaches tens of
    metres (the test above). The statement tests each shape again on coordinates scaled by geo.PRECISE_SCALE,
    which narrows the band to nothing; what is left is the rounding of the scaled coordinates.
    """
    ring = [(lat, lon) for lon, lat in shape.exterior.coords]
    whole_dongs = [s.code for s in boundaries.dong_shares([shape]) if s.share == 1.0]
    notifier = Notifier(NotifySettings())
    words = {"headline_ko": "h", "headline_en": "h", "instruction_ko": "i", "instruction_en": "i", **NO_SHELTER}
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute(
                """
                INSERT INTO devices (citizen_id, platform, fcm_token, subscribed_topics, topic_pending)
                SELECT p.citizen_id, 'android', 'tok-' || p.citizen_id, ARRAY['dong-' || p.dong], false
                FROM citizen_places p WHERE p.citizen_id = ANY($1::int8[]) AND p.citizen_id % 2 = 0
                """,
                [cid for cid, _, _ in homes],
            )
            if whole_dongs:
                await notifier.to_dong_topics(
                    conn, dongs=whole_dongs, template="alerts.warning", params=words, now=NOW, dedupe_key="topics"
                )
            await notifier.to_places(
                conn,
                polygons=[ring],
                dongs=[],
                except_districts=[],
                except_dong_topics=whole_dongs,
                template="alerts.warning",
                params=words,
                now=NOW,
                dedupe_key="property",
            )
            direct = [r["citizen_id"] for r in await conn.fetch("SELECT citizen_id FROM outbox WHERE NOT topic")]
            by_topic = {
                r["citizen_id"]
                for r in await conn.fetch(
                    "SELECT d.citizen_id FROM devices d"
                    " JOIN outbox o ON o.topic AND o.recipient = ANY(d.subscribed_topics)"
                )
            }
        finally:
            await tx.rollback()
    assert len(direct) == len(set(direct))
    assert not by_topic & set(direct)
    chosen = set(direct) | by_topic
    edge = shape.exterior
    for cid, lat, lon in homes:
        point = Point(lon, lat)
        if shape.contains(point):
            assert cid in chosen, (cid, lat, lon, ring)
        elif cid in chosen:
            assert edge.distance(point) < 1e-9, (cid, lat, lon, ring)
