"""``atomic``: a service's transaction, a savepoint inside a caller's, and nothing more inside an idempotent
request's whole-request transaction (which the middleware rolls back whole on any failure)."""

from __future__ import annotations

import asyncpg
import pytest

from api.platform.db.transactions import atomic, whole_request


class _Failed(Exception):
    pass


async def _service_that_fails(conn: asyncpg.Connection) -> None:
    async with atomic(conn):
        await conn.execute("INSERT INTO t (x) VALUES (2)")
        raise _Failed


async def _rows(conn: asyncpg.Connection) -> list[int]:
    return [r["x"] for r in await conn.fetch("SELECT x FROM t ORDER BY x")]


async def test_alone_it_is_a_transaction_of_its_own_that_a_failure_undoes(pool):
    async with pool.acquire() as conn:
        await conn.execute("CREATE TEMP TABLE t (x int)")
        try:
            with pytest.raises(_Failed):
                await _service_that_fails(conn)
            assert not conn.is_in_transaction()
            assert await _rows(conn) == []
        finally:
            await conn.execute("DROP TABLE t")


async def test_inside_a_callers_transaction_a_failure_undoes_only_the_service(pool):
    async with pool.acquire() as conn:
        await conn.execute("CREATE TEMP TABLE t (x int)")
        try:
            async with conn.transaction():
                await conn.execute("INSERT INTO t (x) VALUES (1)")
                with pytest.raises(_Failed):
                    await _service_that_fails(conn)
                # The caller caught it and goes on: its own row stands, the service's is gone.
                assert await _rows(conn) == [1]
        finally:
            await conn.execute("DROP TABLE t")


async def test_another_connection_in_the_same_request_keeps_its_savepoint(pool):
    async with pool.acquire() as request_conn, pool.acquire() as conn:
        await conn.execute("CREATE TEMP TABLE t (x int)")
        try:
            with whole_request(request_conn):
                async with conn.transaction():
                    await conn.execute("INSERT INTO t (x) VALUES (1)")
                    with pytest.raises(_Failed):
                        await _service_that_fails(conn)
                    assert await _rows(conn) == [1]
        finally:
            await conn.execute("DROP TABLE t")


async def test_inside_the_whole_request_transaction_no_savepoint_is_opened(pool):
    async with pool.acquire() as conn:
        await conn.execute("CREATE TEMP TABLE t (x int)")
        try:
            tr = conn.transaction()
            await tr.start()
            with whole_request(conn):
                async with atomic(conn):
                    await conn.execute("INSERT INTO t (x) VALUES (1)")
                # No savepoint was made: a statement naming none fails.
                with pytest.raises(asyncpg.PostgresError):
                    await conn.execute("RELEASE SAVEPOINT __asyncpg_savepoint_1__")
            await tr.rollback()
        finally:
            await conn.execute("DROP TABLE t")
