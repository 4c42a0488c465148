"""SQL for passive safety: home devices and their heartbeats, sensor emergencies, hourly activity and the
inactivity watch. Its own tables: home_sensors, sensor_events, care_activity_hours, inactivity_watches; it
reads care's plans and recipients (the same floor) and, as care does, a person's app account by phone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg


async def seen(
    conn: asyncpg.Connection, *, device_id: str, recipient_id: int, at: datetime
) -> tuple[int, datetime | None]:
    """The device spoke for this person at ``at``: registered on first sight, its last heartbeat moved on and any
    fault cleared. Returns (the person it is registered to, when its fault began, or None if it had none)."""
    row = await conn.fetchrow(
        """
        WITH before AS (SELECT fault_at FROM home_sensors WHERE device_id = $1)
        INSERT INTO home_sensors AS h (device_id, recipient_id, first_seen_at, last_seen_at)
        VALUES ($1, $2, $3, $3)
        ON CONFLICT (device_id) DO UPDATE
            SET last_seen_at = greatest(h.last_seen_at, EXCLUDED.last_seen_at), fault_at = NULL
            WHERE h.recipient_id = EXCLUDED.recipient_id
        RETURNING h.recipient_id, (SELECT fault_at FROM before) AS fault_at
        """,
        device_id,
        recipient_id,
        at,
    )
    if row is None:  # registered to someone else: nothing was changed
        owner = await conn.fetchval("SELECT recipient_id FROM home_sensors WHERE device_id = $1", device_id)
        return owner, None
    return row["recipient_id"], row["fault_at"]


async def event_case(conn: asyncpg.Connection, *, device_id: str, kind: str, at: datetime) -> int | None:
    """The case an emergency already reported (same device, kind and time) went to, or None if it is new."""
    return await conn.fetchval(
        "SELECT case_id FROM sensor_events WHERE device_id = $1 AND kind = $2 AND at = $3", device_id, kind, at
    )


async def insert_event(
    conn: asyncpg.Connection,
    *,
    device_id: str,
    kind: str,
    at: datetime,
    recipient_id: int,
    case_id: int,
    received_at: datetime,
) -> None:
    await conn.execute(
        """
        INSERT INTO sensor_events (device_id, kind, at, recipient_id, case_id, received_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        device_id,
        kind,
        at,
        recipient_id,
        case_id,
        received_at,
    )


async def silent_devices(conn: asyncpg.Connection, *, now: datetime, limit: int) -> list[asyncpg.Record]:
    """Mark the devices silent for longer than their heartbeat limit as faulty, once each; those marked now."""
    return await conn.fetch(
        """
        WITH silent AS (
            SELECT device_id FROM home_sensors
            WHERE fault_at IS NULL AND last_seen_at < $1::timestamptz - make_interval(mins => heartbeat_min)
            ORDER BY last_seen_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        )
        UPDATE home_sensors h SET fault_at = $1
        FROM silent WHERE h.device_id = silent.device_id
        RETURNING h.device_id, h.recipient_id, h.last_seen_at
        """,
        now,
        limit,
    )


async def set_heartbeat(conn: asyncpg.Connection, *, device_id: str, minutes: int) -> None:
    await conn.execute("UPDATE home_sensors SET heartbeat_min = $2 WHERE device_id = $1", device_id, minutes)


# The inactivity watch. Each step returns what care.ladder.climb needs of the person.


