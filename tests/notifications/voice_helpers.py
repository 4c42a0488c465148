"""What the voice tests share: a person called for check-ins, a dispatcher on a clock, and reading what happened."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from litestar import Litestar

from api.platform.auth.tokens import Principal, Role
from api.platform.jobs.runner import run_job
from api.platform.settings import Settings
from api.platform.types import Language
from api.worker import JOBS
from care import service
from care.schemas import ContactBy, GuardianIn, PlanIn, QuietHours, RecipientCreate
from notifications.channels import build_channels
from notifications.dispatcher import Dispatcher

SEOUL = ZoneInfo("Asia/Seoul")
WORKER = Principal(subject="staff:1", role=Role.social_worker, districts=("11110",))
PERSON, GUARDIAN = "+821012340000", "+821098760000"
MENU = "안녕하세요, 서울시 안부 전화입니다. 괜찮으시면 1번, 도움이 필요하시면 2번을 눌러 주세요."


# The webhooks act at the app's clock, which the dispatcher fixture sets to the dispatcher's: the ladder runs on
# fixed days, a Tuesday in November 2026 on.
BASE = date(2026, 11, 24)


def kst(day: int, hhmm: str) -> datetime:
    """``hhmm`` in Seoul on the ``day``-th day of the test (0, 1, 2…), from Tuesday 2026-11-24."""
    return datetime.combine(BASE + timedelta(days=day), time(int(hhmm[:2]), int(hhmm[3:])), tzinfo=SEOUL)


class Clock:
    now = kst(0, "08:00")

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def dispatcher(pool: asyncpg.Pool, settings: Settings, app: Litestar) -> AsyncIterator[tuple[Dispatcher, Clock]]:
    """A dispatcher on a clock; the app's webhooks act at the same clock's time."""
    channels = build_channels(settings)
    clock = Clock()
    app.state.clock = clock
    yield Dispatcher(pool, channels, settings.notify, clock=clock), clock
    for channel in channels.values():
        await channel.aclose()


async def enroll(
    pool: asyncpg.Pool,
    *,
    contact_by: ContactBy = ContactBy.voice,
    times: tuple[str, ...] = ("09:00",),
    quiet: tuple[str, str] | None = None,
    language: str = "ko",
    at: datetime | None = None,
) -> int:
    data = RecipientCreate(
        name="김순자",
        phone="010-1234-0000",
        district="11110",
        address="서울 종로구 세종대로 1",
        contact_by=contact_by,
        language=Language(language),
        guardians=[GuardianIn(name="김민수", phone="010-9876-0000", relation="아들")],
        plan=PlanIn(
            times=list(times),
            window_minutes=120,
            quiet_hours=QuietHours(start=quiet[0], end=quiet[1]) if quiet else None,
        ),
    )
    async with pool.acquire() as conn:
        return (await service.enroll(conn, data=data, principal=WORKER, now=at or kst(0, "07:00"))).id


async def sweep(pool: asyncpg.Pool, settings: Settings, at: datetime) -> None:
    await run_job(pool, JOBS["care.sweep"], now=at, settings=settings)


async def dispatch(dispatcher: Dispatcher, clock: Clock, at: datetime) -> None:
    clock.now = at
    for name in ("voice", "sms"):
        while (await dispatcher.dispatch_batch(name)).claimed:
            pass


async def fetch(pool: asyncpg.Pool, sql: str, *args: object) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch(sql, *args)
