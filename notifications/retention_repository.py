"""SQL for the outbox's retention: what an ended month still needs, and what goes before it or instead of it.

The outbox is partitioned by month of ``created_at`` (migration 0032); a month past retention is dropped whole
by ``api.platform.db.partitions``, and these say when it may be and what must go first.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def still_to_go(conn: asyncpg.Connection, lower: datetime, upper: datetime) -> int:
    """Deliveries created in [lower, upper) that are waiting or in flight: their month must not be dropped."""
    return await conn.fetchval(
        """
        SELECT (SELECT count(*) FROM outbox WHERE state = 'pending' AND created_at >= $1 AND created_at < $2)
             + (SELECT count(*) FROM outbox WHERE state = 'sending' AND created_at >= $1 AND created_at < $2)
        """,
        lower,
        upper,
    )


async def delete_calls_of(conn: asyncpg.Connection, lower: datetime, upper: datetime) -> int:
    """Delete the calls placed for deliveries created in [lower, upper), and their webhooks, before the month goes.

    A dropped partition fires no ON DELETE, and its detach refuses while a call still references it.
    """
    status = await conn.execute(
        "DELETE FROM voice_calls WHERE outbox_created_at >= $1 AND outbox_created_at < $2", lower, upper
    )
    return int(status.split()[-1])


async def purge_default(conn: asyncpg.Connection, before: datetime) -> int:
    """Delete ended deliveries older than ``before`` from the default partition (rows of a month that had none)."""
    status = await conn.execute(
        "DELETE FROM outbox_default WHERE created_at < $1 AND state NOT IN ('pending', 'sending')", before
    )
    return int(status.split()[-1])
