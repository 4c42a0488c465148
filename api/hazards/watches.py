"""Citizens watching an area for hazards: told at once of dangerous incidents there (gas, sinkhole, fire), and
once a day of the rest.

An area is a polygon the citizen draws, which must be a valid simple ring, touch Seoul and cover at most
``MAX_WATCH_KM2``; or one of their places: a circle of ``radius_m`` around a point, or the dong (its convex
hull, a simple ring) of a place given as a dong.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import shapely
from shapely.geometry import Polygon
from shapely.validation import explain_validity

from api.accounts import places
from api.accounts import service as accounts
from api.hazards import messages
from api.hazards import watches_repository as repository
from api.hazards.watches_schemas import MAX_WATCH_KM2, MAX_WATCHES, WatchCreate, WatchRead
from api.platform import boundaries
from api.platform.errors import Conflict, NotFound, Problem
from api.platform.geo import plane_m, polygon_literal
from notifications.service import Notifier, Outgoing

CLAIM_BATCH = 500
# A dangerous incident older than this when the job first sees it (one from before watches existed, or a worker
# stopped for long) is marked told without a message: "at once" would no longer be true.
TOO_OLD_TO_TELL = timedelta(hours=1)
_POINT = re.compile(r"\(([-0-9.e]+),([-0-9.e]+)\)")


def area_km2(shape: Polygon) -> float:
    """The polygon's area on the ground, in the local plane (good to about 1 % across Seoul)."""
    ring = [plane_m(lat, lon) for lon, lat in shape.exterior.coords]
    return Polygon(ring).area / 1e6


def drawn_area(points: list[list[float]]) -> Polygon:
    """A citizen's polygon of [lat, lon] points, or a Problem saying what is wrong with it."""
    ring = [(lon, lat) for lat, lon in points]
    if ring[0] == ring[-1]:
        ring = ring[:-1]
    if len(set(ring)) < 3:
        raise Problem("An area needs at least three distinct points.", code="invalid_area")
    shape = Polygon(ring)
    if not shape.is_valid:
        raise Problem(
            f"The area is not a simple polygon ({explain_validity(shape)}); draw its edges without crossing.",
            code="invalid_area",
        )
    if not boundaries.district_shares([shape]):
        raise Problem("The area lies outside Seoul; watch an area in the city.", code="area_outside_seoul")
    size = area_km2(shape)
    if size > MAX_WATCH_KM2:
        raise Problem(
            f"The area covers {size:,.1f} km²; an area watched may cover at most {MAX_WATCH_KM2:g} km². "
            "Watch a smaller one, or several.",
            code="area_too_large",
            max_km2=MAX_WATCH_KM2,
        )
    return shape


async def add_watch(conn: asyncpg.Connection, *, citizen_id: int, data: WatchCreate, now: datetime) -> WatchRead:
    if data.area is not None:
        shape = drawn_area(data.area)
    else:
        shape = await _place_area(conn, citizen_id=citizen_id, place_id=data.place_id, radius_m=data.radius_m)
    ring = [(lat, lon) for lon, lat in shape.exterior.coords[:-1]]
    async with conn.transaction():
        if len(await repository.lock_watches(conn, citizen_id)) >= MAX_WATCHES:
            raise Conflict(
                f"You watch {MAX_WATCHES} areas already, the most there can be; delete one to add another.",
                code="too_many_watches",
                limit=MAX_WATCHES,
            )
        row = await repository.insert_watch(
            conn,
            citizen_id=citizen_id,
            label=data.label,
            place_id=data.place_id,
            area=polygon_literal(ring),
            area_km2=round(area_km2(shape), 4),
            bounds=shape.bounds,
            now=now,
        )
    return _read(row)


async def list_watches(conn: asyncpg.Connection, *, citizen_id: int) -> list[WatchRead]:
    return [_read(r) for r in await repository.list_watches(conn, citizen_id)]


