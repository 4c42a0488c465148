"""SQL for shelters: upserts from source files, and the exact nearest-shelter searches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg

from api.evacuation.schemas import ShelterRow


async def upsert_shelters(
    conn: asyncpg.Connection, rows: Sequence[ShelterRow], *, source: str, as_of: date
) -> list[asyncpg.Record]:
    """Insert new shelters and update changed ones by (source, kind, source id); one row back per change.

    A row identical to what is stored is left alone (not even its updated_at moves), so a re-import of the
    same file changes nothing.
    """
    return await conn.fetch(
        """
        INSERT INTO shelters AS s (
            kind, source_id, name, address, district, lat, lon, capacity_people, area_m2, facility_type,
            opening_notes, contact, wheelchair_accessible, source, as_of)
        SELECT r.*, $14, $15
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[],
                    $8::int[], $9::float8[], $10::text[], $11::text[], $12::text[], $13::bool[]) AS r
        ON CONFLICT (source, kind, source_id) DO UPDATE SET
            name = EXCLUDED.name, address = EXCLUDED.address, district = EXCLUDED.district,
            lat = EXCLUDED.lat, lon = EXCLUDED.lon, capacity_people = EXCLUDED.capacity_people,
            area_m2 = EXCLUDED.area_m2, facility_type = EXCLUDED.facility_type,
            opening_notes = EXCLUDED.opening_notes, contact = EXCLUDED.contact,
            wheelchair_accessible = EXCLUDED.wheelchair_accessible, as_of = EXCLUDED.as_of,
            active = true, updated_at = now()
        WHERE (s.name, s.address, s.district, s.lat, s.lon, s.capacity_people, s.area_m2, s.facility_type,
               s.opening_notes, s.contact, s.wheelchair_accessible, s.as_of, s.active)
              IS DISTINCT FROM
              (EXCLUDED.name, EXCLUDED.address, EXCLUDED.district, EXCLUDED.lat, EXCLUDED.lon,
               EXCLUDED.capacity_people, EXCLUDED.area_m2, EXCLUDED.facility_type, EXCLUDED.opening_notes,
               EXCLUDED.contact, EXCLUDED.wheelchair_accessible, EXCLUDED.as_of, true)
        RETURNING s.source_id, (xmax = 0) AS inserted
        """,
        [r.kind.value for r in rows],
        [r.source_id for r in rows],
        [r.name for r in rows],
        [r.address for r in rows],
        [r.district for r in rows],
        [r.lat for r in rows],
        [r.lon for r in rows],
        [r.capacity_people for r in rows],
        [r.area_m2 for r in rows],
        [r.facility_type for r in rows],
        [r.opening_notes for r in rows],
        [r.contact for r in rows],
        [r.wheelchair_accessible for r in rows],
        source,
        as_of,
    )


async def deactivate_missing(
    conn: asyncpg.Connection, *, source: str, kinds: Sequence[str], keep: Sequence[str]
) -> int:
    """Mark inactive the shelters of this source and these kinds that the new file no longer lists; how many."""
    status = await conn.execute(
        """
        UPDATE shelters SET active = false, updated_at = now()
        WHERE source = $1 AND kind = ANY($2::text[]) AND active AND source_id <> ALL($3::text[])
        """,
        source,
        list(kinds),
        list(keep),
    )
    return int(status.rsplit(" ", 1)[1])


async def deactivate_demo_if_official(conn: asyncpg.Connection, *, demo_source: str) -> int:
    """Mark the demo set inactive when any shelter of another source is active; how many demo rows that was.

    One real file of any kind is enough: from then on the demo set is never served beside real shelters.
    """
    status = await conn.execute(
        """
        UPDATE shelters SET active = false, updated_at = now()
        WHERE source = $1 AND active
          AND EXISTS (SELECT 1 FROM shelters o WHERE o.source <> $1 AND o.active)
        """,
        demo_source,
    )
    return int(status.rsplit(" ", 1)[1])


async def has_active_other_than(conn: asyncpg.Connection, source: str) -> bool:
    """Whether any shelter of another source than this one is active."""
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM shelters WHERE source <> $1 AND active)", source)


async def analyze(conn: asyncpg.Connection) -> None:
    """Refresh the planner's statistics after a bulk load, rather than wait for autovacuum to notice."""
    await conn.execute("ANALYZE shelters")


