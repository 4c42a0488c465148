"""SQL for calls: the delivery a call is for, the call's state, each of its webhooks once, and its result."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg


async def call_delivery(
    conn: asyncpg.Connection, *, outbox_id: int, call_sid: str, to: str | None
) -> asyncpg.Record | None:
    """The voice delivery a webhook names (``?outbox=``), if it is this call's: it has the call's sid, or none yet
    (the dispatcher records it after the whole batch is placed) and the number the call went to."""
    return await conn.fetchrow(
        """
        SELECT id, recipient, body, language, data, state, provider_id, template FROM outbox
        WHERE id = $1 AND channel = 'voice'
          AND (provider_id = $2 OR (provider_id IS NULL AND recipient = $3))
        """,
        outbox_id,
        call_sid,
        to,
    )


async def lock_call(
    conn: asyncpg.Connection, *, call_sid: str, outbox_id: int, phone: str, purpose: str, status: str, now: datetime
) -> asyncpg.Record:
    """The call's row, made by its first webhook, locked until the transaction ends.

    It references its delivery by (id, created_at), the outbox's key: the outbox is partitioned by month.
    """
    await conn.execute(
        """
        INSERT INTO voice_calls (call_sid, outbox_id, outbox_created_at, phone, purpose, status, created_at,
                                 updated_at)
        SELECT $1, o.id, o.created_at, $3, $4, $5, $6, $6 FROM outbox o WHERE o.id = $2
        ON CONFLICT (call_sid) DO NOTHING
        """,
        call_sid,
        outbox_id,
        phone,
        purpose,
        status,
        now,
    )
    return await conn.fetchrow("SELECT * FROM voice_calls WHERE call_sid = $1 FOR UPDATE", call_sid)


async def record_event(
    conn: asyncpg.Connection, *, call_sid: str, kind: str, seq: int, status: str, detail: str | None, now: datetime
) -> bool:
    """Keep one webhook of a call; False when it came before (a replay)."""
    inserted = await conn.fetchval(
        """
        INSERT INTO voice_call_events (call_sid, kind, seq, status, detail, at) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT DO NOTHING RETURNING true
        """,
        call_sid,
        kind,
        seq,
        status,
        detail[:500] if detail else None,
        now,
    )
    return bool(inserted)


async def event_detail(conn: asyncpg.Connection, *, call_sid: str, kind: str, seq: int) -> str | None:
    return await conn.fetchval(
        "SELECT detail FROM voice_call_events WHERE call_sid = $1 AND kind = $2 AND seq = $3", call_sid, kind, seq
    )


async def set_event_detail(conn: asyncpg.Connection, *, call_sid: str, kind: str, seq: int, detail: str) -> None:
    await conn.execute(
        "UPDATE voice_call_events SET detail = $4 WHERE call_sid = $1 AND kind = $2 AND seq = $3",
        call_sid,
        kind,
        seq,
        detail[:500],
    )


async def update_call(
    conn: asyncpg.Connection,
    *,
    call_sid: str,
    now: datetime,
    status: str | None = None,
    answered_by: str | None = None,
    rounds: int | None = None,
    result: str | None = None,
    ended: bool = False,
) -> None:
    """Change what is given; a result, once set, stays."""
    await conn.execute(
        """
        UPDATE voice_calls
        SET status = coalesce($2, status), answered_by = coalesce($3, answered_by), rounds = coalesce($4, rounds),
            result = coalesce(result, $5), ended_at = CASE WHEN $6 THEN coalesce(ended_at, $7) ELSE ended_at END,
            updated_at = $7
        WHERE call_sid = $1
        """,
        call_sid,
        status,
        answered_by,
        rounds,
        result,
        ended,
        now,
    )


async def finish_delivery(
    conn: asyncpg.Connection, *, outbox_id: int, call_sid: str, state: str, error: str | None, now: datetime
) -> None:
    """A call's end as its delivery's result: ``delivered`` when a person took it, else ``failed`` and why.

    A delivery still ``sending`` (its batch not yet recorded) takes the sid here; the batch then records nothing
    over it.
    """
    await conn.execute(
        """
        UPDATE outbox
        SET state = $3, last_error = $4, provider_id = coalesce(provider_id, $2), lease_until = NULL,
            sent_at = coalesce(sent_at, $5),
            delivered_at = CASE WHEN $3 = 'delivered' THEN coalesce(delivered_at, $5) ELSE delivered_at END,
            updated_at = $5
        WHERE id = $1 AND channel = 'voice' AND state IN ('sending', 'sent', 'delivered', 'failed', 'unknown')
        """,
        outbox_id,
        call_sid,
        state,
        error,
        now,
    )


async def calls_for(conn: asyncpg.Connection, outbox_ids: Sequence[int]) -> list[asyncpg.Record]:
    """The calls placed for these deliveries, oldest first: what came of each."""
    return await conn.fetch(
        """
        SELECT outbox_id, call_sid, phone, purpose, status, answered_by, rounds, result, created_at, ended_at
        FROM voice_calls WHERE outbox_id = ANY($1::int8[]) ORDER BY created_at, call_sid
        """,
        list(outbox_ids),
    )
