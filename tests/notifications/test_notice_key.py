"""A delivery's notice, kept by statement-level triggers (migration 0043) as the foreign key kept it: a delivery
of no notice is refused, deleting a notice deletes its deliveries, and a delivery's notice never changes."""

from __future__ import annotations

import asyncpg
import pytest

from notifications import repository
from tests.notifications.conftest import NOW, deliveries


async def test_a_delivery_of_a_notice_that_does_not_exist_is_refused(pool, notifier) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.ForeignKeyViolationError, match="1 notice"):
            async with conn.transaction():
                real = await repository.insert_notice(conn, dedupe_key=None, template="notice.test", now=NOW)
                await conn.execute(
                    """
                    INSERT INTO outbox (notice_id, channel, recipient, template, language, body, priority, max_attempts)
                    SELECT n, 'sms', '+821012345678', 'notice.test', 'ko', 'x', 1, 3 FROM unnest($1::int8[]) n
                    """,
                    [real, real, real + 1000],
                )
    assert await deliveries(pool) == []


async def test_deleting_a_notice_deletes_its_deliveries_and_a_notice_never_changes(pool, notifier) -> None:
    async with pool.acquire() as conn, conn.transaction():
        kept = await notifier.to_phone(
            conn, phone="01011110000", language="ko", template="notice.test", params={"text": "a"}, now=NOW
        )
        gone = await notifier.to_phone(
            conn, phone="01011110001", language="ko", template="notice.test", params={"text": "b"}, now=NOW
        )
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.ForeignKeyViolationError, match="never changes"):
            await conn.execute("UPDATE outbox SET notice_id = $1 WHERE notice_id = $2", kept.notice_id, gone.notice_id)
        await conn.execute("DELETE FROM notices WHERE id = $1", gone.notice_id)
    assert [r["notice_id"] for r in await deliveries(pool)] == [kept.notice_id]
