"""SQL for cases, their notes, and what a social worker reads beside them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

import asyncpg

# A case as the API shows it; $1 is now, for ``overdue``. The recipient comes as one json object.
_CASE_VIEW = """
    SELECT c.id, c.district, c.reason, c.priority, c.state, c.slot_at, c.alert_id, c.opened_at, c.sla_due_at,
           (c.state = 'open' AND $1::timestamptz > c.sla_due_at) AS overdue,
           c.all_clear_at, c.acknowledged_at, c.acknowledged_by, c.resolved_at, c.resolved_by, c.outcome,
           c.rule, c.rule_detail, c.device_id, c.needs_119, c.called_119_at, c.called_119_by,
           json_build_object('id', r.id, 'name', r.name, 'district', r.district, 'phone', r.phone,
                             'address', r.address) AS recipient
    FROM cases c
    JOIN care_recipients r ON r.id = c.recipient_id
"""


async def list_cases(
    conn: asyncpg.Connection,
    *,
    districts: Sequence[str] | None,
    state: str | None,
    limit: int,
    now: datetime,
) -> list[asyncpg.Record]:
    """The queue: open before acknowledged before resolved, urgent first, oldest first.

    ``districts`` None means every district; ``state`` None means every state but resolved.
    """
    return await conn.fetch(
        _CASE_VIEW
        + """
        WHERE ($2::text[] IS NULL OR c.district = ANY ($2::text[]))
          AND (c.state = $3 OR ($3::text IS NULL AND c.state <> 'resolved'))
        ORDER BY CASE c.state WHEN 'open' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END,
                 CASE c.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 ELSE 2 END,
                 c.opened_at, c.id
        LIMIT $4
        """,
        now,
        list(districts) if districts is not None else None,
        state,
        limit,
    )


async def get_case(conn: asyncpg.Connection, case_id: int, *, now: datetime) -> asyncpg.Record | None:
    return await conn.fetchrow(_CASE_VIEW + " WHERE c.id = $2", now, case_id)


async def lock_case(conn: asyncpg.Connection, case_id: int) -> asyncpg.Record | None:
    """The case's state, locked until the transaction ends, so concurrent changes apply one after the other."""
    return await conn.fetchrow(
        "SELECT id, recipient_id, district, state FROM cases WHERE id = $1 FOR UPDATE",
        case_id,
    )


async def acknowledge(conn: asyncpg.Connection, case_id: int, *, actor: str, now: datetime) -> bool:
    """Open → acknowledged; False when the case was not open."""
    status = await conn.execute(
        """
        UPDATE cases SET state = 'acknowledged', acknowledged_at = $3, acknowledged_by = $2
        WHERE id = $1 AND state = 'open'
        """,
        case_id,
        actor,
        now,
    )
    return status == "UPDATE 1"


async def resolve(conn: asyncpg.Connection, case_id: int, *, actor: str, outcome: str, now: datetime) -> bool:
    """Any unresolved state → resolved with its outcome; False when it was resolved already."""
    status = await conn.execute(
        """
        UPDATE cases SET state = 'resolved', resolved_at = $3, resolved_by = $2, outcome = $4
        WHERE id = $1 AND state <> 'resolved'
        """,
        case_id,
        actor,
        now,
        outcome,
    )
    return status == "UPDATE 1"


async def add_note(conn: asyncpg.Connection, *, case_id: int, author: str, body: str, now: datetime) -> asyncpg.Record:
    return await conn.fetchrow(
        """
        INSERT INTO case_notes (case_id, author, body, created_at) VALUES ($1, $2, $3, $4)
        RETURNING id, case_id, author, body, created_at
        """,
        case_id,
        author,
        body,
        now,
    )


async def list_notes(conn: asyncpg.Connection, case_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, case_id, author, body, created_at FROM case_notes WHERE case_id = $1 ORDER BY created_at, id",
        case_id,
    )


async def recent_checkins(conn: asyncpg.Connection, recipient_id: int, *, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT channel, kind, body, at FROM checkins WHERE recipient_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        recipient_id,
        limit,
    )


