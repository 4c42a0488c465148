"""SQL for notices and the outbox: enqueueing, claiming, results, receipts (operators' views: deliveries_repository)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, NamedTuple, get_type_hints

import asyncpg

from api.platform.geo import PRECISE_SCALE


class OutboxRow(NamedTuple):
    """One delivery as ``insert_rows`` writes it: each field is an outbox column, with its SQL type beside it."""

    channel: Annotated[str, "text"]
    recipient: Annotated[str, "text"]
    topic: Annotated[bool, "bool"]
    citizen_id: Annotated[int | None, "int8"]
    device_id: Annotated[int | None, "int8"]
    language: Annotated[str, "text"]
    title: Annotated[str | None, "text"]
    body: Annotated[str, "text"]
    data: Annotated[dict[str, str], "jsonb"]
    fallback: Annotated[bool, "bool"]
    state: Annotated[str, "text"]
    next_attempt_at: Annotated[datetime, "timestamptz"]
    last_error: Annotated[str | None, "text"]
    notice_id: Annotated[int, "int8"]
    template: Annotated[str, "text"]
    priority: Annotated[int, "int2"]
    critical: Annotated[bool, "bool"]
    overrides_opt_out: Annotated[bool, "bool"]
    max_attempts: Annotated[int, "int4"]


ROW_COLUMNS = OutboxRow._fields


def _insert_rows_sql() -> str:
    # Written out from OutboxRow's own fields, once at import and never from input, so that the column list and the
    # unnest arrays cannot fall out of step with the rows.
    types = get_type_hints(OutboxRow, include_extras=True)
    arrays = ", ".join(f"${i}::{types[name].__metadata__[0]}[]" for i, name in enumerate(ROW_COLUMNS, start=1))
    now = f"${len(ROW_COLUMNS) + 1}"
    return (
        f"INSERT INTO outbox ({', '.join(ROW_COLUMNS)}, created_at, updated_at)"  # noqa: S608
        f" SELECT u.*, {now}, {now} FROM unnest({arrays}) AS u"
    )


_INSERT_ROWS = _insert_rows_sql()


async def insert_notice(
    conn: asyncpg.Connection, *, dedupe_key: str | None, template: str, now: datetime
) -> int | None:
    """A new notice's id, or None when one with this dedupe key exists already."""
    return await conn.fetchval(
        """
        INSERT INTO notices (dedupe_key, template, created_at) VALUES ($1, $2, $3)
        ON CONFLICT (dedupe_key) DO NOTHING RETURNING id
        """,
        dedupe_key,
        template,
        now,
    )


async def notice_by_key(conn: asyncpg.Connection, dedupe_key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT n.id, (SELECT count(*) FROM outbox o WHERE o.notice_id = n.id) AS deliveries"
        " FROM notices n WHERE n.dedupe_key = $1",
        dedupe_key,
    )


async def insert_notices(
    conn: asyncpg.Connection, *, dedupe_keys: Sequence[str], templates: Sequence[str], now: datetime
) -> dict[str, int]:
    """Insert notices by key in one statement; the ids of those that are new, by key."""
    rows = await conn.fetch(
        """
        INSERT INTO notices (dedupe_key, template, created_at)
        SELECT k, t, $3 FROM unnest($1::text[], $2::text[]) AS u(k, t)
        ON CONFLICT (dedupe_key) DO NOTHING
        RETURNING id, dedupe_key
        """,
        list(dedupe_keys),
        list(templates),
        now,
    )
    return {r["dedupe_key"]: r["id"] for r in rows}


async def insert_rows(conn: asyncpg.Connection, *, rows: Sequence[OutboxRow], now: datetime) -> int:
    """Insert deliveries of many notices in one statement, as one array per column."""
    if not rows:
        return 0
    if not all(type(row) is OutboxRow for row in rows):
        raise TypeError("insert_rows takes OutboxRow rows, built by name")
    columns = [list(c) for c in zip(*rows, strict=True)]
    status = await conn.execute(_INSERT_ROWS, *columns, now)
    return int(status.split()[-1])