async def count_shelters(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM shelters")


async def get_shelter(conn: asyncpg.Connection, shelter_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT s.id, s.name, s.kind, s.address, s.district, s.lat, s.lon, s.capacity_people, s.area_m2,
               s.facility_type, s.opening_notes, s.contact, s.wheelchair_accessible, s.active, s.source, s.as_of
        FROM shelters s WHERE s.id = $1
        """,
        shelter_id,
    )


async def nearest(
    conn: asyncpg.Connection,
    *,
    lat: float,
    lon: float,
    tiers: Sequence[Sequence[str]],
    limit: int,
    widening: float,
) -> list[asyncpg.Record]:
    """Per tier of kinds, the ``limit`` active shelters nearest on the great circle, by tier then distance.

    Each row carries its tier's number (1, 2…); ties in distance go by id.

    Exact: the GiST index finds the ``limit`` nearest in the local plane; every shelter that can beat them on
    the great circle lies within ``widening`` times the farthest of those (see geo.search_widening), so the
    box of that size, ranked by the exact distance, gives the same answer as a search of every row.
    """
    return await conn.fetch(
        """
        SELECT t.tier, found.*
        FROM (SELECT tier, array_agg(kind) AS kinds
              FROM unnest($3::text[], $4::int[]) AS k(kind, tier)
              GROUP BY tier) t
        CROSS JOIN LATERAL (
            SELECT max(k.d) * $6 + 1.0 AS r
            FROM (SELECT s.plane <-> geo_plane_m($1, $2) AS d FROM shelters s
                  WHERE s.active AND s.kind = ANY(t.kinds)
                  ORDER BY s.plane <-> geo_plane_m($1, $2) LIMIT $5) k
        ) reach
        CROSS JOIN LATERAL (
            SELECT s.id, s.name, s.kind, s.address, s.district, s.lat, s.lon, s.capacity_people, s.area_m2,
                   s.opening_notes, s.contact, s.wheelchair_accessible, s.source, s.as_of,
                   great_circle_m($1, $2, s.lat, s.lon) AS distance_m
            FROM shelters s
            WHERE s.active AND s.kind = ANY(t.kinds)
              AND s.plane <@ box(geo_plane_m($1, $2) - point(reach.r, reach.r),
                                 geo_plane_m($1, $2) + point(reach.r, reach.r))
            ORDER BY distance_m, s.id
            LIMIT $5
        ) found
        ORDER BY t.tier, found.distance_m, found.id
        """,
        lat,
        lon,
        [kind for tier in tiers for kind in tier],
        [number for number, tier in enumerate(tiers, start=1) for _ in tier],
        limit,
        widening,
    )


async def has_active(conn: asyncpg.Connection, kinds: Sequence[str]) -> bool:
    """Whether any active shelter is of one of these kinds."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM shelters WHERE active AND kind = ANY($1::text[]))", list(kinds)
    )


async def nearest_for_points(
    conn: asyncpg.Connection,
    *,
    lats: Sequence[float],
    lons: Sequence[float],
    kinds: Sequence[str],
    cell_m: float,
    widening: float,
    bounds: tuple[float, float, float, float],
) -> asyncpg.Record:
    """For each point, the nearest active shelter of these kinds: arrays of ids and metres in input order.

    Exact and set-based: the points are grouped into square cells of the local plane. For each cell, the
    plane-nearest shelter to its centre bounds how far any point of the cell may have to look (widened as in
    ``nearest``); the shelters in that reach that could be nearest to some point of the cell (their least
    possible distance not beyond the best one's greatest) are its candidates. Each point then takes the
    candidate at the shortest chord through the unit sphere, which orders exactly as the great circle does
    and costs arithmetic only. Points outside ``bounds`` (south, north, west, east) get NULL.
    """
    async with conn.transaction():
        # The plans for a thousand points and for a million differ; a cached generic plan, made without
        # knowing how many points come, could join them by nested loops, so each call is planned afresh.
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        return await conn.fetchrow(
            """
            WITH pts AS MATERIALIZED (
                SELECT u.i, floor(p[0] / $4)::int AS cx, floor(p[1] / $4)::int AS cy,
                       cos(radians(u.lat)) * cos(radians(u.lon)) AS px,
                       cos(radians(u.lat)) * sin(radians(u.lon)) AS py,
                       sin(radians(u.lat)) AS pz,
                       -- Tested here rather than filtered, which would mislead the planner's row estimate.
                       coalesce(u.lat BETWEEN $6 AND $7 AND u.lon BETWEEN $8 AND $9, false) AS inside
                FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS u(lat, lon, i),
                     geo_plane_m(u.lat, u.lon) AS p
            ),
            reach AS MATERIALIZED (
                SELECT c.cx, c.cy, o.centre, (k.d + $4 * sqrt(0.5)) * $5 + $4 * sqrt(0.5) + 1.0 AS r
                FROM (SELECT DISTINCT cx, cy FROM pts WHERE inside) c
                CROSS JOIN LATERAL (SELECT point((c.cx + 0.5) * $4, (c.cy + 0.5) * $4) AS centre) o
                CROSS JOIN LATERAL (
                    SELECT s.plane <-> o.centre AS d FROM shelters s
                    WHERE s.active AND s.kind = ANY($3::text[])
                    ORDER BY s.plane <-> o.centre LIMIT 1
                ) k
            ),
            near AS (
                SELECT r.cx, r.cy, s.id,
                       cos(radians(s.lat)) * cos(radians(s.lon)) AS x,
                       cos(radians(s.lat)) * sin(radians(s.lon)) AS y,
                       sin(radians(s.lat)) AS z,
                       -- The least and the greatest plane distance from any point of the cell to the shelter.
                       sqrt(greatest(r.cx * $4 - s.plane[0], 0, s.plane[0] - (r.cx + 1) * $4) ^ 2
                            + greatest(r.cy * $4 - s.plane[1], 0, s.plane[1] - (r.cy + 1) * $4) ^ 2) AS lo,
                       sqrt(greatest(abs(s.plane[0] - r.cx * $4), abs(s.plane[0] - (r.cx + 1) * $4)) ^ 2
                            + greatest(abs(s.plane[1] - r.cy * $4), abs(s.plane[1] - (r.cy + 1) * $4)) ^ 2) AS hi
                FROM reach r
                CROSS JOIN LATERAL (
                    SELECT s.id, s.lat, s.lon, s.plane FROM shelters s
                    WHERE s.active AND s.kind = ANY($3::text[])
                      AND s.plane <@ box(r.centre - point(r.r, r.r), r.centre + point(r.r, r.r))
                ) s
            ),
            candidates AS MATERIALIZED (
                SELECT cx, cy, array_agg(id ORDER BY id) AS ids, array_agg(x ORDER BY id) AS xs,
                       array_agg(y ORDER BY id) AS ys, array_agg(z ORDER BY id) AS zs
                FROM (SELECT near.*, min(hi) OVER (PARTITION BY cx, cy) AS best_hi FROM near) n
                WHERE lo <= best_hi * $5 + 1.0
                GROUP BY cx, cy
            ),
            best AS (
                SELECT pts.i, m.id, 2 * 6371008.8 * asin(least(1.0, sqrt(m.chord2) / 2)) AS distance_m
                FROM pts
                JOIN candidates c USING (cx, cy)
                CROSS JOIN LATERAL (
                    SELECT x.id, (pts.px - x.x) ^ 2 + (pts.py - x.y) ^ 2 + (pts.pz - x.z) ^ 2 AS chord2
                    FROM unnest(c.ids, c.xs, c.ys, c.zs) AS x(id, x, y, z)
                    ORDER BY chord2, x.id
                    LIMIT 1
                ) m
                WHERE pts.inside
            )
            SELECT array_agg(b.id ORDER BY g.i) AS ids, array_agg(b.distance_m ORDER BY g.i) AS distances_m
            FROM generate_series(1, cardinality($1::float8[])) AS g(i)
            LEFT JOIN best b ON b.i = g.i
            """,
            list(lats),
            list(lons),
            list(kinds),
            cell_m,
            widening,
            *bounds,
        )


async def names_by_id(conn: asyncpg.Connection, ids: Sequence[int]) -> dict[int, str]:
    """The names of these shelters, active or not, by id."""
    rows = await conn.fetch("SELECT id, name FROM shelters WHERE id = ANY($1::bigint[])", sorted(set(ids)))
    return {r["id"]: r["name"] for r in rows}
