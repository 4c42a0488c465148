"""A citizen's home and watched places, where the warnings over them reach them (docs/alerts.md)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from api.accounts import places_repository as repository
from api.accounts import repository as accounts_repository
from api.accounts.places_schemas import MAX_WATCHED, PlaceCreate, PlaceKind, PlaceRead
from api.platform import boundaries
from api.platform.errors import Conflict, NotFound


async def add_place(conn: asyncpg.Connection, *, citizen_id: int, data: PlaceCreate, now: datetime) -> PlaceRead:
    """Keep a place: a new home replaces the old one; a sixth watched place is refused (409)."""
    if data.dong is not None:
        dong = data.dong
    else:
        assert data.lat is not None and data.lon is not None
        found = boundaries.dong_at(data.lat, data.lon)
        assert found is not None  # PlaceCreate checked it
        dong = found.code
    async with conn.transaction():
        places = await repository.lock_places(conn, citizen_id)
        if data.kind is PlaceKind.home:
            for old in (p for p in places if p["kind"] == "home"):
                await repository.delete_place(conn, citizen_id=citizen_id, place_id=old["id"])
        elif sum(p["kind"] == "watched" for p in places) >= MAX_WATCHED:
            raise Conflict(
                f"You watch {MAX_WATCHED} places already, the most there can be; delete one to add another.",
                code="too_many_places",
                limit=MAX_WATCHED,
            )
        row = await repository.insert_place(
            conn,
            citizen_id=citizen_id,
            kind=data.kind.value,
            label=data.label,
            lat=data.lat,
            lon=data.lon,
            dong=dong,
            now=now,
        )
        # The citizen's devices join the place's dong topic (and leave the old home's), by the dispatcher.
        await accounts_repository.resubscribe_devices(conn, citizen_id=citizen_id)
    return _read(row)


async def list_places(conn: asyncpg.Connection, *, citizen_id: int) -> list[PlaceRead]:
    return [_read(r) for r in await repository.list_places(conn, citizen_id)]


async def remove_place(conn: asyncpg.Connection, *, citizen_id: int, place_id: int) -> None:
    async with conn.transaction():
        if not await repository.delete_place(conn, citizen_id=citizen_id, place_id=place_id):
            raise NotFound(f"You have no place {place_id}.", code="place_not_found")
        await accounts_repository.resubscribe_devices(conn, citizen_id=citizen_id)


def _read(row: asyncpg.Record) -> PlaceRead:
    dong = boundaries.dongs()[row["dong"]]
    return PlaceRead(
        id=row["id"],
        kind=PlaceKind(row["kind"]),
        label=row["label"],
        lat=row["lat"],
        lon=row["lon"],
        dong=row["dong"],
        dong_name_ko=dong.name_ko,
        dong_name_en=dong.name_en,
        district=row["district"],
        created_at=row["created_at"],
    )
