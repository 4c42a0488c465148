"""Forward-only SQL migrations: ``migrations/NNNN_what_it_does.sql``.

Each file runs in its own transaction and is recorded in ``schema_migrations`` with a checksum.
Concurrent runners are serialised by an advisory lock. A failing file stops the run with its name
and the database's error; files after it are not attempted.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
# An arbitrary constant: the advisory-lock key that every migrations runner takes.
_LOCK_KEY = 0x5AFEC17


class MigrationError(RuntimeError):
    """The migrations cannot be applied; the message names the file and the reason."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def filename(self) -> str:
        return self.path.name


def discover(directory: Path) -> list[Migration]:
    """Every migration file in ``directory``, in order; a misnamed or duplicate file is an error."""
    if not directory.is_dir():
        raise MigrationError(f"migrations directory not found: {directory}")
    found: dict[str, Migration] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_what_it_does.sql")
        version = match["version"]
        if version in found:
            raise MigrationError(f"{path.name}: version {version} is also used by {found[version].filename}")
        try:
            sql = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise MigrationError(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
        found[version] = Migration(version, match["name"], path, sql)
    return [found[v] for v in sorted(found)]


_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


async def applied_versions(conn: asyncpg.Connection) -> dict[str, str]:
    """Applied versions and their checksums; empty when the table does not exist yet."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return {}
    rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
    return {r["version"]: r["checksum"] for r in rows}


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    pending: list[Migration]
    changed: list[Migration]

    @property
    def current(self) -> bool:
        return not self.pending and not self.changed


async def schema_status(conn: asyncpg.Connection, migrations: list[Migration]) -> SchemaStatus:
    """Which migrations this database lacks, and which applied ones no longer match their files."""
    done = await applied_versions(conn)
    return SchemaStatus(
        pending=[m for m in migrations if m.version not in done],
        changed=[m for m in migrations if m.version in done and done[m.version] != m.checksum],
    )


async def migrate(conn: asyncpg.Connection, directory: Path) -> list[Migration]:
    """Apply every pending migration in order; return the ones applied by this call."""
    migrations = discover(directory)
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(_CREATE_TABLE)
        done = await applied_versions(conn)
        _check_unchanged(migrations, done)
        applied = []
        for migration in migrations:
            if migration.version in done:
                continue
            await _apply(conn, migration)
            applied.append(migration)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


def _check_unchanged(migrations: list[Migration], done: dict[str, str]) -> None:
    by_version = {m.version: m for m in migrations}
    for version, checksum in sorted(done.items()):
        migration = by_version.get(version)
        if migration is None:
            raise MigrationError(f"version {version} is applied to the database but its file is missing")
        if migration.checksum != checksum:
            raise MigrationError(
                f"{migration.filename}: changed after it was applied; migrations are forward-only, "
                "add a new file instead"
            )


async def _apply(conn: asyncpg.Connection, migration: Migration) -> None:
    try:
        async with conn.transaction():
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
    except asyncpg.PostgresError as exc:
        where = f" (line {_line_of(migration.sql, exc)})" if getattr(exc, "position", None) else ""
        raise MigrationError(f"{migration.filename}{where}: {type(exc).__name__}: {exc}") from exc


def _line_of(sql: str, exc: asyncpg.PostgresError) -> int:
    position = int(exc.position)  # 1-based character offset into the statement text
    return sql.count("\n", 0, max(position - 1, 0)) + 1
