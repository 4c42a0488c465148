"""Business rules of hazards: reports and the rule that groups them into incidents, photos, and the public feed.

The join rule: a report joins the nearest open incident (submitted, acknowledged or in progress) of the same
category whose first report was within ``JOIN_RADIUS_M`` metres (great-circle distance) and whose latest
report came at most ``JOIN_WINDOW`` before this one; otherwise it opens a new incident where it stands.

Two reports sent at the same moment must not open two incidents. Before it looks, a report takes a
transaction-scoped advisory lock on its grid cell and the eight around it. Cells are at least
``JOIN_RADIUS_M`` wide, so any two reports that could join each other (or the same incident) share a cell in
their neighbourhoods and the second waits for the first to commit, then sees the incident it opened. The
candidate incident is also locked ``FOR UPDATE``, so an operator closing or merging it at the same time either
goes first (and the report opens a new incident) or after (and includes this report).
"""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timedelta

import asyncpg
import msgspec

from api.hazards import photos, public, repository, routing
from api.hazards.schemas import (
    Category,
    HazardReportCreate,
    HazardReportPage,
    HazardReportRead,
    IncidentFeature,
    IncidentFeed,
    IncidentProperties,
    IncidentSummary,
    LocationRead,
    PhotoRead,
    PointGeometry,
    Status,
    parse_bbox,
    parse_choices,
)
from api.hazards.storage import MAX_PHOTOS_PER_REPORT, PhotoRejected, PhotoStorage, check_photo
from api.platform.errors import Conflict, NotFound, Problem
from api.platform.geo import EARTH_RADIUS_M

JOIN_RADIUS_M = 50.0
JOIN_WINDOW = timedelta(hours=24)
# Grid cells of 0.001° are 111 m north-south and, at Seoul's latitude, 88 m east-west: wider than the radius.
CELL_DEG = 0.001
_CELL_NAMESPACE = 0x4841 << 48  # "HA": keeps these advisory-lock keys apart from other users' keys
OBSERVED_MAX_AGE = timedelta(days=7)
CLOCK_SKEW = timedelta(minutes=5)


class Reporter(msgspec.Struct, frozen=True, kw_only=True):
    """Who sent a report: a citizen (who is told how it goes), or a service sending on someone's behalf."""

    subject: str
    citizen_id: int | None
    source: str = "app"


def cell_keys(lat: float, lon: float) -> list[int]:
    """Advisory-lock keys of the point's grid cell and its eight neighbours."""
    row, col = math.floor(lat / CELL_DEG), math.floor(lon / CELL_DEG)
    return sorted(
        _CELL_NAMESPACE | ((row + dr) & 0xFFFFFF) << 24 | ((col + dc) & 0xFFFFFF)
        for dr in (-1, 0, 1)
        for dc in (-1, 0, 1)
    )


def _search_box(lat: float) -> tuple[float, float]:
    """Degrees of latitude and longitude that surely cover the join radius (an index-friendly pre-filter)."""
    dlat = math.degrees(JOIN_RADIUS_M / EARTH_RADIUS_M) * 1.01
    return dlat, dlat / math.cos(math.radians(abs(lat) + dlat))


