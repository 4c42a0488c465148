"""The chat side's SQL: who is talking to the bot, and the texts waiting for it (who a sender is comes from
accounts and care)."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def heard_from(conn: asyncpg.Connection, *, sender: str, at: datetime) -> None:
    """Note that ``sender`` said something to the bot at ``at`` (a late, out-of-order note never moves it back)."""
    await conn.execute(
        """
        INSERT INTO chat_conversations (sender, last_seen_at) VALUES ($1, $2)
        ON CONFLICT (sender) DO UPDATE
        SET last_seen_at = GREATEST(chat_conversations.last_seen_at, EXCLUDED.last_seen_at)
        """,
        sender,
        at,
    )


async def last_heard(conn: asyncpg.Connection, sender: str) -> datetime | None:
    return await conn.fetchval("SELECT last_seen_at FROM chat_conversations WHERE sender = $1", sender)


async def queue_inbound(
    conn: asyncpg.Connection, *, message_sid: str, phone: str, body: str, language: str, received_at: datetime
) -> None:
    await conn.execute(
        """
        INSERT INTO chat_inbound (message_sid, phone, body, language, received_at) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (message_sid) DO NOTHING
        """,
        message_sid,
        phone,
        body,
        language,
        received_at,
    )


async def claim_inbound(
    conn: asyncpg.Connection, *, message_sid: str, now: datetime, lease_expired_before: datetime
) -> asyncpg.Record | None:
    """Take a waiting text for forwarding (or one whose forwarder died); None when another has it or it is done."""
    return await conn.fetchrow(
        """
        UPDATE chat_inbound SET state = 'forwarding', attempts = attempts + 1, claimed_at = $2
        WHERE message_sid = $1
          AND (state = 'pending' OR (state = 'forwarding' AND claimed_at < $3))
        RETURNING message_sid, phone, body, language, attempts, claimed_at
        """,
        message_sid,
        now,
        lease_expired_before,
    )


async def finish_inbound(
    conn: asyncpg.Connection, *, message_sid: str, state: str, claimed_at: datetime, now: datetime
) -> bool:
    """Record the outcome, if the claim is still ours (a lease that ran out may have passed it on)."""
    status = await conn.execute(
        """
        UPDATE chat_inbound SET state = $2, done_at = $4
        WHERE message_sid = $1 AND state = 'forwarding' AND claimed_at = $3
        """,
        message_sid,
        state,
        claimed_at,
        now,
    )
    return status == "UPDATE 1"


async def due_inbound(
    conn: asyncpg.Connection, *, waiting_before: datetime, lease_expired_before: datetime, limit: int
) -> list[str]:
    """Texts the fast path has not answered: pending for a while, or claimed by a forwarder that died."""
    rows = await conn.fetch(
        """
        SELECT message_sid FROM chat_inbound
        WHERE (state = 'pending' AND received_at < $1) OR (state = 'forwarding' AND claimed_at < $2)
        ORDER BY received_at
        LIMIT $3
        """,
        waiting_before,
        lease_expired_before,
        limit,
    )
    return [r["message_sid"] for r in rows]
