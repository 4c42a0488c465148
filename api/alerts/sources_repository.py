"""The one query the warning sources need beyond the alerts repository: whether an alert is stored already."""

from __future__ import annotations

import asyncpg


async def alert_exists(conn: asyncpg.Connection, *, sender: str, identifier: str) -> bool:
    """Whether the alert ``(sender, identifier)`` was stored before."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM alerts WHERE sender = $1 AND identifier = $2)", sender, identifier
        )
    )
