"""Rasa's lock store on PostgreSQL advisory locks: one conversation's messages are handled one at a time, whichever
Rasa server each reaches, with the database that already holds the conversations as the one store.

Rasa takes ``lock(conversation_id)`` around each message (fetch the tracker, predict, run the actions, save). Here
that is a session advisory lock, ``pg_advisory_lock(classid, hashtext(conversation_id))``, held on a connection of
its own for as long as the message is handled. PostgreSQL queues the waiters in arrival order; a lock dies with its
connection, so a Rasa server that is killed mid-message frees its conversations at once (Rasa's ticket locks
wait out their lifetime instead). Two conversations whose ids hash alike are serialised too, which is safe.

Rasa calls the lock store from its event loop and its interface is synchronous, so the connections are psycopg2's
asynchronous ones (already in Rasa's environment), polled from the loop: a wait never blocks other conversations.
Rasa runs in bot/.venv and imports this module by the path bot/endpoints.yml names (``bot.lock_store``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from bot.tracker_store import failed_this_message

log = logging.getLogger(__name__)

LOCK_CLASS = 0x5AFE  # advisory locks' first key: ours, apart from any other user of the database
DEFAULT_WAIT_S = 10.0  # a message waits this long behind its conversation's others, then fails (the API apologises)
DEFAULT_CONNECT_TIMEOUT_S = 3
MAX_IDLE = 8  # connections kept for the next messages; more are opened when more conversations are busy at once


class PostgresLockStore(LockStore):
    """``lock_store: {type: bot.lock_store.PostgresLockStore, url: postgresql://…, wait_s: 10}``."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        if not endpoint_config.url:
            raise ValueError("the PostgreSQL lock store needs a url (a postgresql:// URL)")
        self.dsn = str(endpoint_config.url)
        kwargs = endpoint_config.kwargs
        self.wait_s = float(kwargs.get("wait_s") or DEFAULT_WAIT_S)
        self.connect_timeout_s = int(kwargs.get("connect_timeout_s") or DEFAULT_CONNECT_TIMEOUT_S)
        self._idle: list[psycopg2.extensions.connection] = []
        super().__init__()

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncGenerator[TicketLock, None]:
        """Hold ``conversation_id``'s advisory lock while the body runs; ``LockError`` if it cannot be had."""
        conn = await self._acquire(conversation_id)
        tracker = failed_this_message.set(None)
        try:
            yield TicketLock(conversation_id)
        finally:
            failed = failed_this_message.get()
            failed_this_message.reset(tracker)
            held = await self._release(conn, conversation_id)
        # Only when the message itself went through: its own error, if any, is the one to see.
        if failed:
            raise LockError(f"conversation {conversation_id!r}: {failed}; the turn is not kept")
        if not held:
            raise LockError(f"conversation {conversation_id!r}: the lock's connection was lost during the message")

    async def _acquire(self, conversation_id: str) -> psycopg2.extensions.connection:
        # An idle connection may have died with a restart of the database: then one fresh connection is tried.
        for attempt in range(2):
            conn = self._idle.pop() if self._idle and attempt == 0 else None
            try:
                conn = conn or await self._connect()
                await _execute(conn, "SELECT pg_advisory_lock(%s, hashtext(%s))", (LOCK_CLASS, conversation_id))
                return conn
            except psycopg2.errors.LockNotAvailable as exc:
                _close(conn)
                raise LockError(
                    f"conversation {conversation_id!r} was busy for over {self.wait_s:g}s on another message"
                ) from exc
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                _close(conn)
                if attempt == 1:
                    raise LockError(f"the lock store (PostgreSQL) is unreachable: {exc}".strip()) from exc
            except BaseException:  # cancelled while waiting: the server drops the wait with the connection
                _close(conn, cancel=True)
                raise
        raise AssertionError("unreachable")

    async def _release(self, conn: psycopg2.extensions.connection, conversation_id: str) -> bool:
        """Unlock; False when the connection had died, so the lock may not have been held to the end."""
        try:
            await _execute(conn, "SELECT pg_advisory_unlock(%s, hashtext(%s))", (LOCK_CLASS, conversation_id))
        except BaseException:
            _close(conn)  # closing the session releases its locks too
            log.warning("lock store: unlock failed; the connection was closed, which releases the lock")
            return False
        if len(self._idle) < MAX_IDLE:
            self._idle.append(conn)
        else:
            _close(conn)
        return True

    async def _connect(self) -> psycopg2.extensions.connection:
        conn = psycopg2.connect(self.dsn, async_=1, connect_timeout=self.connect_timeout_s)
        try:
            await asyncio.wait_for(_wait(conn), timeout=self.connect_timeout_s)
            await _execute(conn, "SET lock_timeout = %s", (f"{int(self.wait_s * 1000)}ms",))
        except TimeoutError as exc:
            _close(conn)
            raise psycopg2.OperationalError(f"no answer within {self.connect_timeout_s}s") from exc
        except BaseException:
            _close(conn)
            raise
        return conn

    # The synchronous ticket interface is not used: ``lock`` is the whole of what Rasa asks of a lock store.
    def get_lock(self, conversation_id: str) -> TicketLock | None:
        raise NotImplementedError("PostgresLockStore locks through lock() only")

    def delete_lock(self, conversation_id: str) -> None:
        raise NotImplementedError("PostgresLockStore locks through lock() only")

    def save_lock(self, lock: TicketLock) -> None:
        raise NotImplementedError("PostgresLockStore locks through lock() only")


async def _execute(conn: psycopg2.extensions.connection, sql: str, params: tuple[Any, ...]) -> None:
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        await _wait(conn)


async def _wait(conn: psycopg2.extensions.connection) -> None:
    """Poll an asynchronous psycopg2 connection until its current operation is done, from the event loop."""
    loop = asyncio.get_running_loop()
    while True:
        state = conn.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        ready = loop.create_future()
        fd = conn.fileno()
        if state == psycopg2.extensions.POLL_READ:
            loop.add_reader(fd, _set, ready)
            remove = loop.remove_reader
        elif state == psycopg2.extensions.POLL_WRITE:
            loop.add_writer(fd, _set, ready)
            remove = loop.remove_writer
        else:
            raise psycopg2.OperationalError(f"unexpected poll state {state}")
        try:
            await ready
        finally:
            remove(fd)


def _set(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _close(conn: psycopg2.extensions.connection | None, *, cancel: bool = False) -> None:
    if conn is None:
        return
    try:
        if cancel and not conn.closed:
            conn.cancel()
        conn.close()
    except psycopg2.Error:
        pass
