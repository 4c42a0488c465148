"""Rasa's tracker store, as far as the API looks after it: deleting conversations nobody has continued for a while.

Rasa's SQL tracker store keeps every event of every conversation (``events``: ``sender_id``, ``timestamp`` in
epoch seconds, ``data``) in its own database (``RASA_TRACKER_DB``) on our server, and never deletes one. Rasa
creates that table; this module only deletes from it. A conversation is deleted whole, never its old events
alone: Rasa rebuilds a conversation from its events, and half of one would be a different conversation.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def has_events_table(conn: asyncpg.Connection) -> bool:
    """Whether Rasa has created its ``events`` table here (it does at its first start)."""
    return bool(await conn.fetchval("SELECT to_regclass('public.events') IS NOT NULL"))


async def delete_idle_conversations(conn: asyncpg.Connection, *, idle_since: datetime) -> tuple[int, int]:
    """Delete every event of the conversations last heard before ``idle_since``: (conversations, events)."""
    row = await conn.fetchrow(
        """
        WITH idle AS (
            SELECT sender_id FROM events GROUP BY sender_id HAVING max(timestamp) < $1
        ), gone AS (
            DELETE FROM events e USING idle WHERE e.sender_id = idle.sender_id RETURNING e.sender_id
        )
        SELECT count(DISTINCT sender_id) AS conversations, count(*) AS events FROM gone
        """,
        idle_since.timestamp(),
    )
    return row["conversations"], row["events"]
