"""The audit log: every read and write of a care recipient's personal data by staff, in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg


async def record(
    conn: asyncpg.Connection,
    *,
    actor: str,
    action: str,
    now: datetime,
    recipient_id: int | None = None,
    case_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one audit row; ``actor`` is the principal's subject (``staff:12``), ``action`` e.g. ``case.read``."""
    await conn.execute(
        "INSERT INTO audit_log (actor, action, recipient_id, case_id, detail, at) VALUES ($1, $2, $3, $4, $5, $6)",
        actor,
        action,
        recipient_id,
        case_id,
        detail or {},
        now,
    )


async def purge_default(conn: asyncpg.Connection, before: datetime) -> int:
    """Delete rows older than ``before`` from the default partition (rows of a month that had none)."""
    status = await conn.execute("DELETE FROM audit_log_default WHERE at < $1", before)
    return int(status.split()[-1])
