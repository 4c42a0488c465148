"""The migrations runner against a real PostgreSQL: fresh apply, re-run, broken and changed files, concurrency."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from api.platform.db.migrations import MigrationError, discover, migrate
from api.platform.districts import DISTRICTS
from tests.conftest import MIGRATIONS


@pytest.fixture
async def empty_url(pg_server):
    url = await pg_server.create(template=None)
    yield url
    await pg_server.drop(urlsplit(url).path.lstrip("/"))


@pytest.fixture
async def conn(empty_url):
    connection = await asyncpg.connect(empty_url)
    yield connection
    await connection.close()


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, target)
    return target


async def test_fresh_database_gets_every_migration_in_order(conn):
    applied = await migrate(conn, MIGRATIONS)

    expected = [m.filename for m in discover(MIGRATIONS)]
    assert [m.filename for m in applied] == expected
    recorded = await conn.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
    assert [f"{r['version']}_{r['name']}.sql" for r in recorded] == expected


async def test_running_again_applies_nothing(conn):
    await migrate(conn, MIGRATIONS)
    before = await conn.fetch("SELECT version, applied_at FROM schema_migrations ORDER BY version")

    assert await migrate(conn, MIGRATIONS) == []
    assert await conn.fetch("SELECT version, applied_at FROM schema_migrations ORDER BY version") == before


async def test_broken_file_stops_the_run_with_its_name_and_the_database_error(conn, migrations_copy):
    (migrations_copy / "0900_broken.sql").write_text(
        "CREATE TABLE half_done (id int);\nCREATE TABLE oops (id nonsense);\n"
    )
    (migrations_copy / "0901_after.sql").write_text("CREATE TABLE after_broken (id int);\n")

    with pytest.raises(MigrationError) as failure:
        await migrate(conn, migrations_copy)

    message = str(failure.value)
    assert "0900_broken.sql" in message
    assert "line 2" in message
    assert 'type "nonsense" does not exist' in message
    versions = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    assert "0900" not in versions and "0901" not in versions
    assert versions == {m.version for m in discover(MIGRATIONS)}
    # The broken file's own transaction rolled back whole; the file after it never ran.
    assert await conn.fetchval("SELECT to_regclass('half_done')") is None
    assert await conn.fetchval("SELECT to_regclass('after_broken')") is None


async def test_an_applied_file_that_changed_is_refused(conn, migrations_copy):
    await migrate(conn, migrations_copy)
    first = sorted(migrations_copy.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited later\n")

    with pytest.raises(MigrationError, match=f"{first.name}: changed after it was applied"):
        await migrate(conn, migrations_copy)


@pytest.mark.parametrize("name", ["6_short.sql", "0006-dash.sql", "0006_Upper.sql"])
async def test_misnamed_files_are_refused(conn, migrations_copy, name):
    (migrations_copy / name).write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"NNNN_what_it_does\.sql"):
        await migrate(conn, migrations_copy)


async def test_two_files_with_one_version_are_refused(conn, migrations_copy):
    (migrations_copy / "0001_again.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="version 0001 is also used"):
        await migrate(conn, migrations_copy)


async def test_concurrent_runners_apply_each_file_once(empty_url):
    connections = [await asyncpg.connect(empty_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(c, MIGRATIONS) for c in connections))
    finally:
        for c in connections:
            await c.close()

    applied = [m.filename for result in results for m in result]
    assert sorted(applied) == [m.filename for m in discover(MIGRATIONS)]


async def test_districts_table_matches_the_code(conn):
    await migrate(conn, MIGRATIONS)
    rows = await conn.fetch("SELECT code, name_ko, name_en FROM districts ORDER BY code")
    assert [tuple(r) for r in rows] == [tuple(d) for d in sorted(DISTRICTS.values())]
    assert len(rows) == 25


async def test_a_file_that_is_not_utf8_is_named(conn, migrations_copy):
    (migrations_copy / "0900_latin1.sql").write_bytes("-- caf\xe9\nSELECT 1;".encode("latin-1"))
    with pytest.raises(MigrationError, match=r"0900_latin1\.sql: not UTF-8"):
        await migrate(conn, migrations_copy)


def test_migrate_command_says_when_the_database_is_unreachable(tmp_path):
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none", "SAFECITY_VAR_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "api.cli", "migrate"], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert "cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_command_fails_loudly_naming_the_file(empty_url, migrations_copy, tmp_path):
    (migrations_copy / "0900_broken.sql").write_text("ALTER TABLE no_such_table ADD COLUMN x int;\n")
    env = {
        **os.environ,
        "DATABASE_URL": empty_url,
        "SAFECITY_MIGRATIONS_DIR": str(migrations_copy),
        "SAFECITY_VAR_DIR": str(tmp_path / "var"),
    }

    result = subprocess.run([sys.executable, "-m", "api.cli", "migrate"], env=env, capture_output=True, text=True)

    assert result.returncode != 0
    assert "0900_broken.sql" in result.stderr
    assert 'relation "no_such_table" does not exist' in result.stderr
