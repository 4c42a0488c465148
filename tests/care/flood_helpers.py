"""Shared steps of the flood tests: households, a duty worker, warnings, replies and what the outbox holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from api.alerts.cap import parse_cap
from api.alerts.schemas import Ingested
from api.alerts.service import ingest
from api.platform.auth.tokens import Principal, Role
from care.flood import service as flood
from care.flood.schemas import FloodConsent, HouseholdCreate, PartnerIn, PartnerRole
from care.schemas import Home
from notifications.inbound import InboundHandler, InboundSms, receive
from notifications.service import Notifier
from tests.alerts import cap_xml

T0 = datetime(2026, 8, 8, 11, 0, tzinfo=UTC)  # 20:00 in Seoul, a Saturday
OPERATOR = Principal(subject="staff:op", role=Role.operator)
DAECHI = (37.4994, 127.0630)  # 대치동, 강남구 (11680106)
SAMSEONG = (37.5172, 127.0473)  # 삼성동, 강남구 (11680105), next to 대치동
SUSONG = (37.5735, 126.9790)  # 수송동, 종로구 (11110124)
DUTY_PHONE = "+821070001111"


async def add_household(
    pool: asyncpg.Pool,
    *,
    at: tuple[float, float] = DAECHI,
    phones: Sequence[str] = ("010-2000-0001",),
    partners: Sequence[str] = ("010-3000-0001", "010-3000-0002"),
    name: str = "박영자",
    now: datetime | None = None,
) -> int:
    data = HouseholdCreate(
        name=name,
        address="서울 강남구 대치동 반지하 1",
        home=Home(lat=at[0], lon=at[1]),
        phones=list(phones),
        partners=[
            PartnerIn(name=f"파트너{i}", role=(PartnerRole.neighbour, PartnerRole.tongjang)[i % 2], phone=p)
            for i, p in enumerate(partners)
        ],
        consent=FloodConsent(by="self"),
    )
    async with pool.acquire() as conn:
        return (await flood.register(conn, data=data, principal=OPERATOR, now=now or T0 - timedelta(days=30))).id


async def add_duty_worker(pool: asyncpg.Pool, *, district: str = "11680", phone: str = DUTY_PHONE) -> int:
    """A social worker on duty for the district all week long."""
    async with pool.acquire() as conn:
        staff_id = await conn.fetchval(
            "INSERT INTO staff (email, name, role, phone) VALUES ($1, '당직자', 'social_worker', $2) RETURNING id",
            f"duty-{district}-{phone[-4:]}@seoul.test",
            phone,
        )
        await conn.execute(
            "INSERT INTO care_rota_shifts (district, starts, ends, staff_ids) VALUES ($1, 0, 10080, $2)",
            district,
            [staff_id],
        )
    return staff_id


async def warn(
    pool: asyncpg.Pool,
    notifier: Notifier,
    identifier: str = "rain-1",
    *,
    geocodes: tuple[str, ...] = ("11680",),
    event: str = "호우경보",
    severity: str = "Severe",
    at: datetime = T0,
    **cap: Any,
) -> Ingested:
    body = cap_xml(identifier, sent=at, geocodes=geocodes, event=event, severity=severity, **cap)
    async with pool.acquire() as conn:
        return await ingest(conn, parse_cap(body), source="post", notifier=notifier, now=at)


async def text(
    pool: asyncpg.Pool,
    notifier: Notifier,
    handlers: Sequence[InboundHandler],
    *,
    phone: str,
    body: str,
    at: datetime,
    sid: str | None = None,
) -> str:
    """A reply as the SMS webhooks hand it to the one router."""
    sms = InboundSms(
        message_sid=sid or f"SM{at.timestamp():.0f}{phone[-4:]}", phone=phone, to=None, body=body, received_at=at
    )
    async with pool.acquire() as conn:
        return await receive(conn, sms=sms, notifier=notifier, handlers=handlers)


async def sms(pool: asyncpg.Pool, *, template: str | None = None) -> list[tuple[str, str]]:
    """(recipient, template) of every SMS still to send, oldest first (cancelled ones left out)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT recipient, template FROM outbox WHERE channel = 'sms' AND state <> 'cancelled' ORDER BY id"
        )
    return [(r["recipient"], r["template"]) for r in rows if template is None or r["template"] == template]


async def checks(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch("SELECT * FROM flood_checks ORDER BY id")
