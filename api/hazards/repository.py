"""SQL for hazard reports, incidents, photos and operators' actions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

_OPEN = ["submitted", "acknowledged", "in_progress"]


async def lock_cells(conn: asyncpg.Connection, keys: Sequence[int]) -> None:
    """Hold the advisory locks of these grid cells until the transaction ends."""
    await conn.execute("SELECT hazard_lock_cells($1::bigint[])", list(keys))


async def find_joinable(
    conn: asyncpg.Connection,
    *,
    category: str,
    lat: float,
    lon: float,
    radius_m: float,
    dlat: float,
    dlon: float,
    since: datetime,
) -> asyncpg.Record | None:
    """The nearest open incident of the category within ``radius_m`` reported since ``since``, locked.

    A sensor's incident is not joined: whether a citizen's flooding is the sensor's is an operator's call (merge).
    """
    return await conn.fetchrow(
        """
        SELECT id FROM hazard_incidents
        WHERE category = $1 AND status = ANY($8::text[]) AND source = 'reports'
          AND lat BETWEEN $2::float8 - $5::float8 AND $2::float8 + $5::float8
          AND lon BETWEEN $3::float8 - $6::float8 AND $3::float8 + $6::float8
          AND last_reported_at >= $7
          AND great_circle_m(lat, lon, $2, $3) <= $4::float8
        ORDER BY great_circle_m(lat, lon, $2, $3), last_reported_at DESC, id
        LIMIT 1
        FOR UPDATE
        """,
        category,
        lat,
        lon,
        radius_m,
        dlat,
        dlon,
        since,
        _OPEN,
    )


async def insert_incident(
    conn: asyncpg.Connection, *, category: str, lat: float, lon: float, district: str, now: datetime
) -> int:
    """A new incident, routed: its district, its category's department, and the deadline from now."""
    return await conn.fetchval(
        """
        INSERT INTO hazard_incidents (category, lat, lon, first_reported_at, last_reported_at,
                                      status_changed_at, updated_at, district, department_ko, department_en, due_at)
        SELECT $1, $2, $3, $4::timestamptz, $4, $4, $4, $5, r.department_ko, r.department_en,
               $4::timestamptz + make_interval(mins => r.deadline_minutes)
        FROM hazard_routing r WHERE r.category = $1
        RETURNING id
        """,
        category,
        lat,
        lon,
        now,
        district,
    )


async def insert_report(
    conn: asyncpg.Connection,
    *,
    incident_id: int,
    citizen_id: int | None,
    submitted_by: str,
    source: str,
    is_public: bool,
    category: str,
    description: str,
    lat: float,
    lon: float,
    address: str | None,
    media_url: str | None,
    observed_at: datetime,
    now: datetime,
    updates: str = "every",
    attributes: dict[str, str] | None = None,
) -> int:
    return await conn.fetchval(
        """
        INSERT INTO hazard_reports (incident_id, citizen_id, submitted_by, source, category, description,
                                    lat, lon, address, media_url, observed_at, reported_at, is_public, updates,
                                    attributes)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        RETURNING id
        """,
        incident_id,
        citizen_id,
        submitted_by,
        source,
        category,
        description,
        lat,
        lon,
        address,
        media_url,
        observed_at,
        now,
        is_public,
        updates,
        attributes or {},
    )


async def refresh_incidents(conn: asyncpg.Connection, incident_ids: Sequence[int], *, now: datetime) -> None:
    """Recount the incidents' reports and their first and last report times from the reports themselves."""
    await conn.execute(
        """
        UPDATE hazard_incidents i
        SET report_count = s.n,
            first_reported_at = coalesce(s.first_at, i.first_reported_at),
            last_reported_at = coalesce(s.last_at, i.last_reported_at),
            updated_at = $2
        FROM (
            SELECT ids.id, count(r.id) AS n, min(r.reported_at) AS first_at, max(r.reported_at) AS last_at
            FROM unnest($1::bigint[]) AS ids (id)
            LEFT JOIN hazard_reports r ON r.incident_id = ids.id
            GROUP BY ids.id
        ) s
        WHERE i.id = s.id
        """,
        list(incident_ids),
        now,
    )


