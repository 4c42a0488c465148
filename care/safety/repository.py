"""SQL for safety checks: opening them for a warning, advancing their ladders, and closing them on an answer.

safety_checks is created by the alerts' migration but written only here: care keeps the check's ladder.
Advancing it reads, read-only, what its messages need from outside care: the warning's event and texts
(alerts) and the person's app account (accounts' citizens, by phone); care is a floor below both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg


async def open_checks(
    conn: asyncpg.Connection,
    *,
    alert_id: int,
    recipient_ids: Sequence[int],
    replaced: Sequence[int],
    now: datetime,
    first_due: timedelta,
) -> list[int]:
    """A check per recipient, except those already asked about an alert this one replaces; the ones opened."""
    # The people already asked are taken out here rather than by NOT EXISTS in the insert: on a freshly
    # analysed, empty table the planner picks a nested loop that re-scans it per row, which at 50,000
    # people in care takes seconds and at 120,000 passes the statement timeout.
    asked = set()
    if replaced:
        asked = {
            r["recipient_id"]
            for r in await conn.fetch(
                "SELECT recipient_id FROM safety_checks WHERE alert_id = ANY($1::bigint[])", list(replaced)
            )
        }
    rows = await conn.fetch(
        """
        INSERT INTO safety_checks (alert_id, recipient_id, asked_at, step, due_at)
        SELECT $1, r.id, $3, 1, $4::timestamptz
        FROM unnest($2::bigint[]) AS r (id)
        ON CONFLICT DO NOTHING
        RETURNING recipient_id
        """,
        alert_id,
        [r for r in recipient_ids if r not in asked],
        now,
        now + first_due,
    )
    return [r["recipient_id"] for r in rows]


async def stand_down(conn: asyncpg.Connection, *, alert_ids: Sequence[int]) -> int:
    """Stop the unanswered checks of these alerts that have not yet become cases; how many."""
    status = await conn.execute(
        """
        UPDATE safety_checks SET due_at = NULL
        WHERE alert_id = ANY($1::bigint[]) AND safe_at IS NULL AND due_at IS NOT NULL AND step < 4
        """,
        list(alert_ids),
    )
    return int(status.split()[-1])


async def answer(conn: asyncpg.Connection, *, recipient_id: int, via: str, at: datetime) -> list[asyncpg.Record]:
    """Mark every unanswered check of the recipient safe; the checks answered, with the step each had reached."""
    return await conn.fetch(
        """
        UPDATE safety_checks SET safe_at = $2, safe_via = $3, due_at = NULL
        WHERE recipient_id = $1 AND safe_at IS NULL
        RETURNING alert_id, step
        """,
        recipient_id,
        at,
        via,
    )


async def pause_ladders(conn: asyncpg.Connection, *, recipient_id: int) -> None:
    """Stop the recipient's unanswered checks from escalating (a help case has taken over)."""
    await conn.execute(
        "UPDATE safety_checks SET due_at = NULL WHERE recipient_id = $1 AND safe_at IS NULL", recipient_id
    )


async def asked(conn: asyncpg.Connection, *, alert_id: int) -> set[int]:
    rows = await conn.fetch("SELECT recipient_id FROM safety_checks WHERE alert_id = $1", alert_id)
    return {r["recipient_id"] for r in rows}


async def was_asked(conn: asyncpg.Connection, *, alert_id: int, recipient_id: int) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM safety_checks WHERE alert_id = $1 AND recipient_id = $2)",
            alert_id,
            recipient_id,
        )
    )


async def advance_due(conn: asyncpg.Connection, *, now: datetime, limit: int) -> list[asyncpg.Record]:
    """Advance every due check one step, timed by the person's own check-in ladder; what the messages need.

    Steps: 1 asked, 2 asked again, 3 first guardian, 4 case, 5 urgent. ``SKIP LOCKED`` keeps concurrent
    sweeps off each other's rows.
    """
    return await conn.fetch(
        """
        WITH due AS (
            SELECT alert_id, recipient_id FROM safety_checks
            WHERE due_at <= $1
            ORDER BY due_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        ), moved AS (
            UPDATE safety_checks s
            SET step = s.step + 1,
                due_at = CASE s.step + 1
                    WHEN 2 THEN $1 + make_interval(mins => coalesce(p.guardian_after_min, 30))
                    WHEN 3 THEN $1 + make_interval(mins => coalesce(p.case_after_min, 30))
                    WHEN 4 THEN $1 + make_interval(mins => coalesce(p.urgent_after_min, 120))
                    END
            FROM due LEFT JOIN checkin_plans p ON p.recipient_id = due.recipient_id
            WHERE s.alert_id = due.alert_id AND s.recipient_id = due.recipient_id
            RETURNING s.alert_id, s.recipient_id, s.step
        )
        SELECT m.alert_id, m.recipient_id, m.step, a.event, a.texts,
               r.name, r.phone, r.language, r.district, r.contact_by, r.reach_despite_opt_out,
               p.first_ask_by, p.ask_again_by, p.guardian_by, p.urgent_by,
               (SELECT c.id FROM citizens c WHERE c.phone = r.phone) AS citizen_id
        FROM moved m
        JOIN care_recipients r ON r.id = m.recipient_id
        JOIN alerts a ON a.id = m.alert_id
        LEFT JOIN checkin_plans p ON p.recipient_id = m.recipient_id
        """,
        now,
        limit,
    )
