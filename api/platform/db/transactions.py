"""A service's transaction, and the one case where it need not open one of its own.

A request under ``Idempotency-Key`` runs inside one transaction that the middleware rolls back whole on any
non-2xx (``api.platform.idempotency``). A savepoint inside it guards nothing a caller could keep, and costs two
round trips (``SAVEPOINT``, ``RELEASE``). ``atomic`` opens the service's transaction as usual, or a savepoint
inside a caller's, except when the connection is that whole-request transaction's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar

import asyncpg

_WHOLE_REQUEST: ContextVar[object | None] = ContextVar("safecity_whole_request_transaction", default=None)


@contextlib.contextmanager
def whole_request(conn: asyncpg.Connection) -> Iterator[None]:
    """While the request runs: ``conn`` is in a transaction that any failure of the request rolls back whole."""
    token = _WHOLE_REQUEST.set(conn)
    try:
        yield
    finally:
        _WHOLE_REQUEST.reset(token)


def atomic(conn: asyncpg.Connection) -> AbstractAsyncContextManager[object]:
    """``conn.transaction()``, or nothing more when ``conn`` is the request's whole-request transaction.

    Only for a service whose failure ends the request (its exception is not caught and the request goes on):
    without the savepoint, a caller that caught it would be left in a failed transaction.
    """
    if _WHOLE_REQUEST.get() is conn:
        return contextlib.nullcontext()
    return conn.transaction()