# The INSERT … SELECT of a fan-out: {people} is a subquery of (channel, recipient, citizen_id, device_id, language,
# district), and each row takes its district's texts (x) and its opt-out (o). $1–$14 are the same for all: $6 is
# the rows' creation, $14 when they are first due.
_FAN_OUT = """
    INSERT INTO outbox (notice_id, channel, recipient, citizen_id, device_id, template, language, title, body,
                        data, priority, max_attempts, state, last_error, created_at, updated_at, next_attempt_at)
    SELECT $1, t.channel, t.recipient, t.citizen_id, t.device_id, $2, t.language,
           CASE WHEN t.channel = 'push' THEN CASE t.language WHEN 'en' THEN x.en_title ELSE x.ko_title END END,
           CASE WHEN t.channel = 'sms' THEN CASE t.language WHEN 'en' THEN x.en_sms ELSE x.ko_sms END
                ELSE CASE t.language WHEN 'en' THEN x.en_body ELSE x.ko_body END END,
           $3, $4, $5,
           CASE WHEN o.phone IS NULL THEN 'pending' ELSE 'suppressed' END,
           CASE WHEN o.phone IS NULL THEN NULL ELSE 'opted out by SMS' END,
           $6, $6, $14
    FROM ({people}) t
    JOIN unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
         AS x (district, ko_title, ko_body, ko_sms, en_title, en_body, en_sms) ON x.district = t.district
    LEFT JOIN sms_opt_outs o ON t.channel = 'sms' AND o.phone = t.recipient
"""

# Every citizen of the districts ($15): a push per device (unless $16 is false), else an SMS.
_IN_DISTRICTS = """
    SELECT 'push' AS channel, d.fcm_token AS recipient, c.id AS citizen_id, d.id AS device_id, c.language,
           c.district
    FROM citizens c JOIN devices d ON d.citizen_id = c.id
    WHERE c.district = ANY($15::text[]) AND $16
    UNION ALL
    SELECT 'sms', c.phone, c.id, NULL, c.language, c.district
    FROM citizens c
    WHERE c.district = ANY($15::text[]) AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.citizen_id = c.id)
"""

# Every citizen with a place in one of the polygons ($15, and $19 the same scaled by geo.PRECISE_SCALE: the first
# test uses the index, the second is exact), or given only as a dong of $16, once each however
# many of their places are in, unless their district is one of $17 (told as a whole already): a push per
# device not subscribed to a topic of $18 (told by that topic), else an SMS, with the texts of the district of
# their first place in.
_AT_PLACES = f"""
    WITH hit AS (
        SELECT p.citizen_id, p.district, p.id
        FROM citizen_places p JOIN unnest($15::text[], $19::text[]) AS g (shape, precise)
             ON p.location <@ g.shape::polygon
            AND point(p.lon * {PRECISE_SCALE}, p.lat * {PRECISE_SCALE}) <@ g.precise::polygon
        UNION ALL
        SELECT p.citizen_id, p.district, p.id
        FROM citizen_places p WHERE p.location IS NULL AND p.dong = ANY($16::text[])
    ), person AS (
        SELECT DISTINCT ON (h.citizen_id) c.id, c.phone, c.language, h.district
        FROM hit h JOIN citizens c ON c.id = h.citizen_id
        WHERE c.district IS NULL OR NOT c.district = ANY($17::text[])
        ORDER BY h.citizen_id, h.id
    )
    SELECT 'push' AS channel, d.fcm_token AS recipient, p.id AS citizen_id, d.id AS device_id, p.language,
           p.district
    FROM person p JOIN devices d ON d.citizen_id = p.id
    WHERE NOT d.subscribed_topics && $18::text[]
    UNION ALL
    SELECT 'sms', p.phone, p.id, NULL, p.language, p.district
    FROM person p WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.citizen_id = p.id)
"""  # noqa: S608


class FanOut(NamedTuple):
    """What every row of one fan-out shares: ``texts`` maps each district to language → (title, body, sms_body),
    so that one statement can tell each district something of its own (its nearest shelter, say)."""

    notice_id: int
    template: str
    texts: Mapping[str, Mapping[str, tuple[str | None, str, str]]]
    data: dict[str, str]
    priority: int
    max_attempts: int
    now: datetime
    due: datetime  # when the rows are first due: ``now``, or just after it for rows to leave behind others


