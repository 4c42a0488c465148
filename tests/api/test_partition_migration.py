"""Migration 0032 on a database with rows: the outbox and the audit log become monthly partitions, nothing lost."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from api.platform.db.migrations import migrate
from tests.conftest import MIGRATIONS

PARTITIONING = "0032_partition_outbox_and_audit_log.sql"


@pytest.fixture
async def conn(pg_server, tmp_path: Path):
    """A database migrated up to the one before 0032, and the directory to add 0032 to."""
    url = await pg_server.create(template=None)
    before = tmp_path / "migrations"
    before.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if path.name < PARTITIONING:
            shutil.copy(path, before / path.name)
    connection = await asyncpg.connect(url)
    await migrate(connection, before)
    yield connection
    await connection.close()
    await pg_server.drop(urlsplit(url).path.lstrip("/"))


async def fill(conn: asyncpg.Connection, now: datetime) -> None:
    notice = await conn.fetchval(
        "INSERT INTO notices (template, created_at) VALUES ('notice.test', $1) RETURNING id", now
    )
    for days, channel, state in ((40, "sms", "sent"), (1, "voice", "failed"), (0, "push", "pending")):
        await conn.execute(
            """
            INSERT INTO outbox (notice_id, channel, recipient, template, language, body, priority, max_attempts,
                                state, created_at)
            VALUES ($1, $2, '+821012345678', 'notice.test', 'ko', 'body', 1, 3, $3, $4)
            """,
            notice,
            channel,
            state,
            now - timedelta(days=days),
        )
    voice = await conn.fetchval("SELECT id FROM outbox WHERE channel = 'voice'")
    await conn.execute(
        """
        INSERT INTO voice_calls (call_sid, outbox_id, phone, purpose, status, created_at, updated_at)
        VALUES ($1, $2, '+821012345678', 'message', 'completed', $3, $3)
        """,
        "CA" + "a" * 32,
        voice,
        now,
    )
    await conn.execute(
        "INSERT INTO audit_log (actor, action, recipient_id, at) VALUES ('staff:1', 'case.read', 7, $1), "
        "('staff:2', 'recipient.read', 8, $2)",
        now - timedelta(days=70),
        now,
    )


async def test_rows_move_into_their_months_and_keep_their_ids_and_references(conn, tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    await fill(conn, now)
    outbox_before = [dict(r) for r in await conn.fetch("SELECT * FROM outbox ORDER BY id")]
    audit_before = [dict(r) for r in await conn.fetch("SELECT * FROM audit_log ORDER BY id")]

    shutil.copy(MIGRATIONS / PARTITIONING, tmp_path / "migrations" / PARTITIONING)
    assert [m.filename for m in await migrate(conn, tmp_path / "migrations")] == [PARTITIONING]

    assert [dict(r) for r in await conn.fetch("SELECT * FROM outbox ORDER BY id")] == outbox_before
    assert [dict(r) for r in await conn.fetch("SELECT * FROM audit_log ORDER BY id")] == audit_before
    placed = await conn.fetch("SELECT tableoid::regclass::text AS part, created_at FROM outbox ORDER BY id")
    assert [r["part"] for r in placed] == [f"outbox_p{r['created_at']:%Y_%m}" for r in placed]
    audit_placed = await conn.fetch("SELECT tableoid::regclass::text AS part, at FROM audit_log ORDER BY id")
    assert [r["part"] for r in audit_placed] == [f"audit_log_p{r['at']:%Y_%m}" for r in audit_placed]

    call = await conn.fetchrow(
        "SELECT c.outbox_id, c.outbox_created_at, o.channel FROM voice_calls c JOIN outbox o ON o.id = c.outbox_id"
    )
    assert call["channel"] == "voice" and call["outbox_created_at"] is not None

    # Ids go on from where they were; the checks of the day (0026 widened the channels) came along.
    notice = outbox_before[0]["notice_id"]
    new_id = await conn.fetchval(
        """
        INSERT INTO outbox (notice_id, channel, recipient, template, language, body, priority, max_attempts)
        VALUES ($1, 'voice', '+821012345678', 'notice.test', 'ko', 'body', 1, 3) RETURNING id
        """,
        notice,
    )
    assert new_id == max(r["id"] for r in outbox_before) + 1
    with pytest.raises(asyncpg.CheckViolationError, match="outbox_channel_check"):
        await conn.execute(
            """
            INSERT INTO outbox (notice_id, channel, recipient, template, language, body, priority, max_attempts)
            VALUES ($1, 'email', 'a@b.c', 'notice.test', 'ko', 'body', 1, 3)
            """,
            notice,
        )
    new_audit = await conn.fetchval(
        "INSERT INTO audit_log (actor, action) VALUES ('staff:3', 'case.list') RETURNING id"
    )
    assert new_audit == max(r["id"] for r in audit_before) + 1
    # A later migration can still widen a check by its name.
    await conn.execute("ALTER TABLE outbox DROP CONSTRAINT outbox_state_check")


async def test_an_empty_database_gets_this_month_and_three_ahead(conn, tmp_path):
    shutil.copy(MIGRATIONS / PARTITIONING, tmp_path / "migrations" / PARTITIONING)
    await migrate(conn, tmp_path / "migrations")
    names = {
        r["relname"]
        for r in await conn.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'outbox'::regclass"
        )
    }
    today = datetime.now(UTC)
    months = [(today.year * 12 + today.month - 1 + i) for i in range(4)]
    assert names == {"outbox_default"} | {f"outbox_p{m // 12}_{m % 12 + 1:02d}" for m in months}