# What the escalation sweep calls: each one statement over the whole batch.


async def open_missed_cases(
    conn: asyncpg.Connection,
    *,
    rows: Sequence[tuple[int, datetime]],
    priority: str,
    now: datetime,
    sla: timedelta,
) -> list[asyncpg.Record]:
    """A 'missed_checkin' case per (recipient_id, slot_at), unless that slot has one; the ones opened now."""
    if not rows:
        return []
    recipient_ids, slots = zip(*rows, strict=True)
    return await conn.fetch(
        """
        INSERT INTO cases (recipient_id, district, reason, priority, slot_at, opened_at, sla_due_at)
        SELECT DISTINCT r.id, r.district, 'missed_checkin', $3, m.slot_at, $4::timestamptz, $5::timestamptz
        FROM unnest($1::bigint[], $2::timestamptz[]) AS m (recipient_id, slot_at)
        JOIN care_recipients r ON r.id = m.recipient_id
        ON CONFLICT (recipient_id, slot_at) WHERE reason = 'missed_checkin' DO NOTHING
        RETURNING id, recipient_id, district, slot_at
        """,
        list(recipient_ids),
        list(slots),
        priority,
        now,
        now + sla,
    )


async def make_urgent(
    conn: asyncpg.Connection,
    *,
    rows: Sequence[tuple[int, datetime]],
    now: datetime,
    sla: timedelta,
) -> list[asyncpg.Record]:
    """Make the unresolved missed-checkin cases of these (recipient_id, slot_at) urgent, due by now + sla at latest."""
    if not rows:
        return []
    recipient_ids, slots = zip(*rows, strict=True)
    return await conn.fetch(
        """
        UPDATE cases c SET priority = 'urgent', sla_due_at = least(c.sla_due_at, $3::timestamptz)
        FROM (SELECT DISTINCT * FROM unnest($1::bigint[], $2::timestamptz[])) AS m (recipient_id, slot_at)
        WHERE c.recipient_id = m.recipient_id AND c.slot_at = m.slot_at
          AND c.reason = 'missed_checkin' AND c.state <> 'resolved'
        RETURNING c.id, c.recipient_id, c.district
        """,
        list(recipient_ids),
        list(slots),
        now + sla,
    )


async def open_help_case(
    conn: asyncpg.Connection, *, recipient_id: int, now: datetime, sla: timedelta
) -> tuple[int, bool]:
    """An urgent 'help_request' case for the recipient: (its id, True), or (the open one's id, False)."""
    opened = await conn.fetchval(
        """
        INSERT INTO cases (recipient_id, district, reason, priority, opened_at, sla_due_at)
        SELECT id, district, 'help_request', 'urgent', $2::timestamptz, $3::timestamptz
        FROM care_recipients WHERE id = $1
        ON CONFLICT (recipient_id) WHERE reason = 'help_request' AND state <> 'resolved' DO NOTHING
        RETURNING id
        """,
        recipient_id,
        now,
        now + sla,
    )
    if opened is not None:
        return opened, True
    # A statement of its own, so it sees an open case committed after the insert's snapshot was taken.
    existing = await conn.fetchval(
        "SELECT id FROM cases WHERE recipient_id = $1 AND reason = 'help_request' AND state <> 'resolved'",
        recipient_id,
    )
    if existing is None:
        raise LookupError(f"there is no care recipient {recipient_id}")
    return existing, False


async def open_safety_cases(
    conn: asyncpg.Connection, *, rows: Sequence[tuple[int, int]], now: datetime, sla: timedelta
) -> list[asyncpg.Record]:
    """A high 'safety_check' case per (recipient_id, alert_id), unless that pair has one; the ones opened."""
    if not rows:
        return []
    recipient_ids, alert_ids = zip(*rows, strict=True)
    return await conn.fetch(
        """
        INSERT INTO cases (recipient_id, district, reason, priority, alert_id, opened_at, sla_due_at)
        SELECT DISTINCT r.id, r.district, 'safety_check', 'high', m.alert_id, $3::timestamptz, $4::timestamptz
        FROM unnest($1::bigint[], $2::bigint[]) AS m (recipient_id, alert_id)
        JOIN care_recipients r ON r.id = m.recipient_id
        ON CONFLICT (recipient_id, alert_id) WHERE reason = 'safety_check' DO NOTHING
        RETURNING id, recipient_id, district, alert_id
        """,
        list(recipient_ids),
        list(alert_ids),
        now,
        now + sla,
    )