async def fire(
    conn: asyncpg.Connection,
    *,
    now: datetime,
    window_h: int,
    history_days: int,
    min_usual: float,
    first_due: timedelta,
    limit: int,
) -> list[asyncpg.Record]:
    """Start the inactivity ladder (step 1) for everyone whose home has gone quiet, in one statement.

    Two rules, the first taking precedence:
    - ``inactivity_limit``: no sign of life since longer than the person's limit (counted from enrolment, or from
      the end of a pause or a resume, when that is later);
    - ``below_usual``: with ``history_days`` of history, the last ``window_h`` whole hours hold fewer than half
      the events the same hours held on an average day of the last ``history_days`` (and that average is at
      least ``min_usual``, so a person who is seldom seen is left to the first rule).
    Nobody paused, nobody with an episode still climbing, and for the second rule nobody answered within the
    window. Returns, for each person started, what the first step's message needs.
    """
    return await conn.fetch(
        """
        WITH candidates AS (
            SELECT p.recipient_id, p.inactivity_limit_min, r.created_at,
                   greatest(p.last_contact_at, r.created_at, p.inactivity_from,
                            CASE WHEN p.paused_until <= $1 THEN p.paused_until END) AS last_life,
                   w.answered_at
            FROM checkin_plans p
            JOIN care_recipients r ON r.id = p.recipient_id
            LEFT JOIN inactivity_watches w ON w.recipient_id = p.recipient_id
            WHERE (p.paused_until IS NULL OR p.paused_until <= $1)
              AND (w.recipient_id IS NULL OR w.answered_at IS NOT NULL)
        ), over_limit AS (
            SELECT recipient_id, 'inactivity_limit' AS rule,
                   jsonb_build_object('limit_hours', inactivity_limit_min / 60, 'last_life_at', last_life) AS detail
            FROM candidates
            WHERE last_life < $1 - make_interval(mins => inactivity_limit_min)
        ), hours AS (
            SELECT a.recipient_id,
                   sum(a.events) FILTER (WHERE a.hour >= date_trunc('hour', $1) - make_interval(hours => $2))
                       AS recent,
                   sum(a.events) FILTER (WHERE a.hour < date_trunc('hour', $1) - interval '1 day')::float8 / $3::int
                       AS usual
            FROM care_activity_hours a
            JOIN candidates c ON c.recipient_id = a.recipient_id
            WHERE c.created_at <= $1 - make_interval(days => $3::int)
              AND (c.answered_at IS NULL OR c.answered_at <= $1 - make_interval(hours => $2))
              AND a.hour >= date_trunc('hour', $1) - make_interval(days => $3::int) - make_interval(hours => $2)
              AND a.hour <= date_trunc('hour', $1)  -- the hour under way counts as recent
              -- the same hours of the day: the window itself, and the window moved back by whole days
              AND mod((extract(epoch FROM date_trunc('hour', $1) - a.hour) / 3600)::int - 1, 24) < $2
            GROUP BY a.recipient_id
        ), below AS (
            SELECT recipient_id, 'below_usual' AS rule,
                   jsonb_build_object('window_hours', $2::int, 'events', coalesce(recent, 0),
                                      'usual', round(usual::numeric, 1), 'history_days', $3::int) AS detail
            FROM hours
            WHERE usual >= $4::float8 AND coalesce(recent, 0) < usual / 2
              AND recipient_id NOT IN (SELECT recipient_id FROM over_limit)
        ), fired AS (
            SELECT * FROM over_limit UNION ALL SELECT * FROM below
            ORDER BY recipient_id
            LIMIT $6
        ), started AS (
            INSERT INTO inactivity_watches AS w (recipient_id, fired_at, rule, detail, step, due_at, answered_at)
            -- A device of theirs already known to be silent is said on the case: the quiet may be the device's.
            SELECT recipient_id, $1, rule,
                   detail || jsonb_build_object('devices_silent', (SELECT count(*) FROM home_sensors h
                                                                    WHERE h.recipient_id = fired.recipient_id
                                                                      AND h.fault_at IS NOT NULL)),
                   1, $1 + $5::interval, NULL
            FROM fired
            ON CONFLICT (recipient_id) DO UPDATE
                SET fired_at = EXCLUDED.fired_at, rule = EXCLUDED.rule, detail = EXCLUDED.detail, step = 1,
                    due_at = EXCLUDED.due_at, answered_at = NULL
                WHERE w.answered_at IS NOT NULL
            RETURNING w.recipient_id, w.fired_at, w.rule, w.detail, w.step
        )
        SELECT s.recipient_id, s.fired_at, s.rule, s.detail, s.step,
               r.name, r.phone, r.language, r.district, r.contact_by, r.reach_despite_opt_out,
               p.quiet_start, p.quiet_end, (SELECT c.id FROM citizens c WHERE c.phone = r.phone) AS citizen_id
        FROM started s
        JOIN care_recipients r ON r.id = s.recipient_id
        JOIN checkin_plans p ON p.recipient_id = s.recipient_id
        """,
        now,
        window_h,
        history_days,
        min_usual,
        first_due,
        limit,
    )


