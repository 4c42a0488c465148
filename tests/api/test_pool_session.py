"""Pooled connections carry no session state, so the pool releases them without asyncpg's reset query.

``api.platform.db.pool`` skips that query (a round trip on every release). It is safe only while no code on a
pooled connection leaves state behind it: a session advisory lock, a LISTEN, a session SET, a held cursor, a
prepared statement or a temporary table. The two that need one take a connection of their own.
"""

from __future__ import annotations

import re

import pytest

from api.platform.settings import PROJECT_ROOT

PACKAGES = ("api", "care", "notifications")
OWN_CONNECTION = {
    "api/platform/db/migrations.py",  # asyncpg.connect: its advisory lock lasts the whole migration
    "notifications/dispatcher.py",  # asyncpg.connect: the outbox LISTEN
}
SESSION_STATE = {
    "session advisory lock": re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\(", re.I),
    "LISTEN": re.compile(r"\bLISTEN\s+\w|add_listener\("),  # SQL in capitals, as the code writes it
    "session SET": re.compile(r"""execute\(\s*["']{1,3}\s*SET\s+(?!LOCAL\b)""", re.I),
    "session set_config": re.compile(r"set_config\([^)]*,\s*false\s*\)", re.I),
    "held cursor": re.compile(r"\bWITH\s+HOLD\b", re.I),
    "prepared statement": re.compile(r"""["']\s*PREPARE\s+\w""", re.I),
    "temporary table": re.compile(r"CREATE\s+TEMP(ORARY)?\s+TABLE", re.I),
}


def _sources() -> list[tuple[str, str]]:
    out = []
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            name = path.relative_to(PROJECT_ROOT).as_posix()
            if name not in OWN_CONNECTION:
                out.append((name, path.read_text()))
    return out


@pytest.mark.parametrize("kind", sorted(SESSION_STATE))
def test_no_code_leaves_session_state_on_a_pooled_connection(kind):
    pattern = SESSION_STATE[kind]
    found = [name for name, text in _sources() if pattern.search(text)]
    assert found == [], f"{kind} in {found}: take a connection of its own (asyncpg.connect), not one of the pool"


def test_the_patterns_find_what_they_look_for():
    samples = {
        "session advisory lock": 'await conn.execute("SELECT pg_advisory_lock($1)", key)',
        "LISTEN": 'await conn.add_listener("outbox", wake)',
        "session SET": "await conn.execute(\"SET lock_timeout = '1s'\")",
        "session set_config": "SELECT set_config('lock_timeout', $1, false)",
        "held cursor": "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
        "prepared statement": 'await conn.execute("PREPARE q AS SELECT 1")',
        "temporary table": "CREATE TEMP TABLE t (x int)",
    }
    for kind, sample in samples.items():
        assert SESSION_STATE[kind].search(sample), kind
    harmless = [
        'await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")',
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        "SELECT set_config('lock_timeout', $1, true)",
        "UPDATE outbox SET state = 'cancelled'",
        'await conn.execute(" ON CONFLICT (feed_url) DO UPDATE SET etag = excluded.etag")',
    ]
    for sample in harmless:
        assert not any(p.search(sample) for p in SESSION_STATE.values()), sample
