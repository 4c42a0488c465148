"""Test databases: one PostgreSQL server per run, a migrated template, and a fresh copy for every test."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import asyncpg

from api.platform.db.embedded import EmbeddedPostgres, drop_database, ensure_database, with_database
from api.platform.db.migrations import migrate
from api.platform.settings import PROJECT_ROOT

TEMPLATE = "safecity_test_template"


class TestServer:
    """The server the tests use: ``TEST_DATABASE_URL``'s, or an embedded one under ``var/test-pgdata``."""

    def __init__(self) -> None:
        self._embedded: EmbeddedPostgres | None = None
        given = os.environ.get("TEST_DATABASE_URL")
        if given:
            self.url = given
        else:
            self._embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "test-pgdata")
            self.url = self._embedded.start()
            asyncio.run(self._tune_for_tests())

    async def _tune_for_tests(self) -> None:
        # Durability is worthless for throwaway test data and costs seconds per run.
        conn = await asyncpg.connect(self.url)
        try:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                await conn.execute(f"ALTER SYSTEM SET {setting} = off")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    def stop(self) -> None:
        if self._embedded is not None:
            self._embedded.stop()

    async def create_template(self, migrations_dir: Path) -> None:
        """A database with every migration applied, for each test to copy."""
        await drop_database(self.url, TEMPLATE)
        conn = await asyncpg.connect(await ensure_database(self.url, TEMPLATE))
        try:
            await migrate(conn, migrations_dir)
        finally:
            await conn.close()

    async def create(self, *, template: str | None = TEMPLATE) -> str:
        """A new database (a copy of the template, or empty); returns its URL."""
        name = f"safecity_test_{uuid.uuid4().hex[:12]}"
        if template:
            await self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            await self._execute(f'CREATE DATABASE "{name}"')
        return with_database(self.url, name)

    async def drop(self, name: str) -> None:
        await drop_database(self.url, name)

    async def _execute(self, sql: str) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()
