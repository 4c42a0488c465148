"""The KakaoTalk chatbot's SQL: links, link codes and the messages the skill was sent (its own tables only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import asyncpg


class NewMessage(NamedTuple):
    user_key: str
    dedupe_key: str | None
    utterance: str
    digest: bytes
    language: str
    handled_by: str
    state: str  # 'pending' (for the bot) or 'answered' (answered here)
    reply: dict[str, Any] | None
    asks_yes_no: bool
    in_care: bool
    callback_url: str | None
    received_at: datetime


async def lock_user(conn: asyncpg.Connection, user_key: str) -> None:
    """Serialise one Kakao user's messages (until the transaction ends), so a retry is always seen as one."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('kakao:' || $1, 0))", user_key)


async def find_retry(
    conn: asyncpg.Connection, *, user_key: str, dedupe_key: str | None, digest: bytes, since: datetime
) -> int | None:
    """The message a request repeats: the same callbackUrl, or the user's last message if it said the same lately."""
    if dedupe_key is not None:
        found = await conn.fetchval("SELECT id FROM kakao_messages WHERE dedupe_key = $1", dedupe_key)
        if found is not None:
            return found
    return await conn.fetchval(
        """
        SELECT id FROM (
            SELECT id, digest, received_at FROM kakao_messages WHERE user_key = $1
            ORDER BY received_at DESC, id DESC LIMIT 1
        ) last
        WHERE digest = $2 AND received_at >= $3
        """,
        user_key,
        digest,
        since,
    )


async def last_message(conn: asyncpg.Connection, user_key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, asks_yes_no, received_at FROM kakao_messages WHERE user_key = $1 "
        "ORDER BY received_at DESC, id DESC LIMIT 1",
        user_key,
    )


async def insert_message(conn: asyncpg.Connection, message: NewMessage) -> int:
    return await conn.fetchval(
        """
        INSERT INTO kakao_messages (user_key, dedupe_key, utterance, digest, language, handled_by, state, reply,
                                    asks_yes_no, in_care, callback_url, received_at, answered_at, delivery)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                CASE WHEN $7 = 'answered' THEN $12::timestamptz END, CASE WHEN $7 = 'answered' THEN 'response' END)
        RETURNING id
        """,
        *message,
    )


async def claim(
    conn: asyncpg.Connection, *, message_id: int, now: datetime, lease_expired_before: datetime
) -> asyncpg.Record | None:
    """Take a message for the bot (or one whose forwarder died); None when another has it or it is answered."""
    return await conn.fetchrow(
        """
        UPDATE kakao_messages SET state = 'forwarding', attempts = attempts + 1, claimed_at = $2
        WHERE id = $1 AND (state = 'pending' OR (state = 'forwarding' AND claimed_at < $3))
        RETURNING id, user_key, utterance, language, in_care, attempts, claimed_at
        """,
        message_id,
        now,
        lease_expired_before,
    )


async def finish(
    conn: asyncpg.Connection,
    *,
    message_id: int,
    state: str,
    reply: dict[str, Any],
    asks_yes_no: bool,
    claimed_at: datetime,
    now: datetime,
) -> bool:
    """Record the bot's answer, if the claim is still ours."""
    status = await conn.execute(
        """
        UPDATE kakao_messages SET state = $2, reply = $3, asks_yes_no = $4, answered_at = $6
        WHERE id = $1 AND state = 'forwarding' AND claimed_at = $5
        """,
        message_id,
        state,
        reply,
        asks_yes_no,
        claimed_at,
        now,
    )
    return status == "UPDATE 1"


async def answer_of(conn: asyncpg.Connection, message_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT state, reply, language, in_care, callback_url FROM kakao_messages WHERE id = $1", message_id
    )


async def set_delivery(conn: asyncpg.Connection, *, message_id: int, delivery: str) -> None:
    await conn.execute("UPDATE kakao_messages SET delivery = $2 WHERE id = $1", message_id, delivery)