async def fan_out_to_districts(
    conn: asyncpg.Connection, fan: FanOut, *, districts: Sequence[str], to_devices: bool = True
) -> int:
    """One push per device of every citizen in the districts, and an SMS to each such citizen without a device.

    With ``to_devices`` false, only the SMS. Opted-out numbers are recorded as suppressed.

    The statements here that read accounts' tables (citizens: id, phone, language, district; devices: id,
    citizen_id, fcm_token; citizen_places: citizen_id, district, dong, location), and on purpose: a city-wide
    warning is a few hundred thousand rows that should never leave the server, so the read and the write are
    one INSERT … SELECT, and it lives with what it writes (the outbox, its states, the opt-outs), not in
    accounts, which must not write the outbox. Notifications is a floor below accounts and cannot call its
    service; these columns are the contract, read-only.
    """
    return await _fan_out(conn, fan, _IN_DISTRICTS, sorted(set(districts)), to_devices)


async def fan_out_to_places(
    conn: asyncpg.Connection,
    fan: FanOut,
    *,
    polygons: Sequence[str],
    precise: Sequence[str],
    dongs: Sequence[str],
    except_districts: Sequence[str],
    except_topics: Sequence[str] = (),
) -> int:
    """A push per device, else an SMS, to every citizen with a place inside the polygons (PostgreSQL polygon text,
    and ``precise`` the same scaled by ``geo.PRECISE_SCALE``), or a place given as
    one of the dongs), once each, leaving out those whose district is told as a whole and the devices subscribed
    to one of ``except_topics`` (told by the topic)."""
    return await _fan_out(
        conn, fan, _AT_PLACES, list(polygons), list(dongs), list(except_districts), list(except_topics), list(precise)
    )


async def _fan_out(conn: asyncpg.Connection, fan: FanOut, people: str, *args: object) -> int:
    districts = sorted(fan.texts)
    texts = fan.texts
    status = await conn.execute(
        _FAN_OUT.format(people=people),
        fan.notice_id,
        fan.template,
        fan.data,
        fan.priority,
        fan.max_attempts,
        fan.now,
        districts,
        [texts[d]["ko"][0] for d in districts],
        [texts[d]["ko"][1] for d in districts],
        [texts[d]["ko"][2] for d in districts],
        [texts[d]["en"][0] for d in districts],
        [texts[d]["en"][1] for d in districts],
        [texts[d]["en"][2] for d in districts],
        fan.due,
        *args,
    )
    return int(status.split()[-1])


async def claim(
    conn: asyncpg.Connection, *, channel: str, limit: int, now: datetime, lease_until: datetime
) -> list[asyncpg.Record]:
    """Take up to ``limit`` due rows of one channel, urgent first, leased until ``lease_until``.

    ``SKIP LOCKED`` lets several dispatchers claim side by side; a row is claimed by one of them only,
    since the claim commits the row as ``sending`` before anything is sent. The outbox is partitioned by month of
    ``created_at``: the due rows come from each partition's partial index, merged in order, and are updated by
    their whole key, so each update touches its own partition only.
    """
    return await conn.fetch(
        """
        WITH due AS (
            SELECT id, created_at FROM outbox
            WHERE state = 'pending' AND channel = $1 AND next_attempt_at <= $3
            ORDER BY priority, next_attempt_at, id
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        )
        UPDATE outbox o
        SET state = 'sending', attempts = o.attempts + 1, lease_until = $4, updated_at = $3
        FROM due WHERE o.id = due.id AND o.created_at = due.created_at
        RETURNING o.id, o.notice_id, o.channel, o.recipient, o.topic, o.citizen_id, o.device_id, o.title,
                  o.body, o.data, o.priority, o.critical, o.overrides_opt_out, o.attempts, o.max_attempts,
                  o.unknown_since, o.template
        """,
        channel,
        limit,
        now,
        lease_until,
    )


async def cancel(conn: asyncpg.Connection, *, dedupe_keys: Sequence[str], reason: str, now: datetime) -> int:
    """Cancel what is still to go of these notices: waiting rows, and rows a dispatcher claimed but has not sent.

    A claimed row cancelled here is dropped by its dispatcher's last look before the provider call
    (``still_claimed``), and its result is never recorded over the cancellation.
    """
    status = await conn.execute(
        """
        UPDATE outbox o SET state = 'cancelled', last_error = $2, lease_until = NULL, updated_at = $3
        FROM notices n
        WHERE n.dedupe_key = ANY($1::text[]) AND o.notice_id = n.id AND o.state IN ('pending', 'sending')
        """,
        list(dedupe_keys),
        reason,
        now,
    )
    return int(status.split()[-1])