async def advance_due(
    conn: asyncpg.Connection, *, now: datetime, ask_again: timedelta, limit: int
) -> list[asyncpg.Record]:
    """Advance every due inactivity episode one step (2 asked again, 3 first guardian, 4 case, 5 urgent), timed
    by the person's own ladder; what each step's messages need."""
    return await conn.fetch(
        """
        WITH due AS (
            SELECT recipient_id FROM inactivity_watches
            WHERE due_at <= $1 AND answered_at IS NULL
            ORDER BY due_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        ), moved AS (
            UPDATE inactivity_watches w
            SET step = w.step + 1,
                due_at = CASE w.step + 1
                    WHEN 2 THEN $1 + $3::interval
                    WHEN 3 THEN $1 + make_interval(mins => p.case_after_min)
                    WHEN 4 THEN $1 + make_interval(mins => p.urgent_after_min)
                    END
            FROM due JOIN checkin_plans p ON p.recipient_id = due.recipient_id
            WHERE w.recipient_id = due.recipient_id
            RETURNING w.recipient_id, w.fired_at, w.rule, w.detail, w.step
        )
        SELECT m.recipient_id, m.fired_at, m.rule, m.detail, m.step,
               r.name, r.phone, r.language, r.district, r.contact_by, r.reach_despite_opt_out,
               p.quiet_start, p.quiet_end, (SELECT c.id FROM citizens c WHERE c.phone = r.phone) AS citizen_id
        FROM moved m
        JOIN care_recipients r ON r.id = m.recipient_id
        JOIN checkin_plans p ON p.recipient_id = m.recipient_id
        """,
        now,
        limit,
        ask_again,
    )


async def answer(conn: asyncpg.Connection, *, recipient_id: int, at: datetime) -> asyncpg.Record | None:
    """A sign of life: one more in its hour (the person's daily pattern), and it ends the person's climbing
    episode; the episode (with the step it reached), or None. One statement."""
    return await conn.fetchrow(
        """
        WITH counted AS (
            INSERT INTO care_activity_hours AS a (recipient_id, hour, events)
            VALUES ($1, date_trunc('hour', $2::timestamptz), 1)
            ON CONFLICT (recipient_id, hour) DO UPDATE SET events = a.events + 1
        )
        UPDATE inactivity_watches SET answered_at = $2, due_at = NULL
        WHERE recipient_id = $1 AND answered_at IS NULL
        RETURNING fired_at, step
        """,
        recipient_id,
        at,
    )


async def pause(conn: asyncpg.Connection, *, recipient_id: int) -> None:
    """A help or emergency case has taken over: the episode stops climbing (it stays unanswered)."""
    await conn.execute(
        "UPDATE inactivity_watches SET due_at = NULL WHERE recipient_id = $1 AND answered_at IS NULL", recipient_id
    )


async def devices_in_fault(conn: asyncpg.Connection, recipient_ids: Sequence[int]) -> dict[int, list[str]]:
    rows = await conn.fetch(
        """
        SELECT recipient_id, array_agg(device_id ORDER BY device_id) AS devices FROM home_sensors
        WHERE recipient_id = ANY($1::bigint[]) AND fault_at IS NOT NULL GROUP BY recipient_id
        """,
        list(recipient_ids),
    )
    return {r["recipient_id"]: list(r["devices"]) for r in rows}
