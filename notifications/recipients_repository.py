"""SQL for the people messages go to: their contacts and devices, SMS opt-outs, and SMS they sent us.

Notifications owns sms_opt_outs, sms_inbound and the devices' topic columns (subscribed_topics, topic_pending,
added by its migration). The people are accounts' citizens and devices, read here for their phone, language,
district, tokens and places' dongs (citizen_places) because notifications is a floor below accounts and cannot
call its service; the one write to them is ``forget_device_tokens``, when FCM says a token is gone for good.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg


async def citizen_contact(conn: asyncpg.Connection, citizen_id: int) -> asyncpg.Record | None:
    """A citizen's phone, language and device tokens."""
    return await conn.fetchrow(
        """
        SELECT c.id, c.phone, c.language,
               coalesce(array_agg(d.id ORDER BY d.id) FILTER (WHERE d.id IS NOT NULL), '{}') AS device_ids,
               coalesce(array_agg(d.fcm_token ORDER BY d.id) FILTER (WHERE d.id IS NOT NULL), '{}') AS tokens
        FROM citizens c LEFT JOIN devices d ON d.citizen_id = c.id
        WHERE c.id = $1
        GROUP BY c.id
        """,
        citizen_id,
    )


async def devices_of(conn: asyncpg.Connection, citizen_ids: Sequence[int]) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT citizen_id, id, fcm_token FROM devices WHERE citizen_id = ANY($1::int8[]) ORDER BY id",
        list(citizen_ids),
    )


async def opted_out(conn: asyncpg.Connection, phones: Sequence[str]) -> set[str]:
    rows = await conn.fetch("SELECT phone FROM sms_opt_outs WHERE phone = ANY($1::text[])", list(phones))
    return {r["phone"] for r in rows}


async def forget_device_tokens(conn: asyncpg.Connection, tokens: Sequence[str]) -> int:
    """Remove devices whose tokens FCM says are gone; their later messages go by SMS."""
    status = await conn.execute("DELETE FROM devices WHERE fcm_token = ANY($1::text[])", list(tokens))
    return int(status.split()[-1])


async def opt_out(conn: asyncpg.Connection, *, phone: str, keyword: str, source: str, now: datetime) -> bool:
    """Record an opt-out; False when the number had opted out already."""
    status = await conn.execute(
        """
        INSERT INTO sms_opt_outs (phone, keyword, source, opted_out_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (phone) DO NOTHING
        """,
        phone,
        keyword,
        source,
        now,
    )
    return status == "INSERT 0 1"


async def opt_out_many(conn: asyncpg.Connection, *, phones: Sequence[str], source: str, now: datetime) -> None:
    await conn.execute(
        """
        INSERT INTO sms_opt_outs (phone, keyword, source, opted_out_at)
        SELECT p, 'provider 21610', $2, $3 FROM unnest($1::text[]) AS p
        ON CONFLICT (phone) DO NOTHING
        """,
        list(phones),
        source,
        now,
    )


async def opt_in(conn: asyncpg.Connection, *, phone: str) -> bool:
    status = await conn.execute("DELETE FROM sms_opt_outs WHERE phone = $1", phone)
    return status == "DELETE 1"


async def insert_inbound(
    conn: asyncpg.Connection, *, message_sid: str, phone: str, body: str, handled_by: str, now: datetime
) -> bool:
    """Keep an inbound SMS; False when Twilio sent this one before (a webhook retry)."""
    status = await conn.execute(
        """
        INSERT INTO sms_inbound (message_sid, phone, body, handled_by, received_at) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (message_sid) DO NOTHING
        """,
        message_sid,
        phone,
        body,
        handled_by,
        now,
    )
    return status == "INSERT 0 1"


async def set_inbound_handler(conn: asyncpg.Connection, *, message_sid: str, handled_by: str) -> None:
    await conn.execute("UPDATE sms_inbound SET handled_by = $2 WHERE message_sid = $1", message_sid, handled_by)


# The topics a device should hear: its citizen's district's, and the dong of each of their places, in order.
_WANTED_TOPICS = """
    ARRAY(SELECT t FROM (SELECT 'district-' || c.district AS t WHERE c.district IS NOT NULL
                         UNION SELECT 'dong-' || p.dong FROM citizen_places p WHERE p.citizen_id = c.id) s
          ORDER BY t)
"""


async def pending_topic_devices(conn: asyncpg.Connection, *, limit: int) -> list[asyncpg.Record]:
    """Devices whose topics must change: id, token, the topics subscribed to and the ones wanted (sorted)."""
    return await conn.fetch(
        f"""
        SELECT d.id, d.fcm_token, d.subscribed_topics AS subscribed, {_WANTED_TOPICS} AS wanted
        FROM devices d JOIN citizens c ON c.id = d.citizen_id
        WHERE d.topic_pending
        ORDER BY d.id LIMIT $1
        """,  # noqa: S608
        limit,
    )


async def topics_synced(conn: asyncpg.Connection, *, ids: Sequence[int], topics: Sequence[Sequence[str]]) -> None:
    """These devices are on these topics now (sorted); settled unless they are not all that is wanted (a call
    failed, or the citizen's district or places changed since), in which case they stay pending for the next
    pass, which starts from what is recorded here."""
    await conn.execute(
        f"""
        UPDATE devices d SET subscribed_topics = string_to_array(u.topics, ' '),
            topic_pending = {_WANTED_TOPICS} IS DISTINCT FROM string_to_array(u.topics, ' ')
        FROM unnest($1::int8[], $2::text[]) AS u(id, topics), citizens c
        WHERE d.id = u.id AND c.id = d.citizen_id
        """,  # noqa: S608
        list(ids),
        [" ".join(sorted(t)) for t in topics],
    )


async def purge_inbound(conn: asyncpg.Connection, *, before: datetime) -> int:
    status = await conn.execute("DELETE FROM sms_inbound WHERE received_at < $1", before)
    return int(status.split()[-1])