async def still_claimed(conn: asyncpg.Connection, *, ids: Sequence[int], attempts: Sequence[int]) -> set[int]:
    """Which of these claimed rows this dispatcher still holds (same attempt, still sending): not cancelled since."""
    rows = await conn.fetch(
        """
        SELECT o.id FROM outbox o JOIN unnest($1::int8[], $2::int4[]) AS r(id, attempts) ON o.id = r.id
        WHERE o.attempts = r.attempts AND o.state = 'sending'
        """,
        list(ids),
        list(attempts),
    )
    return {r["id"] for r in rows}


async def renew_lease(
    conn: asyncpg.Connection, *, ids: Sequence[int], attempts: Sequence[int], lease_until: datetime
) -> int:
    """Extend the lease of rows this dispatcher still holds (same attempt, still sending)."""
    status = await conn.execute(
        """
        UPDATE outbox o SET lease_until = $3
        FROM unnest($1::int8[], $2::int4[]) AS r(id, attempts)
        WHERE o.id = r.id AND o.attempts = r.attempts AND o.state = 'sending'
        """,
        list(ids),
        list(attempts),
        lease_until,
    )
    return int(status.split()[-1])


async def reclaim_expired(conn: asyncpg.Connection, *, now: datetime) -> int:
    """Rows whose dispatcher died mid-send become due again, or end when out of attempts.

    The provider may have had such a row already, so its outcome is unknown from the claim on (``updated_at``): it
    is tried once more at most, an SMS looked up first. One that was unknown before ends as ``unknown``.
    """
    status = await conn.execute(
        """
        UPDATE outbox
        SET state = CASE WHEN unknown_since IS NOT NULL THEN 'unknown'
                         WHEN attempts >= max_attempts THEN 'unknown'
                         ELSE 'pending' END,
            unknown_since = coalesce(unknown_since, updated_at),
            next_attempt_at = $1, lease_until = NULL, updated_at = $1,
            last_error = 'the dispatcher stopped before recording a result'
        WHERE state = 'sending' AND lease_until < $1
        """,
        now,
    )
    return int(status.split()[-1])


async def record_results(
    conn: asyncpg.Connection,
    *,
    now: datetime,
    ids: Sequence[int],
    attempts: Sequence[int],
    states: Sequence[str],
    provider_ids: Sequence[str | None],
    errors: Sequence[str | None],
    next_attempts: Sequence[datetime],
    refund: Sequence[bool],
    unknown_since: Sequence[datetime | None],
) -> int:
    """Record what happened to claimed rows; a row re-claimed by another dispatcher since is left alone.

    ``refund`` gives back the attempt, for rows put back unsent because the provider was down. ``unknown_since``
    marks the start of an attempt whose outcome is unknown; once set it stays.
    """
    status = await conn.execute(
        """
        UPDATE outbox o
        SET state = r.state, provider_id = coalesce(r.provider_id, o.provider_id), last_error = r.error,
            next_attempt_at = r.next_attempt_at, lease_until = NULL, updated_at = $1,
            attempts = o.attempts - CASE WHEN r.refund THEN 1 ELSE 0 END,
            sent_at = CASE WHEN r.state = 'sent' THEN $1 ELSE o.sent_at END,
            unknown_since = coalesce(o.unknown_since, r.unknown_since)
        FROM unnest($2::int8[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::bool[],
                    $9::timestamptz[])
             AS r(id, attempts, state, provider_id, error, next_attempt_at, refund, unknown_since)
        WHERE o.id = r.id AND o.state = 'sending' AND o.attempts = r.attempts
        """,
        now,
        list(ids),
        list(attempts),
        list(states),
        list(provider_ids),
        list(errors),
        list(next_attempts),
        list(refund),
        list(unknown_since),
    )
    return int(status.split()[-1])