async def report(
    conn: asyncpg.Connection,
    *,
    reporter: Reporter,
    data: HazardReportCreate,
    now: datetime,
    media_url: str | None = None,
    attributes: dict[str, str] | None = None,
) -> HazardReportRead:
    """Record a report: it joins a nearby open incident of its category, or opens one."""
    observed_at = _observed_at(data.observed_at, now)
    lat, lon = data.location.lat, data.location.lon
    async with conn.transaction():
        await repository.lock_cells(conn, cell_keys(lat, lon))
        dlat, dlon = _search_box(lat)
        found = await repository.find_joinable(
            conn,
            category=data.category.value,
            lat=lat,
            lon=lon,
            radius_m=JOIN_RADIUS_M,
            dlat=dlat,
            dlon=dlon,
            since=now - JOIN_WINDOW,
        )
        incident_id = (
            await repository.insert_incident(
                conn, category=data.category.value, lat=lat, lon=lon, district=routing.district_of(lat, lon), now=now
            )
            if found is None
            else found["id"]
        )
        report_id = await repository.insert_report(
            conn,
            incident_id=incident_id,
            citizen_id=reporter.citizen_id,
            submitted_by=reporter.subject,
            source=reporter.source,
            is_public=public.is_public(source=reporter.source, chosen=data.public),
            category=data.category.value,
            description=data.description,
            lat=lat,
            lon=lon,
            address=data.location.address,
            media_url=media_url,
            observed_at=observed_at,
            updates=data.updates,
            attributes=attributes,
            now=now,
        )
        await repository.refresh_incidents(conn, [incident_id], now=now)
        row = await repository.get_report(conn, report_id)
    return _report_read(row)


def _observed_at(observed_at: datetime | None, now: datetime) -> datetime:
    if observed_at is None:
        return now
    if observed_at > now + CLOCK_SKEW:
        raise Problem("observed_at is in the future; send when you saw the hazard.", code="observed_in_future")
    if observed_at < now - OBSERVED_MAX_AGE:
        raise Problem(
            f"observed_at is more than {OBSERVED_MAX_AGE.days} days ago; report hazards you saw recently.",
            code="observed_too_long_ago",
        )
    return min(observed_at, now)  # a phone's clock a little ahead cannot put a sighting in the future


async def get_report(
    conn: asyncpg.Connection, *, report_id: int, citizen_id: int | None, operator: bool
) -> HazardReportRead:
    """A report, for its reporter or an operator; to anyone else it does not exist."""
    row = await repository.get_report(conn, report_id)
    if row is None or not (operator or (citizen_id is not None and row["citizen_id"] == citizen_id)):
        raise _no_report(report_id)
    return _report_read(row)


async def my_reports(
    conn: asyncpg.Connection, *, citizen_id: int, before_id: int | None, limit: int
) -> HazardReportPage:
    rows = await repository.list_reports_of(conn, citizen_id=citizen_id, before_id=before_id, limit=limit)
    items = [_report_read(r) for r in rows]
    return HazardReportPage(items=items, next_before_id=items[-1].id if len(items) == limit else None)


async def add_photo(
    conn: asyncpg.Connection,
    *,
    storage: PhotoStorage,
    report_id: int,
    citizen_id: int,
    data: bytes,
    now: datetime,
) -> HazardReportRead:
    """Attach a photo to the citizen's report; the same photo sent again is kept once."""
    try:
        # Opening the image is CPU work of tens of milliseconds: off the event loop.
        photo = await asyncio.to_thread(check_photo, data)
        kept = await asyncio.to_thread(photos.clean, photo.data, photo.content_type)
    except PhotoRejected as exc:
        raise Problem(f"The upload was refused: {exc}.", code="photo_rejected") from None
    async with conn.transaction():
        owner = await repository.report_owner(conn, report_id)
        if owner is None or owner["citizen_id"] != citizen_id:
            raise _no_report(report_id)
        if await repository.count_other_photos(conn, report_id=report_id, sha256=photo.sha256) >= MAX_PHOTOS_PER_REPORT:
            raise Conflict(f"A report takes at most {MAX_PHOTOS_PER_REPORT} photos.", code="too_many_photos")
        key, public_key = photo.key(report_id), photo.public_key(report_id)
        photo_id = await repository.insert_photo(
            conn,
            report_id=report_id,
            sha256=photo.sha256,
            content_type=photo.content_type,
            size_bytes=len(kept.data),
            storage_key=key,
            public_key=public_key,
            width=kept.width,
            height=kept.height,
            now=now,
        )
        if photo_id is not None:
            # Written before the row commits: a row never names a missing file (a failed commit leaves an
            # unreferenced file, which is harmless and named by its content).
            await storage.put(key, kept.data)
            await storage.put(public_key, kept.public)
        row = await repository.get_report(conn, report_id)
    return _report_read(row)


