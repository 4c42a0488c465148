"""Who answers for an incident (its district and the category's department) and by when; operators edit the table.

The district is the one the incident's point lies in, from the true boundaries
(``boundaries.responsible_district``): every point has exactly one. The department and the deadline come from
``hazard_routing`` when the incident opens; a later edit of the table changes no promise already made.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from api.hazards import routing_repository as repository
from api.hazards.routing_schemas import DistrictTimeliness, RoutingRead, RoutingUpdate, Timeliness
from api.hazards.schemas import Category
from api.platform import boundaries
from api.platform.districts import DISTRICTS
from api.platform.errors import Problem

MAX_TIMELINESS_SPAN = timedelta(days=366)
ROUTE_BATCH = 1000


def district_of(lat: float, lon: float) -> str:
    """The code of the district that answers for the point."""
    return boundaries.responsible_district(lat, lon).code


def agency(district: str | None, department_ko: str | None, department_en: str | None, language: str) -> str:
    """An incident's responsible body as people read it: "중구 도로과", "Jung-gu Road Management Division"."""
    if district is None or department_ko is None or department_en is None:
        return "Seoul Metropolitan Government" if language == "en" else "서울특별시"
    name = DISTRICTS[district]
    return f"{name.name_en} {department_en}" if language == "en" else f"{name.name_ko} {department_ko}"


def overdue(row: Any, now: datetime) -> bool:
    """Past its deadline: still open after it, or handled after it."""
    due = row["due_at"]
    if due is None or row["status"] == "merged":
        return False
    return (row["handled_at"] or now) > due


async def list_routing(conn: asyncpg.Connection) -> list[RoutingRead]:
    return [msgspec.convert(dict(r), RoutingRead) for r in await repository.list_routing(conn)]


async def update_routing(
    conn: asyncpg.Connection, *, category: Category, data: RoutingUpdate, actor: str, now: datetime
) -> RoutingRead:
    row = await repository.update_routing(
        conn,
        category=category.value,
        department_ko=data.department_ko,
        department_en=data.department_en,
        deadline_minutes=data.deadline_minutes,
        actor=actor,
        now=now,
    )
    assert row is not None  # the migration put every category in the table
    return msgspec.convert(dict(row), RoutingRead)


async def timeliness(
    conn: asyncpg.Connection, *, since: datetime | None, until: datetime | None, now: datetime
) -> Timeliness:
    """Each district's share of incidents handled by their deadline in the period (the last 30 days by default)."""
    until = until or now
    since = since or until - timedelta(days=30)
    if since >= until:
        raise Problem("since must be before until.", code="invalid_period")
    if until - since > MAX_TIMELINESS_SPAN:
        raise Problem(f"A period is at most {MAX_TIMELINESS_SPAN.days} days long.", code="period_too_long")
    rows = await repository.timeliness(conn, since=since, until=until, now=now)
    return Timeliness(
        since=since,
        until=until,
        districts=[
            DistrictTimeliness(
                district=r["district"],
                name_ko=DISTRICTS[r["district"]].name_ko,
                name_en=DISTRICTS[r["district"]].name_en,
                handled=r["handled"],
                handled_in_time=r["handled_in_time"],
                share_in_time=round(r["handled_in_time"] / r["handled"], 4) if r["handled"] else None,
                open_overdue=r["open_overdue"],
            )
            for r in rows
        ],
    )


async def route_unrouted(conn: asyncpg.Connection) -> int:
    """Give a district to incidents opened before routing existed, a batch at a time; how many were placed."""
    async with conn.transaction():
        rows = await repository.unrouted(conn, limit=ROUTE_BATCH)
        if rows:
            await repository.set_districts(
                conn, ids=[r["id"] for r in rows], districts=[district_of(r["lat"], r["lon"]) for r in rows]
            )
    return len(rows)