async def make_safety_urgent(
    conn: asyncpg.Connection, *, rows: Sequence[tuple[int, int]], now: datetime, sla: timedelta
) -> list[asyncpg.Record]:
    """Make the unresolved safety-check cases of these (recipient_id, alert_id) urgent."""
    if not rows:
        return []
    recipient_ids, alert_ids = zip(*rows, strict=True)
    return await conn.fetch(
        """
        UPDATE cases c SET priority = 'urgent', sla_due_at = least(c.sla_due_at, $3::timestamptz)
        FROM (SELECT DISTINCT * FROM unnest($1::bigint[], $2::bigint[])) AS m (recipient_id, alert_id)
        WHERE c.recipient_id = m.recipient_id AND c.alert_id = m.alert_id
          AND c.reason = 'safety_check' AND c.state <> 'resolved'
        RETURNING c.id, c.recipient_id, c.district
        """,
        list(recipient_ids),
        list(alert_ids),
        now + sla,
    )


async def all_clear_safety(
    conn: asyncpg.Connection, *, recipient_id: int, alert_ids: Sequence[int], now: datetime, note: str
) -> list[int]:
    """Mark the recipient's unresolved safety-check cases of these alerts all clear, with a note."""
    rows = await conn.fetch(
        """
        WITH cleared AS (
            UPDATE cases SET all_clear_at = $3
            WHERE recipient_id = $1 AND reason = 'safety_check' AND alert_id = ANY($2::bigint[])
              AND state <> 'resolved' AND all_clear_at IS NULL
            RETURNING id
        ), noted AS (
            INSERT INTO case_notes (case_id, author, body, created_at)
            SELECT id, 'system', $4, $3 FROM cleared
        )
        SELECT id FROM cleared ORDER BY id
        """,
        recipient_id,
        list(alert_ids),
        now,
        note,
    )
    return [r["id"] for r in rows]