async def remove_watch(conn: asyncpg.Connection, *, citizen_id: int, watch_id: int) -> None:
    async with conn.transaction():
        if not await repository.delete_watch(conn, citizen_id=citizen_id, watch_id=watch_id):
            raise NotFound(f"You have no area watch {watch_id}.", code="watch_not_found")


async def tell_at_once(conn: asyncpg.Connection, *, notifier: Notifier, now: datetime) -> dict[str, int]:
    """Tell watchers of each new dangerous incident inside their areas, once each; mark the incidents told."""
    claimed = await repository.claim_dangerous(conn, limit=CLAIM_BATCH)
    fresh = [r["id"] for r in claimed if now - r["first_reported_at"] <= TOO_OLD_TO_TELL]
    rows = await repository.watchers_of(conn, fresh) if fresh else []
    people = await _people(conn, [r["citizen_id"] for r in rows])
    items = []
    for r in rows:
        person = people.get(r["citizen_id"])
        if person is None:
            continue
        lang = person.language.value
        items.append(
            Outgoing(
                dedupe_key=f"hazard-watch:{r['incident_id']}:{person.id}",
                template=messages.WATCH_NOW,
                params={"area": r["label"], "category": messages.category_name(r["category"], lang)},
                language=lang,
                phone=person.phone,
                citizen_id=person.id,
            )
        )
    if items:
        await notifier.enqueue_many(conn, items=items, now=now)
    if claimed:
        await repository.mark_told(conn, [r["id"] for r in claimed], now=now)
    return {"incidents": len(claimed), "told": len(items)}


async def daily_digest(
    conn: asyncpg.Connection, *, notifier: Notifier, since: datetime, until: datetime, now: datetime
) -> dict[str, int]:
    """One message per watch with new incidents in [since, until): how many, of which kinds."""
    rows = await repository.digest(conn, since=since, until=until)
    by_watch: dict[int, list[Any]] = {}
    for r in rows:
        by_watch.setdefault(r["watch_id"], []).append(r)
    people = await _people(conn, [r["citizen_id"] for r in rows])
    items = []
    for watch_id, kinds in by_watch.items():
        person = people.get(kinds[0]["citizen_id"])
        if person is None:
            continue
        lang = person.language.value
        listed = ", ".join(f"{messages.category_name(k['category'], lang)} {k['n']}" for k in kinds)
        items.append(
            Outgoing(
                dedupe_key=f"hazard-digest:{until.date().isoformat()}:{watch_id}",
                template=messages.WATCH_DIGEST,
                params={"area": kinds[0]["label"], "count": sum(k["n"] for k in kinds), "categories": listed},
                language=lang,
                phone=person.phone,
                citizen_id=person.id,
            )
        )
    if items:
        await notifier.enqueue_many(conn, items=items, now=now)
    return {"watches": len(by_watch), "told": len(items)}


async def _people(conn: asyncpg.Connection, citizen_ids: list[int]) -> dict[int, Any]:
    return {c.id: c for c in await accounts.citizens_by_id(conn, citizen_ids=citizen_ids)} if citizen_ids else {}


async def _place_area(conn: asyncpg.Connection, *, citizen_id: int, place_id: int | None, radius_m: int) -> Polygon:
    place = next((p for p in await places.list_places(conn, citizen_id=citizen_id) if p.id == place_id), None)
    if place is None:
        raise NotFound(f"You have no place {place_id}; add it under /v1/me/places first.", code="place_not_found")
    if place.lat is not None and place.lon is not None:
        return boundaries.circle_polygon(place.lat, place.lon, radius_m)
    hull = shapely.convex_hull(boundaries.dongs()[place.dong].shape)
    assert isinstance(hull, Polygon)
    return hull


def _read(row: asyncpg.Record) -> WatchRead:
    # PostgreSQL writes a polygon as ((x,y),...): here (lon,lat).
    ring = [(float(lat), float(lon)) for lon, lat in _POINT.findall(row["area"])]
    return WatchRead(
        id=row["id"],
        label=row["label"],
        place_id=row["place_id"],
        area=ring,
        area_km2=row["area_km2"],
        created_at=row["created_at"],
    )