async def count_recent(conn: asyncpg.Connection, *, user_key: str, handled_by: str, since: datetime) -> int:
    """How many of a user's messages since ``since`` were handled so (wrong codes, codes asked for)."""
    return await conn.fetchval(
        "SELECT count(*) FROM kakao_messages WHERE user_key = $1 AND handled_by = $2 AND received_at >= $3",
        user_key,
        handled_by,
        since,
    )


async def link_of(conn: asyncpg.Connection, user_key: str) -> str | None:
    """The phone a Kakao user is linked to, or None."""
    return await conn.fetchval("SELECT phone FROM kakao_links WHERE user_key = $1", user_key)


async def upsert_link(conn: asyncpg.Connection, *, user_key: str, phone: str, via: str, now: datetime) -> None:
    await conn.execute(
        """
        INSERT INTO kakao_links (user_key, phone, via, linked_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (user_key) DO UPDATE SET phone = EXCLUDED.phone, via = EXCLUDED.via, linked_at = EXCLUDED.linked_at
        """,
        user_key,
        phone,
        via,
        now,
    )


async def delete_link(conn: asyncpg.Connection, user_key: str) -> None:
    await conn.execute("DELETE FROM kakao_links WHERE user_key = $1", user_key)


async def delete_links_of_phone(conn: asyncpg.Connection, phone: str) -> int:
    status = await conn.execute("DELETE FROM kakao_links WHERE phone = $1", phone)
    return int(status.split()[-1])


async def count_codes(
    conn: asyncpg.Connection, *, user_key: str | None, phone: str | None, purpose: str, since: datetime
) -> int:
    """Codes of ``purpose`` made since ``since`` for this Kakao user or for this phone."""
    return await conn.fetchval(
        """
        SELECT count(*) FROM kakao_link_codes
        WHERE purpose = $4 AND created_at >= $3 AND (user_key = $1 OR phone = $2)
        """,
        user_key,
        phone,
        since,
        purpose,
    )


async def insert_code(
    conn: asyncpg.Connection,
    *,
    purpose: str,
    user_key: str | None,
    phone: str,
    code_hash: bytes,
    expires_at: datetime,
    now: datetime,
) -> bool:
    """A new code, the earlier ones of its user (sms) or phone (app) retired; False if an app code's hash is taken."""
    if purpose == "sms":
        await conn.execute(
            "UPDATE kakao_link_codes SET used_at = $2 WHERE user_key = $1 AND used_at IS NULL", user_key, now
        )
    else:
        await conn.execute(
            "UPDATE kakao_link_codes SET used_at = $2 WHERE purpose = 'app' AND phone = $1 AND used_at IS NULL",
            phone,
            now,
        )
    inserted = await conn.fetchval(
        """
        INSERT INTO kakao_link_codes (purpose, user_key, phone, code_hash, expires_at, created_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (code_hash) WHERE purpose = 'app' AND used_at IS NULL DO NOTHING
        RETURNING id
        """,
        purpose,
        user_key,
        phone,
        code_hash,
        expires_at,
        now,
    )
    return inserted is not None


async def open_sms_code(conn: asyncpg.Connection, user_key: str) -> asyncpg.Record | None:
    """The Kakao user's live SMS code, locked: the latest one not used."""
    return await conn.fetchrow(
        """
        SELECT id, phone, code_hash, attempts, expires_at FROM kakao_link_codes
        WHERE purpose = 'sms' AND user_key = $1 AND used_at IS NULL
        ORDER BY created_at DESC LIMIT 1 FOR UPDATE
        """,
        user_key,
    )


async def open_app_code(conn: asyncpg.Connection, code_hash: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT id, phone, expires_at FROM kakao_link_codes
        WHERE purpose = 'app' AND code_hash = $1 AND used_at IS NULL FOR UPDATE
        """,
        code_hash,
    )


async def failed_attempt(conn: asyncpg.Connection, code_id: int) -> int:
    return await conn.fetchval(
        "UPDATE kakao_link_codes SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts", code_id
    )


async def use_code(conn: asyncpg.Connection, *, code_id: int, now: datetime) -> None:
    await conn.execute("UPDATE kakao_link_codes SET used_at = $2 WHERE id = $1", code_id, now)
