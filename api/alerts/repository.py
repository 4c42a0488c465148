"""SQL for alerts: storing them once, replacing them through references, and reading them for people.

Its own tables only (alerts, alert_responses, the alert_rows view): who is in care comes from care.service,
shelters from evacuation.service, and the citizens a warning reaches from notifications' district fan-out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg


async def insert_alert(conn: asyncpg.Connection, row: dict[str, Any]) -> int | None:
    """Store an alert; None when (sender, identifier) is already stored."""
    return await conn.fetchval(
        """
        INSERT INTO alerts (source, sender, identifier, sent, status, msg_type, scope, event, hazard, urgency,
                            severity, certainty, onset, expires, texts, areas, districts, incidents, cap,
                            received_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
        ON CONFLICT (sender, identifier) DO NOTHING
        RETURNING id
        """,
        row["source"],
        row["sender"],
        row["identifier"],
        row["sent"],
        row["status"],
        row["msg_type"],
        row["scope"],
        row["event"],
        row["hazard"],
        row["urgency"],
        row["severity"],
        row["certainty"],
        row["onset"],
        row["expires"],
        row["texts"],
        row["areas"],
        row["districts"],
        row["incidents"],
        row["cap"],
        row["received_at"],
    )


async def find_by_identity(conn: asyncpg.Connection, *, sender: str, identifier: str) -> int | None:
    return await conn.fetchval("SELECT id FROM alerts WHERE sender = $1 AND identifier = $2", sender, identifier)


async def lock_referenced(conn: asyncpg.Connection, references: Sequence[tuple[str, str]]) -> list[asyncpg.Record]:
    """The stored alerts these (sender, identifier) pairs name, locked, oldest first."""
    if not references:
        return []
    senders, identifiers = zip(*references, strict=True)
    return await conn.fetch(
        """
        SELECT a.id, a.msg_type, a.districts, a.areas, a.replaced_by, a.expires
        FROM alerts a
        JOIN unnest($1::text[], $2::text[]) AS r (sender, identifier)
          ON a.sender = r.sender AND a.identifier = r.identifier
        ORDER BY a.sent, a.id
        FOR UPDATE OF a
        """,
        list(senders),
        list(identifiers),
    )


async def replace(conn: asyncpg.Connection, *, ids: Sequence[int], by: int, now: datetime) -> list[int]:
    """Mark these alerts as replaced by ``by`` (an Update or a Cancel) unless already replaced; the ids marked."""
    rows = await conn.fetch(
        """
        UPDATE alerts SET replaced_by = $2, replaced_at = $3
        WHERE id = ANY($1::bigint[]) AND replaced_by IS NULL
        RETURNING id
        """,
        list(ids),
        by,
        now,
    )
    return sorted(r["id"] for r in rows)


async def lineage(conn: asyncpg.Connection, ids: Sequence[int]) -> list[int]:
    """These alerts and every alert they replaced before, however far back the chain of Updates goes."""
    if not ids:
        return []
    rows = await conn.fetch(
        """
        WITH RECURSIVE chain (id) AS (
            SELECT unnest($1::bigint[])
            UNION
            SELECT a.id FROM alerts a JOIN chain c ON a.replaced_by = c.id
        )
        SELECT id FROM chain ORDER BY id
        """,
        list(ids),
    )
    return [r["id"] for r in rows]


async def get_alert(conn: asyncpg.Connection, alert_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM alert_rows WHERE id = $1", alert_id)


async def get_cap(conn: asyncpg.Connection, alert_id: int) -> Any:
    """The alert as it was parsed (msgspec's JSON of a CapAlert), for rendering it back as CAP."""
    return await conn.fetchval("SELECT cap FROM alerts WHERE id = $1", alert_id)


async def list_alerts(
    conn: asyncpg.Connection,
    *,
    now: datetime,
    district: str | None,
    in_force: bool | None,
    public_only: bool,
    before_id: int | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Alerts newest first; ``in_force`` True keeps the ones in force at ``now``, False the others."""
    return await conn.fetch(
        """
        SELECT * FROM alert_rows a
        WHERE ($2::text IS NULL OR a.districts @> ARRAY[$2::text])
          AND ($3::bool IS NULL OR (a.replaced_by IS NULL AND a.msg_type <> 'Cancel'
                                    AND (a.expires IS NULL OR a.expires > $1)) = $3)
          AND (NOT $4 OR (a.status = 'Actual' AND a.scope = 'Public'))
          AND ($5::bigint IS NULL OR a.id < $5)
        ORDER BY a.id DESC
        LIMIT $6
        """,
        now,
        district,
        in_force,
        public_only,
        before_id,
        limit,
    )


async def latest_in_force(conn: asyncpg.Connection, *, sender: str, incident: str) -> asyncpg.Record | None:
    """The newest alert from ``sender`` with ``incident`` among its incidents that nothing has replaced."""
    return await conn.fetchrow(
        """
        SELECT sender, identifier, sent FROM alerts
        WHERE sender = $1 AND incidents @> ARRAY[$2::text] AND replaced_by IS NULL AND msg_type <> 'Cancel'
        ORDER BY sent DESC, id DESC
        LIMIT 1
        """,
        sender,
        incident,
    )


async def record_safe(conn: asyncpg.Connection, *, alert_id: int, citizen_id: int, now: datetime) -> None:
    """Keep a citizen's "I'm safe" for an alert; the first one counts."""
    await conn.execute(
        "INSERT INTO alert_responses (alert_id, citizen_id, safe_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        alert_id,
        citizen_id,
        now,
    )