async def provider_ids_to(
    conn: asyncpg.Connection, *, recipients: Sequence[str], since: datetime
) -> dict[str, frozenset[str]]:
    """The provider ids recorded for SMS to these numbers, updated since ``since``: messages already accounted for."""
    rows = await conn.fetch(
        """
        SELECT recipient, array_agg(provider_id) AS ids FROM outbox
        WHERE channel = 'sms' AND recipient = ANY($1::text[]) AND provider_id IS NOT NULL AND updated_at >= $2
        GROUP BY recipient
        """,
        list(recipients),
        since,
    )
    return {r["recipient"]: frozenset(r["ids"]) for r in rows}


async def adopt_provider_id(
    conn: asyncpg.Connection, *, outbox_id: int, provider_id: str, recipient: str, now: datetime
) -> bool:
    """Give an SMS whose send went unanswered the sid a status callback names it by: Twilio has it, so it is sent.

    Only a row with no sid of its own, still waiting, in flight, or ended without knowing, and only to the number
    the callback names; the attempt in flight, if any, then records nothing (its row is no longer ``sending``).
    """
    status = await conn.execute(
        """
        UPDATE outbox
        SET provider_id = $2, state = 'sent', sent_at = coalesce(sent_at, $4), lease_until = NULL, updated_at = $4,
            last_error = 'the provider had it: its status callback named this delivery'
        WHERE id = $1 AND channel = 'sms' AND recipient = $3 AND provider_id IS NULL
          AND state IN ('pending', 'sending', 'unknown', 'failed')
        """,
        outbox_id,
        provider_id,
        recipient,
        now,
    )
    return status.split()[-1] != "0"


async def release_fallbacks(conn: asyncpg.Connection, *, notice_ids: Sequence[int], now: datetime) -> int:
    """Send a held SMS now where no push of its notice to that citizen can still arrive."""
    status = await conn.execute(
        """
        UPDATE outbox s SET next_attempt_at = $2, updated_at = $2
        WHERE s.fallback AND s.state = 'pending' AND s.next_attempt_at > $2 AND s.notice_id = ANY($1::int8[])
          AND NOT EXISTS (
              SELECT 1 FROM outbox p
              WHERE p.notice_id = s.notice_id AND p.citizen_id = s.citizen_id AND p.channel = 'push'
                AND p.state IN ('pending', 'sending', 'sent', 'delivered', 'unknown')
          )
        """,
        list(notice_ids),
        now,
    )
    return int(status.split()[-1])


async def acknowledge(conn: asyncpg.Connection, *, notice_id: int, citizen_id: int, now: datetime) -> int:
    """Mark a citizen's pushes of a notice as acknowledged and cancel the SMS held as their fallback."""
    acked = await conn.fetchval(
        """
        WITH acked AS (
            UPDATE outbox SET acknowledged_at = coalesce(acknowledged_at, $3), updated_at = $3
            WHERE notice_id = $1 AND citizen_id = $2 AND channel = 'push'
            RETURNING 1
        ), cancelled AS (
            UPDATE outbox SET state = 'cancelled', last_error = 'push acknowledged', updated_at = $3
            WHERE notice_id = $1 AND citizen_id = $2 AND fallback AND state = 'pending'
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM acked)
        """,
        notice_id,
        citizen_id,
        now,
    )
    return int(acked)


async def record_status(
    conn: asyncpg.Connection, *, provider_id: str, state: str, error: str | None, now: datetime
) -> asyncpg.Record | None:
    """Apply a provider's delivery report; a report never moves a row back from delivered."""
    return await conn.fetchrow(
        """
        UPDATE outbox
        SET state = CASE WHEN state = 'delivered' THEN state ELSE $2 END,
            delivered_at = CASE WHEN $2 = 'delivered' THEN coalesce(delivered_at, $4) ELSE delivered_at END,
            last_error = CASE WHEN $2 = 'failed' THEN $3 ELSE last_error END,
            updated_at = $4
        WHERE provider_id = $1 AND state IN ('sent', 'delivered', 'failed')
        RETURNING id, recipient, state
        """,
        provider_id,
        state,
        error,
        now,
    )


async def purge_notices(conn: asyncpg.Connection, *, before: datetime) -> int:
    """Delete old notices with no delivery left: deliveries go with their month's partition, never by DELETE."""
    status = await conn.execute(
        """
        DELETE FROM notices n
        WHERE n.created_at < $1 AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.notice_id = n.id)
        """,
        before,
    )
    return int(status.split()[-1])