async def open_urgent_by_district(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """For the metrics: open urgent cases per district (acknowledged ones are being handled)."""
    return await conn.fetch(
        "SELECT district, count(*) AS n FROM cases WHERE state = 'open' AND priority = 'urgent' GROUP BY district"
    )


async def time_to_acknowledge(conn: asyncpg.Connection, *, since: datetime) -> list[asyncpg.Record]:
    """Urgent cases told to someone on duty since then, by district and Seoul week: how fast they were acknowledged.

    Counted from the first person told; a case never acknowledged counts in ``cases`` but not as within 60 s.
    """
    return await conn.fetch(
        """
        WITH told AS (
            SELECT c.district, min(e.notified_at) AS told_at, c.acknowledged_at
            FROM cases c JOIN case_escalations e ON e.case_id = c.id
            WHERE e.notified_at >= $1 GROUP BY c.id
        )
        SELECT district,
               date_trunc('week', told_at AT TIME ZONE 'Asia/Seoul')::date AS week,
               count(*) AS cases,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - told_at)) AS p50_s,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - told_at)) AS p95_s,
               count(*) FILTER (WHERE acknowledged_at - told_at <= interval '60 seconds')::float8 / count(*)
                   AS within_60s
        FROM told GROUP BY district, week ORDER BY week DESC, district
        """,
        since,
    )


class MissedCleared(NamedTuple):
    """The recipient's unresolved missed-checkin cases as a sign of life found them, and those it marked all clear."""

    open_slots: list[datetime]
    cleared: list[int]


async def clear_missed(conn: asyncpg.Connection, *, recipient_id: int, now: datetime, note: str) -> MissedCleared:
    """The slots of the recipient's unresolved missed-checkin cases, and those of them not yet all clear marked
    so, with a note, in one statement. A case already all clear is left alone: a second sign of life adds no
    second note."""
    rows = await conn.fetch(
        """
        WITH open AS (
            SELECT id, slot_at, all_clear_at IS NULL AS unclear FROM cases
            WHERE recipient_id = $1 AND reason = 'missed_checkin' AND state <> 'resolved'
        ), cleared AS (
            UPDATE cases SET all_clear_at = $2
            WHERE id IN (SELECT id FROM open WHERE unclear) AND state <> 'resolved' AND all_clear_at IS NULL
            RETURNING id
        ), noted AS (
            INSERT INTO case_notes (case_id, author, body, created_at)
            SELECT id, 'system', $3, $2 FROM cleared
        )
        SELECT o.slot_at, c.id AS cleared FROM open o LEFT JOIN cleared c ON c.id = o.id ORDER BY o.id
        """,
        recipient_id,
        now,
        note,
    )
    return MissedCleared(
        open_slots=[r["slot_at"] for r in rows], cleared=[r["cleared"] for r in rows if r["cleared"] is not None]
    )


async def open_missed_slots(conn: asyncpg.Connection, *, recipient_id: int) -> list[datetime]:
    """The slots of the recipient's unresolved missed-checkin cases."""
    rows = await conn.fetch(
        "SELECT slot_at FROM cases WHERE recipient_id = $1 AND reason = 'missed_checkin' AND state <> 'resolved'",
        recipient_id,
    )
    return [r["slot_at"] for r in rows]


# Passive safety (care.passive): sensor emergencies, inactivity episodes and silent devices.


async def open_emergency_case(
    conn: asyncpg.Connection,
    *,
    recipient_id: int,
    rule: str,
    device_id: str,
    detail: dict[str, object],
    now: datetime,
    sla: timedelta,
) -> tuple[int, bool]:
    """An urgent 'sensor_emergency' case needing 119 for this person and kind: (its id, True), or the open one's."""
    opened = await conn.fetchval(
        """
        INSERT INTO cases (recipient_id, district, reason, priority, opened_at, sla_due_at, rule, rule_detail,
                           device_id, needs_119)
        SELECT id, district, 'sensor_emergency', 'urgent', $3::timestamptz, $4::timestamptz, $2, $5, $6, true
        FROM care_recipients WHERE id = $1
        ON CONFLICT (recipient_id, rule) WHERE reason = 'sensor_emergency' AND state <> 'resolved' DO NOTHING
        RETURNING id
        """,
        recipient_id,
        rule,
        now,
        now + sla,
        detail,
        device_id,
    )
    if opened is not None:
        return opened, True
    existing = await conn.fetchval(
        """
        SELECT id FROM cases
        WHERE recipient_id = $1 AND reason = 'sensor_emergency' AND rule = $2 AND state <> 'resolved'
        """,
        recipient_id,
        rule,
    )
    if existing is None:
        raise LookupError(f"there is no care recipient {recipient_id}")
    return existing, False


async def record_119(conn: asyncpg.Connection, case_id: int, *, actor: str, now: datetime) -> bool:
    """Record that 119 was called for the case (the first record stands); False when it was recorded already."""
    status = await conn.execute(
        "UPDATE cases SET called_119_at = $3, called_119_by = $2 WHERE id = $1 AND called_119_at IS NULL",
        case_id,
        actor,
        now,
    )
    return status == "UPDATE 1"


async def open_inactivity_cases(
    conn: asyncpg.Connection, *, rows: Sequence[tuple[int, datetime]], now: datetime, sla: timedelta
) -> list[asyncpg.Record]:
    """A high 'inactivity' case per (recipient_id, fired_at) episode, with the rule that fired; the ones opened."""
    if not rows:
        return []
    recipient_ids, fired = zip(*rows, strict=True)
    return await conn.fetch(
        """
        INSERT INTO cases (recipient_id, district, reason, priority, slot_at, opened_at, sla_due_at, rule,
                           rule_detail)
        SELECT DISTINCT ON (r.id, m.fired_at) r.id, r.district, 'inactivity', 'high', m.fired_at, $3::timestamptz,
               $4::timestamptz, w.rule, w.detail
        FROM unnest($1::bigint[], $2::timestamptz[]) AS m (recipient_id, fired_at)
        JOIN care_recipients r ON r.id = m.recipient_id
        JOIN inactivity_watches w ON w.recipient_id = m.recipient_id
        ON CONFLICT (recipient_id, slot_at) WHERE reason = 'inactivity' DO NOTHING
        RETURNING id, recipient_id, district, slot_at
        """,
        list(recipient_ids),
        list(fired),
        now,
        now + sla,
    )


async def make_inactivity_urgent(
    conn: asyncpg.Connection, *, rows: Sequence[tuple[int, datetime]], now: datetime, sla: timedelta
) -> list[asyncpg.Record]:
    """Make the unresolved inactivity cases of these (recipient_id, fired_at) episodes urgent."""
    if not rows:
        return []
    recipient_ids, fired = zip(*rows, strict=True)
    return await conn.fetch(
        """
        UPDATE cases c SET priority = 'urgent', sla_due_at = least(c.sla_due_at, $3::timestamptz)
        FROM (SELECT DISTINCT * FROM unnest($1::bigint[], $2::timestamptz[])) AS m (recipient_id, fired_at)
        WHERE c.recipient_id = m.recipient_id AND c.slot_at = m.fired_at
          AND c.reason = 'inactivity' AND c.state <> 'resolved'
        RETURNING c.id, c.recipient_id, c.district
        """,
        list(recipient_ids),
        list(fired),
        now + sla,
    )


async def all_clear_reason(
    conn: asyncpg.Connection, *, recipient_id: int, reason: str, now: datetime, note: str, device_id: str | None = None
) -> list[int]:
    """Mark the recipient's unresolved cases of this reason (and device, when given) all clear, with a note."""
    rows = await conn.fetch(
        """
        WITH cleared AS (
            UPDATE cases SET all_clear_at = $3
            WHERE recipient_id = $1 AND reason = $2 AND state <> 'resolved' AND all_clear_at IS NULL
              AND ($5::text IS NULL OR device_id = $5)
            RETURNING id
        ), noted AS (
            INSERT INTO case_notes (case_id, author, body, created_at)
            SELECT id, 'system', $4, $3 FROM cleared
        )
        SELECT id FROM cleared ORDER BY id
        """,
        recipient_id,
        reason,
        now,
        note,
        device_id,
    )
    return [r["id"] for r in rows]


async def open_fault_cases(
    conn: asyncpg.Connection, *, devices: Sequence[asyncpg.Record], now: datetime, sla: timedelta
) -> list[asyncpg.Record]:
    """A normal 'sensor_fault' case per silent device (device_id, recipient_id, last_seen_at), unless one is open."""
    if not devices:
        return []
    return await conn.fetch(
        """
        INSERT INTO cases (recipient_id, district, reason, priority, opened_at, sla_due_at, rule, rule_detail,
                           device_id)
        SELECT r.id, r.district, 'sensor_fault', 'normal', $4::timestamptz, $5::timestamptz, 'no_heartbeat',
               jsonb_build_object('device_id', d.device_id, 'last_seen_at', d.last_seen_at), d.device_id
        FROM unnest($1::text[], $2::bigint[], $3::timestamptz[]) AS d (device_id, recipient_id, last_seen_at)
        JOIN care_recipients r ON r.id = d.recipient_id
        ON CONFLICT (recipient_id, device_id) WHERE reason = 'sensor_fault' AND state <> 'resolved' DO NOTHING
        RETURNING id, recipient_id, district, device_id
        """,
        [d["device_id"] for d in devices],
        [d["recipient_id"] for d in devices],
        [d["last_seen_at"] for d in devices],
        now,
        now + sla,
    )
