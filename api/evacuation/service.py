"""Business rules for shelters: which kinds suit a hazard, the nearest ones, guidance, and loading sources."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from itertools import groupby
from typing import NamedTuple

import asyncpg
import msgspec

from api.evacuation import demo, guidance, repository
from api.evacuation.importer import ParsedFile
from api.evacuation.schemas import (
    Guidance,
    Hazard,
    ImportReport,
    MeasuredFrom,
    NearbyShelter,
    NearestShelters,
    Origin,
    Rejection,
    ShelterKind,
    ShelterRead,
    ShelterRow,
)
from api.platform.districts import DISTRICT_OFFICES
from api.platform.errors import Conflict, NotFound, Problem
from api.platform.geo import QUERY_BOUNDS, search_widening, walking_minutes
from api.platform.romanisation import romanise
from api.platform.types import Language

# The kinds of shelter that suit each hazard, in tiers offered in this order: after an earthquake, open ground
# away from buildings first, then a roof for those who cannot go home.
HAZARD_TIERS: dict[Hazard, tuple[tuple[ShelterKind, ...], ...]] = {
    Hazard.heat_wave: ((ShelterKind.heat_wave,),),
    Hazard.cold_wave: ((ShelterKind.cold_wave,),),
    Hazard.earthquake: ((ShelterKind.earthquake_outdoor,), (ShelterKind.earthquake_indoor,)),
    Hazard.flooding: ((ShelterKind.temporary_housing, ShelterKind.earthquake_indoor),),
    Hazard.typhoon: ((ShelterKind.temporary_housing, ShelterKind.earthquake_indoor),),
    Hazard.air_raid: ((ShelterKind.civil_defense,),),
}

# The side of the square cells the bulk search groups points into: about the spacing of Seoul's shelters,
# where the per-cell work and the per-point work balance (bench/evacuation.py).
BULK_CELL_M = 300.0


class NearestForPoints(msgspec.Struct, frozen=True, kw_only=True):
    """The nearest suitable shelter for each point, in the points' order (None where there is none)."""

    kinds: list[ShelterKind]
    shelter_ids: list[int | None]
    distances_m: list[float | None]


def check_location(lat: float, lon: float) -> None:
    """Refuse a point outside Seoul and its surroundings: we know no shelters there."""
    if not QUERY_BOUNDS.contains(lat, lon):
        raise Problem(
            f"{lat}, {lon} is outside Seoul: we know Seoul's shelters only, so give a point within "
            f"{QUERY_BOUNDS.describe()} (WGS84 degrees).",
            code="outside_seoul",
        )


class Start(NamedTuple):
    """Where a search starts, and what that point stands for."""

    lat: float
    lon: float
    measured_from: MeasuredFrom


def locate(*, lat: float | None, lon: float | None, district: str | None) -> Start | None:
    """The point given, else the office of the district given; None when neither is."""
    if district is not None:
        if lat is not None or lon is not None:
            raise Problem("Give lat and lon, or a district, not both.", code="ambiguous_location")
        office = DISTRICT_OFFICES.get(district)
        if office is None:
            raise Problem(
                f"{district} is not one of Seoul's 25 district codes (11110 종로구 … 11740 강동구).",
                code="unknown_district",
            )
        return Start(*office, MeasuredFrom.district_office)
    if (lat is None) != (lon is None):
        raise Problem("Give both lat and lon, or a district.", code="incomplete_location")
    if lat is None or lon is None:
        return None
    return Start(lat, lon, MeasuredFrom.point)


async def nearest(conn: asyncpg.Connection, *, hazard: Hazard, at: Start, limit: int, cap_m: float) -> NearestShelters:
    """The nearest active shelters that suit the hazard: up to ``limit`` of each tier, tier by tier.

    Only those within ``cap_m`` count as nearby; a tier with none that near still offers its nearest, marked
    far, so that the answer is never empty while some suitable shelter exists.
    """
    check_location(at.lat, at.lon)
    tiers = [[kind.value for kind in tier] for tier in HAZARD_TIERS[hazard]]
    rows = await repository.nearest(conn, lat=at.lat, lon=at.lon, tiers=tiers, limit=limit, widening=search_widening())
    # From the district office nobody knows the person's walk; from a point or their home, we do.
    walks = at.measured_from is not MeasuredFrom.district_office
    found: list[NearbyShelter] = []
    for _, tier in groupby(rows, key=lambda row: row["tier"]):
        ranked = list(tier)
        near = [_nearby(row, far=False, walks=walks) for row in ranked if row["distance_m"] <= cap_m]
        found += near or [_nearby(ranked[0], far=True, walks=walks)]
    return NearestShelters(
        hazard=hazard,
        origin=Origin(lat=at.lat, lon=at.lon),
        measured_from=at.measured_from,
        kinds=[kind for kinds in HAZARD_TIERS[hazard] for kind in kinds],
        distance_cap_m=cap_m,
        nothing_nearby=all(s.far for s in found),
        shelters=found,
    )


def _nearby(row: asyncpg.Record, *, far: bool, walks: bool) -> NearbyShelter:
    fields = dict(row)
    del fields["tier"]
    distance = fields.pop("distance_m")
    kind = ShelterKind(fields.pop("kind"))
    return NearbyShelter(
        **fields,
        name_romanised=romanise(fields["name"]),
        address_romanised=_romanised(fields["address"]),
        kind=kind,
        distance_m=round(distance, 1),
        walking_minutes=walking_minutes(distance) if walks else None,
        far=far,
    )