async def get_report(conn: asyncpg.Connection, report_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM hazard_report_details WHERE id = $1", report_id)


async def list_reports_of(
    conn: asyncpg.Connection, *, citizen_id: int, before_id: int | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT * FROM hazard_report_details
        WHERE citizen_id = $1 AND ($2::bigint IS NULL OR id < $2)
        ORDER BY id DESC
        LIMIT $3
        """,
        citizen_id,
        before_id,
        limit,
    )


async def report_owner(conn: asyncpg.Connection, report_id: int) -> asyncpg.Record | None:
    """The report's citizen, locked so that concurrent photo uploads count against the limit one at a time."""
    return await conn.fetchrow("SELECT id, citizen_id FROM hazard_reports WHERE id = $1 FOR UPDATE", report_id)


async def count_other_photos(conn: asyncpg.Connection, *, report_id: int, sha256: str) -> int:
    """How many photos the report has besides this one."""
    return await conn.fetchval(
        "SELECT count(*) FROM hazard_photos WHERE report_id = $1 AND sha256 <> $2", report_id, sha256
    )


async def insert_photo(
    conn: asyncpg.Connection,
    *,
    report_id: int,
    sha256: str,
    content_type: str,
    size_bytes: int,
    storage_key: str,
    public_key: str,
    width: int,
    height: int,
    now: datetime,
) -> int | None:
    """The new photo's id, or None when the report has this photo already."""
    return await conn.fetchval(
        """
        INSERT INTO hazard_photos (report_id, sha256, content_type, size_bytes, storage_key, created_at,
                                   public_key, public_content_type, width, height)
        VALUES ($1, $2, $3, $4, $5, $6, $7, 'image/jpeg', $8, $9)
        ON CONFLICT (report_id, sha256) DO NOTHING
        RETURNING id
        """,
        report_id,
        sha256,
        content_type,
        size_bytes,
        storage_key,
        now,
        public_key,
        width,
        height,
    )


async def get_public_photo(conn: asyncpg.Connection, photo_id: int) -> asyncpg.Record | None:
    """A photo's public copy, when its report is public."""
    return await conn.fetchrow(
        """
        SELECT p.public_key FROM hazard_photos p JOIN hazard_reports r ON r.id = p.report_id
        WHERE p.id = $1 AND r.is_public AND p.public_key IS NOT NULL
        """,
        photo_id,
    )


async def get_photo(conn: asyncpg.Connection, *, report_id: int, photo_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT p.content_type, p.storage_key, r.citizen_id
        FROM hazard_photos p JOIN hazard_reports r ON r.id = p.report_id
        WHERE p.id = $1 AND p.report_id = $2
        """,
        photo_id,
        report_id,
    )


async def get_incident(conn: asyncpg.Connection, incident_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM hazard_incidents WHERE id = $1",
        incident_id,
    )


async def lock_incidents(conn: asyncpg.Connection, incident_ids: Sequence[int]) -> list[asyncpg.Record]:
    """The incidents, locked in id order (so two operators' actions cannot deadlock)."""
    return await conn.fetch(
        "SELECT * FROM hazard_incidents WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
        list(incident_ids),
    )


async def incident_reports(conn: asyncpg.Connection, incident_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT r.id, r.category, r.description, r.lat, r.lon, r.address, r.observed_at, r.reported_at, r.source,
               (SELECT count(*) FROM hazard_photos p WHERE p.report_id = r.id) AS photos
        FROM hazard_reports r
        WHERE r.incident_id = $1
        ORDER BY r.reported_at, r.id
        """,
        incident_id,
    )


async def set_status(
    conn: asyncpg.Connection, *, incident_id: int, status: str, reason: str | None, now: datetime
) -> None:
    await conn.execute(
        """
        UPDATE hazard_incidents
        SET status = $2, status_reason = $3, status_changed_at = $4, updated_at = $4,
            handled_at = CASE WHEN $2::text IN ('resolved', 'rejected') THEN $4::timestamptz END
        WHERE id = $1
        """,
        incident_id,
        status,
        reason,
        now,
    )


async def insert_event(
    conn: asyncpg.Connection,
    *,
    incident_id: int,
    kind: str,
    actor: str,
    now: datetime,
    from_status: str | None = None,
    to_status: str | None = None,
    reason: str | None = None,
    other_incident: int | None = None,
    report_ids: Sequence[int] | None = None,
) -> int:
    return await conn.fetchval(
        """
        INSERT INTO hazard_incident_events (incident_id, kind, from_status, to_status, reason, other_incident,
                                            report_ids, actor, at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        RETURNING id
        """,
        incident_id,
        kind,
        from_status,
        to_status,
        reason,
        other_incident,
        list(report_ids) if report_ids is not None else None,
        actor,
        now,
    )


async def reporter_ids(conn: asyncpg.Connection, incident_id: int) -> list[int]:
    """The citizens who reported the incident, once each, by id (reports sent on nobody's behalf have none)."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT citizen_id FROM hazard_reports
        WHERE incident_id = $1 AND citizen_id IS NOT NULL
        ORDER BY citizen_id
        """,
        incident_id,
    )
    return [r["citizen_id"] for r in rows]


async def merge_into(conn: asyncpg.Connection, *, source: int, target: int, now: datetime) -> None:
    """Move the source's reports to the target and mark the source merged (and what pointed at it, too)."""
    await conn.execute("UPDATE hazard_reports SET incident_id = $2 WHERE incident_id = $1", source, target)
    await conn.execute(
        """
        UPDATE hazard_incidents
        SET status = 'merged', merged_into = $2, status_changed_at = $3, updated_at = $3
        WHERE id = $1
        """,
        source,
        target,
        now,
    )
    # An incident merged into the source earlier now points at where its reports are.
    await conn.execute("UPDATE hazard_incidents SET merged_into = $2 WHERE merged_into = $1", source, target)


async def move_reports(conn: asyncpg.Connection, *, report_ids: Sequence[int], incident_id: int) -> None:
    await conn.execute(
        "UPDATE hazard_reports SET incident_id = $2 WHERE id = ANY($1::bigint[])", list(report_ids), incident_id
    )


async def report_points(conn: asyncpg.Connection, report_ids: Sequence[int]) -> list[asyncpg.Record]:
    """The reports' incidents, categories and places, earliest first."""
    return await conn.fetch(
        """
        SELECT id, incident_id, category, lat, lon, reported_at FROM hazard_reports
        WHERE id = ANY($1::bigint[])
        ORDER BY reported_at, id
        """,
        list(report_ids),
    )


async def feed(
    conn: asyncpg.Connection,
    *,
    bbox: tuple[float, float, float, float],
    categories: Sequence[str] | None,
    statuses: Sequence[str],
    before_id: int | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Incidents in the box (min lon, min lat, max lon, max lat) with a public report, newest first.

    Counts and times are of the public reports only, so the map tells nothing of private ones; the status
    is the incident's (operators' work, which its reporters are told of).
    """
    return await conn.fetch(
        """
        SELECT i.id, i.category, i.status, i.status_reason, i.lat, i.lon,
               p.report_count, p.first_reported_at, p.last_reported_at,
               greatest(i.status_changed_at, p.last_reported_at) AS updated_at
        FROM hazard_incidents i
        CROSS JOIN LATERAL (
            SELECT count(*) AS report_count, min(r.reported_at) AS first_reported_at,
                   max(r.reported_at) AS last_reported_at
            FROM hazard_reports r
            WHERE r.incident_id = i.id AND r.is_public
        ) p
        WHERE point(i.lon, i.lat) <@ box(point($1, $2), point($3, $4))
          AND i.status <> 'merged' AND i.status = ANY($5::text[])
          AND ($6::text[] IS NULL OR i.category = ANY($6::text[]))
          AND ($7::bigint IS NULL OR i.id < $7)
          AND p.report_count > 0
        ORDER BY i.id DESC
        LIMIT $8
        """,
        *bbox,
        list(statuses),
        list(categories) if categories else None,
        before_id,
        limit,
    )


async def open311_requests(
    conn: asyncpg.Connection,
    *,
    ids: Sequence[int] | None,
    categories: Sequence[str] | None,
    statuses: Sequence[str] | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Public reports as Open311 service requests; ``ids`` overrides every other filter, as the spec says.

    A request is updated when it is filed and when its incident's status changes, not when someone else's
    report joins the incident (which would tell of private reports).
    """
    return await conn.fetch(
        """
        SELECT r.id, r.source, r.category, r.description, r.lat, r.lon, r.address, r.reported_at,
               i.status, i.status_reason, i.district, i.department_ko, i.department_en, i.due_at, r.media_url,
               (SELECT min(p.id) FROM hazard_photos p WHERE p.report_id = r.id AND p.public_key IS NOT NULL)
                   AS photo_id,
               greatest(r.reported_at, i.status_changed_at) AS updated_at
        FROM hazard_reports r
        JOIN hazard_incidents i ON i.id = r.incident_id
        WHERE r.is_public
          AND CASE WHEN $1::bigint[] IS NOT NULL THEN r.id = ANY($1::bigint[])
                   ELSE ($2::text[] IS NULL OR r.category = ANY($2::text[]))
                        AND ($3::text[] IS NULL OR i.status = ANY($3::text[]))
                        AND r.reported_at >= $4 AND r.reported_at <= $5
              END
        ORDER BY r.reported_at DESC, r.id DESC
        LIMIT $6
        """,
        list(ids) if ids is not None else None,
        list(categories) if categories else None,
        list(statuses) if statuses else None,
        start,
        end,
        limit,
    )
