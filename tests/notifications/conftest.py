"""Fixtures for the outbox: a pool on the test database, a notifier, citizens with devices, and the fakes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime

import asyncpg
import msgspec
import pytest

from api.platform.settings import FcmSettings, NotifySettings, Settings, TwilioSettings
from fakes.fcm import FakeFcm
from fakes.twilio import FakeTwilio
from notifications.service import Notifier

TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "test-twilio-auth-token"
TWILIO_FROM = "+15005550006"
PUBLIC_URL = "http://safecity.test"


@pytest.fixture
def settings(settings: Settings, fake_fcm: FakeFcm, fake_twilio: FakeTwilio) -> Settings:
    """The app's test settings with the real SDKs pointed at the fakes, and retries quick enough to watch."""
    return msgspec.structs.replace(
        settings,
        fcm=FcmSettings(endpoint=fake_fcm.url, project_id="safecity-test"),
        twilio=TwilioSettings(
            account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, from_number=TWILIO_FROM, api_base_url=fake_twilio.url
        ),
        notify=NotifySettings(
            public_url=PUBLIC_URL, backoff_base_s=1.0, backoff_max_s=4.0, max_attempts=3, push_fallback_s=300
        ),
    )


@pytest.fixture
def fake_fcm() -> Iterator[FakeFcm]:
    with FakeFcm() as fake:
        yield fake


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN)
    with fake.serve():
        yield fake


@pytest.fixture
def notifier(settings: Settings) -> Notifier:
    return Notifier(settings.notify)


NOW = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)

MakeCitizen = Callable[..., Awaitable[int]]


@pytest.fixture
def make_citizen(pool: asyncpg.Pool) -> MakeCitizen:
    """Insert a citizen with some device tokens; their id."""
    counter = iter(range(10_000_000))

    async def make(
        *, phone: str | None = None, language: str = "ko", district: str | None = "11110", tokens: tuple[str, ...] = ()
    ) -> int:
        phone = phone or f"+8210{5000_0000 + next(counter):08d}"
        async with pool.acquire() as conn, conn.transaction():
            citizen_id = await conn.fetchval(
                "INSERT INTO citizens (phone, language, district) VALUES ($1, $2, $3) RETURNING id",
                phone,
                language,
                district,
            )
            for token in tokens:
                await conn.execute(
                    "INSERT INTO devices (citizen_id, platform, fcm_token) VALUES ($1, 'android', $2)",
                    citizen_id,
                    token,
                )
        return citizen_id

    return make


async def deliveries(pool: asyncpg.Pool, **where: object) -> list[asyncpg.Record]:
    """Outbox rows, oldest first, optionally only those of one notice."""
    async with pool.acquire() as conn:
        if "notice_id" in where:
            return await conn.fetch("SELECT * FROM outbox WHERE notice_id = $1 ORDER BY id", where["notice_id"])
        return await conn.fetch("SELECT * FROM outbox ORDER BY id")