async def nearest_for_points(
    conn: asyncpg.Connection, *, hazard: Hazard, lats: Sequence[float], lons: Sequence[float]
) -> NearestForPoints:
    """The one nearest suitable shelter for each of many points at once (a warning's recipients, say).

    Suitable means of the first tier of the hazard that has any active shelter; points outside Seoul and its
    surroundings get None.
    """
    if len(lats) != len(lons):
        raise ValueError("as many longitudes as latitudes, please")
    kinds: list[str] = []
    for tier in HAZARD_TIERS[hazard]:
        if await repository.has_active(conn, [k.value for k in tier]):
            kinds = [k.value for k in tier]
            break
    if not kinds or not lats:
        return NearestForPoints(kinds=[], shelter_ids=[None] * len(lats), distances_m=[None] * len(lats))
    row = await repository.nearest_for_points(
        conn,
        lats=lats,
        lons=lons,
        kinds=kinds,
        cell_m=BULK_CELL_M,
        widening=search_widening(),
        bounds=QUERY_BOUNDS,
    )
    return NearestForPoints(
        kinds=[ShelterKind(k) for k in kinds], shelter_ids=row["ids"], distances_m=row["distances_m"]
    )


async def shelter_names(conn: asyncpg.Connection, *, shelter_ids: Sequence[int]) -> dict[int, str]:
    """The names of shelters by id, for messages that name the one ``nearest_for_points`` found."""
    return await repository.names_by_id(conn, shelter_ids)


async def guide(
    conn: asyncpg.Connection,
    *,
    hazard: Hazard,
    language: Language,
    at: Start | None,
    limit: int,
    cap_m: float,
) -> Guidance:
    """What to do in this hazard, and where to go when we know where the person is (or their district)."""
    text = guidance.for_hazard(hazard, language)
    near = None if at is None else await nearest(conn, hazard=hazard, at=at, limit=limit, cap_m=cap_m)
    return Guidance(
        hazard=hazard,
        language=language,
        title=text.title,
        instructions=list(text.steps),
        shelter_advice=text.shelter_advice,
        origin=near.origin if near else None,
        measured_from=near.measured_from if near else None,
        shelter_note=guidance.shelter_note(near, language) if near else None,
        nothing_nearby=near.nothing_nearby if near else False,
        shelters=near.shelters if near else [],
    )


async def get_shelter(conn: asyncpg.Connection, *, shelter_id: int) -> ShelterRead:
    row = await repository.get_shelter(conn, shelter_id)
    if row is None:
        raise NotFound(f"There is no shelter {shelter_id}.", code="shelter_not_found")
    fields = dict(row)
    romanised = {"name_romanised": romanise(row["name"]), "address_romanised": _romanised(row["address"])}
    return msgspec.convert({**fields, **romanised}, ShelterRead)


def _romanised(text: str | None) -> str | None:
    return romanise(text) if text else None


async def import_file(
    conn: asyncpg.Connection,
    parsed: ParsedFile,
    *,
    file: str,
    source: str,
    as_of: date,
    deactivate_missing: bool = True,
) -> ImportReport:
    """Load a parsed source file in one transaction: new shelters, changed ones, and (by default) gone ones.

    An official file also retires the demo set (source "demo"), of every kind, in the same transaction.
    """
    return await _load(
        conn,
        parsed.rows,
        file=file,
        kinds=[parsed.kind],
        encoding=parsed.encoding,
        source=source,
        as_of=as_of,
        keep=sorted(parsed.source_ids) if deactivate_missing else None,
        total=parsed.total,
        rejections=parsed.rejections,
    )


async def load_demo(conn: asyncpg.Connection, *, if_empty: bool = False) -> ImportReport | None:
    """Load the demo shelters (source "demo"); with ``if_empty``, only into a table with no shelter at all.

    Never beside real shelters: with any official shelter active it is a 409 (with ``if_empty``, None).
    """
    async with conn.transaction():
        if if_empty and await repository.count_shelters(conn) > 0:
            return None
        if await repository.has_active_other_than(conn, demo.SOURCE):
            raise Conflict(
                "Official shelters are loaded, and the demo set is never served beside them: it was not loaded.",
                code="official_shelters_loaded",
            )
        rows = demo.shelters()
        return await _load(
            conn,
            rows,
            file="(demo set)",
            kinds=sorted({r.kind for r in rows}),
            encoding="utf-8",
            source=demo.SOURCE,
            as_of=demo.AS_OF,
            keep=[r.source_id for r in rows],
            total=len(rows),
            rejections=[],
        )


async def _load(
    conn: asyncpg.Connection,
    rows: Sequence[ShelterRow],
    *,
    file: str,
    kinds: list[ShelterKind],
    encoding: str,
    source: str,
    as_of: date,
    keep: list[str] | None,
    total: int,
    rejections: list[Rejection],
) -> ImportReport:
    async with conn.transaction():
        changed = await repository.upsert_shelters(conn, rows, source=source, as_of=as_of)
        deactivated = 0
        if keep is not None:
            deactivated = await repository.deactivate_missing(
                conn, source=source, kinds=[k.value for k in kinds], keep=keep
            )
        demo_deactivated = 0
        if source != demo.SOURCE:
            demo_deactivated = await repository.deactivate_demo_if_official(conn, demo_source=demo.SOURCE)
    if changed or deactivated or demo_deactivated:
        await repository.analyze(conn)
    loaded = sum(1 for r in changed if r["inserted"])
    return ImportReport(
        file=file,
        kinds=kinds,
        encoding=encoding,
        source=source,
        as_of=as_of,
        rows=total,
        loaded=loaded,
        updated=len(changed) - loaded,
        unchanged=len(rows) - len(changed),
        deactivated=deactivated,
        demo_deactivated=demo_deactivated,
        rejected=len(rejections),
        rejections=rejections,
    )