async def read_photo(
    conn: asyncpg.Connection,
    *,
    storage: PhotoStorage,
    report_id: int,
    photo_id: int,
    citizen_id: int | None,
    operator: bool,
) -> tuple[bytes, str]:
    """A photo's bytes and type, for the report's reporter or an operator."""
    row = await repository.get_photo(conn, report_id=report_id, photo_id=photo_id)
    if row is None or not (operator or (citizen_id is not None and row["citizen_id"] == citizen_id)):
        raise NotFound(f"Report {report_id} has no photo {photo_id} you may see.", code="photo_not_found")
    return await storage.get(row["storage_key"]), row["content_type"]


async def read_public_photo(conn: asyncpg.Connection, *, storage: PhotoStorage, photo_id: int) -> bytes:
    """The resized public copy of a public report's photo; to anyone else it does not exist."""
    row = await repository.get_public_photo(conn, photo_id)
    if row is None:
        raise NotFound(f"There is no public photo {photo_id}.", code="photo_not_found")
    return await storage.get(row["public_key"])


async def feed(
    conn: asyncpg.Connection,
    *,
    bbox: str | None,
    category: str | None,
    status: str | None,
    before_id: int | None,
    limit: int,
) -> IncidentFeed:
    """Incidents with a public report, for the public map: where (on the grid), what, how far along; no one's text."""
    box = parse_bbox(bbox)
    categories = parse_choices(category, Category, "category")
    statuses = parse_choices(status, Status, "status") or [s for s in Status if s is not Status.merged]
    rows = await repository.feed(
        conn,
        bbox=box,
        categories=[c.value for c in categories] if categories else None,
        statuses=[s.value for s in statuses],
        before_id=before_id,
        limit=limit,
    )
    features = []
    for r in rows:
        # The incident's point is where its first report was, which may be a private one: always on the grid.
        lat, lon = public.coarse(r["lat"], r["lon"])
        feature = IncidentFeature(
            id=r["id"],
            geometry=PointGeometry(coordinates=(lon, lat)),
            properties=IncidentProperties(
                category=Category(r["category"]),
                status=Status(r["status"]),
                status_notes=public.text(r["status_reason"]),
                report_count=r["report_count"],
                first_reported_at=r["first_reported_at"],
                last_reported_at=r["last_reported_at"],
                updated_at=r["updated_at"],
            ),
        )
        features.append(feature)
    return IncidentFeed(features=features, next_before_id=features[-1].id if len(features) == limit else None)


def _no_report(report_id: int) -> NotFound:
    return NotFound(f"You have no hazard report {report_id}.", code="report_not_found")


def _report_read(row: asyncpg.Record) -> HazardReportRead:
    photos = [
        PhotoRead(
            id=p["id"],
            content_type=p["content_type"],
            size_bytes=p["size_bytes"],
            url=f"/v1/hazard-reports/{row['id']}/photos/{p['id']}",
            created_at=msgspec.convert(p["created_at"], datetime),
        )
        for p in row["photos"]
    ]
    return HazardReportRead(
        id=row["id"],
        category=Category(row["category"]),
        description=row["description"],
        location=LocationRead(lat=row["lat"], lon=row["lon"], address=row["address"]),
        observed_at=row["observed_at"],
        reported_at=row["reported_at"],
        source=row["source"],
        public=row["is_public"],
        updates=row["updates"],
        photos=photos,
        incident=IncidentSummary(
            id=row["incident_id"],
            category=Category(row["incident_category"]),
            status=Status(row["status"]),
            status_reason=row["status_reason"],
            report_count=row["report_count"],
            others_reporting=row["others_reporting"],
            first_reported_at=row["first_reported_at"],
            last_reported_at=row["last_reported_at"],
            updated_at=row["incident_updated_at"],
        ),
    )
