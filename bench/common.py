"""What several benchmarks share: a fresh migrated database, the fake providers as a process, the JWT secret."""

from __future__ import annotations

import json
import subprocess
import sys

import asyncpg

from api.platform.db.embedded import drop_database, ensure_database
from api.platform.db.migrations import migrate
from api.platform.settings import PROJECT_ROOT

SECRET = "bench-secret-0123456789-0123456789-0123456789"  # noqa: S105 - a throwaway bench database


async def fresh_database(server_url: str, name: str) -> str:
    """Drop ``name`` if it exists, create it, migrate it; its URL. Every run starts from an empty database."""
    await drop_database(server_url, name)
    url = await ensure_database(server_url, name)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn, PROJECT_ROOT / "migrations")
    finally:
        await conn.close()
    return url


def start_fakes() -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The fake FCM and Twilio servers in their own process, and the line it prints (URLs and env)."""
    proc = subprocess.Popen([sys.executable, "-m", "fakes"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    return proc, info
