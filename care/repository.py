"""SQL for care recipients, their plans and the escalation ladder's state, and check-ins.

Care's own tables: care_recipients, guardians, checkin_plans, care_steps, checkins. One value comes from
outside them: a person's app account, ``citizens.id`` by phone (accounts' table), which a message to their
app needs. Care is a floor below accounts and cannot call its service, so it is read here as a key lookup,
read-only, beside the row that needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time

import asyncpg

from api.platform.geo import PRECISE_SCALE
from care.details import HomeRow

_RECIPIENT = """
    SELECT r.id, r.name, r.phone, r.language, r.district, r.address, r.contact_by, r.consent_by, r.consent_at,
           r.consent_scope, r.reach_despite_opt_out, r.created_at, r.birth_date, r.home_lat, r.home_lon, r.home_dong,
           p.times, p.days, p.window_min, p.quiet_start, p.quiet_end, p.guardian_after_min, p.case_after_min,
           p.urgent_after_min, p.accept_signals, p.paused_until, p.pause_reason, p.slot_at, p.step, p.due_at,
           p.last_contact_at, p.first_ask_by, p.ask_again_by, p.guardian_by, p.urgent_by, p.inactivity_limit_min,
           (SELECT coalesce(json_agg(json_build_object('position', g.position, 'name', g.name, 'phone', g.phone,
                                                       'relation', g.relation, 'language', g.language)
                                     ORDER BY g.position), '[]')
            FROM guardians g WHERE g.recipient_id = r.id) AS guardians
    FROM care_recipients r JOIN checkin_plans p ON p.recipient_id = r.id
"""


async def insert_recipient(
    conn: asyncpg.Connection,
    *,
    name: str,
    phone: str,
    language: str,
    district: str,
    address: str,
    contact_by: str,
    consent_by: str,
    consent_at: datetime,
    consent_scope: str,
    reach_despite_opt_out: bool,
    enrolled_by: str,
    now: datetime,
    born: date | None = None,
    home: HomeRow | None = None,
) -> int | None:
    """A new recipient's id, or None when the phone number is enrolled already."""
    return await conn.fetchval(
        """
        INSERT INTO care_recipients (name, phone, language, district, address, contact_by, consent_by, consent_at,
                                     consent_scope, reach_despite_opt_out, enrolled_by, created_at, updated_at,
                                     birth_date, home_lat, home_lon, home_dong)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16)
        ON CONFLICT (phone) DO NOTHING
        RETURNING id
        """,
        name,
        phone,
        language,
        district,
        address,
        contact_by,
        consent_by,
        consent_at,
        consent_scope,
        reach_despite_opt_out,
        enrolled_by,
        now,
        born,
        home.lat if home else None,
        home.lon if home else None,
        home.dong if home else None,
    )


async def insert_guardians(
    conn: asyncpg.Connection, *, recipient_id: int, guardians: Sequence[tuple[str, str, str, str]]
) -> None:
    """Guardians as (name, phone, relation, language), in the order they are to be called."""
    await conn.execute(
        """
        INSERT INTO guardians (recipient_id, position, name, phone, relation, language)
        SELECT $1, n, name, phone, relation, language
        FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
             AS u(name, phone, relation, language, n)
        """,
        recipient_id,
        [g[0] for g in guardians],
        [g[1] for g in guardians],
        [g[2] for g in guardians],
        [g[3] for g in guardians],
    )


async def upsert_plan(
    conn: asyncpg.Connection,
    *,
    recipient_id: int,
    times: Sequence[time],
    days: Sequence[int],
    window_min: int,
    quiet: tuple[time, time] | None,
    guardian_after_min: int,
    case_after_min: int,
    urgent_after_min: int,
    accept_signals: bool,
    steps: Sequence[str | None],
    now: datetime,
    inactivity_limit_min: int = 1440,
) -> None:
    """Set the plan; the ladder starts again at the first check-in time after ``now`` (or after a pause) that the
    person's last sign of life (outside a pause) has not already answered.

    ``steps`` are its own ``*_by`` columns (``care.steps.COLUMNS``), None where it says none.
    """
    await conn.execute(
        """
        INSERT INTO checkin_plans AS p (recipient_id, times, days, window_min, quiet_start, quiet_end,
                                        guardian_after_min, case_after_min, urgent_after_min, accept_signals,
                                        slot_at, step, due_at, updated_at,
                                        first_ask_by, ask_again_by, guardian_by, urgent_by, inactivity_limit_min)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, care_next_slot($2, $3, $11), 0,
                care_next_slot($2, $3, $11), $11, $12, $13, $14, $15, $16)
        ON CONFLICT (recipient_id) DO UPDATE SET
            times = EXCLUDED.times, days = EXCLUDED.days, window_min = EXCLUDED.window_min,
            quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end,
            guardian_after_min = EXCLUDED.guardian_after_min, case_after_min = EXCLUDED.case_after_min,
            urgent_after_min = EXCLUDED.urgent_after_min, accept_signals = EXCLUDED.accept_signals,
            first_ask_by = EXCLUDED.first_ask_by, ask_again_by = EXCLUDED.ask_again_by,
            guardian_by = EXCLUDED.guardian_by, urgent_by = EXCLUDED.urgent_by,
            inactivity_limit_min = EXCLUDED.inactivity_limit_min,
            step = 0,
            slot_at = care_first_open_slot(
                EXCLUDED.times, EXCLUDED.days, EXCLUDED.window_min, greatest($11, p.paused_until),
                CASE WHEN p.paused_until IS NULL OR p.last_contact_at >= p.paused_until THEN p.last_contact_at END),
            due_at = care_first_open_slot(
                EXCLUDED.times, EXCLUDED.days, EXCLUDED.window_min, greatest($11, p.paused_until),
                CASE WHEN p.paused_until IS NULL OR p.last_contact_at >= p.paused_until THEN p.last_contact_at END),
            updated_at = $11
        """,
        recipient_id,
        list(times),
        list(days),
        window_min,
        quiet[0] if quiet else None,
        quiet[1] if quiet else None,
        guardian_after_min,
        case_after_min,
        urgent_after_min,
        accept_signals,
        now,
        *steps,
        inactivity_limit_min,
    )


async def get_recipient(conn: asyncpg.Connection, recipient_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(_RECIPIENT + " WHERE r.id = $1", recipient_id)


async def recipient_by_phone(conn: asyncpg.Connection, phone: str) -> asyncpg.Record | None:
    return await conn.fetchrow(_RECIPIENT + " WHERE r.phone = $1", phone)


async def recipient_id_for_citizen(conn: asyncpg.Connection, citizen_id: int) -> int | None:
    return await conn.fetchval(
        "SELECT r.id FROM care_recipients r JOIN citizens c ON c.phone = r.phone WHERE c.id = $1", citizen_id
    )


# The plan's ladder state and the person's contact details, with their guardians' positions (what an answer's
# cancellations need), the plan locked until the transaction ends.
_LOCK_PLAN = """
    SELECT p.recipient_id, p.slot_at, p.step, p.window_min, p.paused_until, p.accept_signals, p.times, p.days,
           r.name, r.phone, r.language, r.district, r.contact_by, r.reach_despite_opt_out,
           (SELECT c.id FROM citizens c WHERE c.phone = r.phone) AS citizen_id,
           ARRAY(SELECT g.position FROM guardians g WHERE g.recipient_id = p.recipient_id ORDER BY g.position)
               AS guardian_positions
    FROM checkin_plans p JOIN care_recipients r ON r.id = p.recipient_id
"""


async def lock_plan(conn: asyncpg.Connection, recipient_id: int) -> asyncpg.Record | None:
    """The plan of a recipient, locked (``_LOCK_PLAN``)."""
    return await conn.fetchrow(_LOCK_PLAN + " WHERE p.recipient_id = $1 FOR UPDATE OF p", recipient_id)


async def lock_plan_of_citizen(conn: asyncpg.Connection, citizen_id: int) -> asyncpg.Record | None:
    """The plan of the recipient a citizen's account is (by phone), locked, in the same one statement."""
    return await conn.fetchrow(
        _LOCK_PLAN + " JOIN citizens me ON me.phone = r.phone WHERE me.id = $1 FOR UPDATE OF p", citizen_id
    )


async def guardians_of(conn: asyncpg.Connection, recipient_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT position, name, phone, language FROM guardians WHERE recipient_id = $1 ORDER BY position",
        recipient_id,
    )


_INSERT_CHECKIN = (
    "INSERT INTO checkins (recipient_id, channel, kind, body, device_id, at) VALUES ($1, $2, $3, $4, $5, $6)"
)


async def insert_checkin(
    conn: asyncpg.Connection,
    *,
    recipient_id: int,
    channel: str,
    kind: str,
    body: str | None,
    device_id: str | None,
    at: datetime,
) -> None:
    """A check-in that changes nothing in the plan (``insert_answering_checkin`` for one that does)."""
    await conn.execute(_INSERT_CHECKIN, recipient_id, channel, kind, body, device_id, at)


# A check-in's row and what it does to the plan, in one statement: it closes the ladder (``close_ladder``) or
# notes the contact (``note_contact``). $6 is the check-in's time.
_WITH_CHECKIN = f"WITH checkin AS ({_INSERT_CHECKIN})\n"
_CLOSING = """
    UPDATE checkin_plans
    SET step = 0,
        slot_at = care_next_slot(times, days, greatest($6, slot_at)),
        due_at = care_next_slot(times, days, greatest($6, slot_at)),
        last_contact_at = greatest(last_contact_at, $6), updated_at = $6
    WHERE recipient_id = $1
"""
_NOTING = "UPDATE checkin_plans SET last_contact_at = greatest(last_contact_at, $6) WHERE recipient_id = $1"


async def insert_answering_checkin(
    conn: asyncpg.Connection,
    *,
    recipient_id: int,
    channel: str,
    kind: str,
    body: str | None,
    device_id: str | None,
    at: datetime,
    closes: bool,
) -> None:
    """A check-in that counts: its row, and the ladder closed (``closes``) or the contact noted."""
    await conn.execute(
        _WITH_CHECKIN + (_CLOSING if closes else _NOTING), recipient_id, channel, kind, body, device_id, at
    )


async def close_ladder(conn: asyncpg.Connection, *, recipient_id: int, at: datetime) -> None:
    """A sign of life: watch for the next check-in time after ``at`` (or after the slot it answered)."""
    await conn.execute(
        """
        UPDATE checkin_plans
        SET step = 0,
            slot_at = care_next_slot(times, days, greatest($2, slot_at)),
            due_at = care_next_slot(times, days, greatest($2, slot_at)),
            last_contact_at = greatest(last_contact_at, $2), updated_at = $2
        WHERE recipient_id = $1
        """,
        recipient_id,
        at,
    )


async def note_contact(conn: asyncpg.Connection, *, recipient_id: int, at: datetime) -> None:
    await conn.execute(
        "UPDATE checkin_plans SET last_contact_at = greatest(last_contact_at, $2) WHERE recipient_id = $1",
        recipient_id,
        at,
    )


async def pause(conn: asyncpg.Connection, *, recipient_id: int, until: datetime, reason: str, now: datetime) -> bool:
    status = await conn.execute(
        """
        UPDATE checkin_plans
        SET paused_until = $2, pause_reason = $3, step = 0,
            slot_at = care_next_slot(times, days, $2), due_at = care_next_slot(times, days, $2), updated_at = $4
        WHERE recipient_id = $1
        """,
        recipient_id,
        until,
        reason,
        now,
    )
    return status == "UPDATE 1"


async def resume(conn: asyncpg.Connection, *, recipient_id: int, now: datetime) -> bool:
    status = await conn.execute(
        """
        UPDATE checkin_plans
        SET paused_until = NULL, pause_reason = NULL, step = 0, inactivity_from = $2,
            slot_at = care_next_slot(times, days, $2), due_at = care_next_slot(times, days, $2), updated_at = $2
        WHERE recipient_id = $1
        """,
        recipient_id,
        now,
    )
    return status == "UPDATE 1"


async def advance_due(conn: asyncpg.Connection, *, now: datetime, limit: int) -> list[asyncpg.Record]:
    """Advance every plan whose next step is due by exactly one step, recording the step taken.

    Steps: 1 reminder at the slot, 2 second reminder when the window closes, 3 guardian, 4 case, 5 urgent;
    after step 5 the plan waits for its next slot. A step already recorded for (plan, slot) is not taken
    again, and ``SKIP LOCKED`` keeps concurrent sweeps (or a check-in in flight) off each other's plans.
    Returns, for each step taken, what the messages need.
    """
    return await conn.fetch(
        """
        WITH due AS (
            SELECT recipient_id, step AS before, slot_at AS slot
            FROM checkin_plans
            WHERE due_at <= $1
            ORDER BY due_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        ), moved AS (
            UPDATE checkin_plans p
            SET step = CASE WHEN p.step = 4 THEN 0 ELSE p.step + 1 END,
                slot_at = CASE WHEN p.step = 4 THEN care_next_slot(p.times, p.days, greatest($1, p.slot_at))
                               ELSE p.slot_at END,
                due_at = CASE p.step
                    WHEN 0 THEN p.slot_at + make_interval(mins => p.window_min)
                    WHEN 1 THEN p.slot_at + make_interval(mins => p.window_min + p.guardian_after_min)
                    WHEN 2 THEN p.slot_at + make_interval(mins => p.window_min + p.guardian_after_min
                                                                  + p.case_after_min)
                    WHEN 3 THEN p.slot_at + make_interval(mins => p.window_min + p.guardian_after_min
                                                                  + p.case_after_min + p.urgent_after_min)
                    ELSE care_next_slot(p.times, p.days, greatest($1, p.slot_at)) END,
                updated_at = $1
            FROM due
            WHERE p.recipient_id = due.recipient_id
            RETURNING p.recipient_id, due.slot, due.before + 1 AS taken
        ), steps AS (
            INSERT INTO care_steps (recipient_id, slot_at, step, taken_at)
            SELECT recipient_id, slot, taken, $1 FROM moved
            ON CONFLICT DO NOTHING
            RETURNING recipient_id, slot_at, step
        )
        -- The quiet hours by the plan's key, not by joining the two CTEs: a CTE has no index, and when the
        -- statistics have not seen a burst of due plans (written since the last ANALYZE) the planner takes
        -- each for one row and joins them in a nested loop, 20,000 x 20,000 comparisons, past the statement
        -- timeout. The plan's row as it was before this statement is right here: the update leaves those
        -- columns alone.
        SELECT s.recipient_id, s.slot_at, s.step, p.quiet_start, p.quiet_end,
               p.first_ask_by, p.ask_again_by, p.guardian_by, p.urgent_by,
               r.name, r.phone, r.language, r.district, r.contact_by, r.reach_despite_opt_out,
               (SELECT c.id FROM citizens c WHERE c.phone = r.phone) AS citizen_id
        FROM steps s
        JOIN checkin_plans p ON p.recipient_id = s.recipient_id
        JOIN care_recipients r ON r.id = s.recipient_id
        """,
        now,
        limit,
    )


async def guardians_of_many(conn: asyncpg.Connection, recipient_ids: Sequence[int]) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT recipient_id, position, name, phone, language FROM guardians
        WHERE recipient_id = ANY($1::int8[]) ORDER BY recipient_id, position
        """,
        list(recipient_ids),
    )


async def steps_taken(conn: asyncpg.Connection, *, recipient_id: int, slot_at: datetime) -> int:
    """The highest ladder step taken for this slot (0 when none)."""
    return await conn.fetchval(
        "SELECT coalesce(max(step), 0) FROM care_steps WHERE recipient_id = $1 AND slot_at = $2",
        recipient_id,
        slot_at,
    )


async def people_in(
    conn: asyncpg.Connection,
    districts: Sequence[str],
    polygons: Sequence[str] = (),
    precise: Sequence[str] = (),
    dongs: Sequence[str] = (),
) -> list[asyncpg.Record]:
    """Everyone in care in these districts, or whose home lies in one of the polygons (PostgreSQL polygon text,
    ``geo.polygon_literal``, and ``precise`` the same scaled by ``geo.PRECISE_SCALE``: the first test uses the
    index, the second is exact), or was given only as one of these dongs, once each, by id, with what a message to
    them (their plan's steps too) and a shelter search need."""
    return await conn.fetch(
        f"""
        SELECT r.id AS recipient_id, r.name, r.phone, r.language, r.district, r.contact_by,
               r.reach_despite_opt_out, r.home_lat, r.home_lon, r.home_dong,
               p.first_ask_by, p.ask_again_by, p.guardian_by, p.urgent_by,
               (SELECT c.id FROM citizens c WHERE c.phone = r.phone) AS citizen_id
        FROM care_recipients r LEFT JOIN checkin_plans p ON p.recipient_id = r.id
        WHERE r.id IN (
            SELECT id FROM care_recipients WHERE district = ANY($1::text[])
            UNION
            SELECT i.id FROM care_recipients i JOIN unnest($2::text[], $4::text[]) AS g (shape, precise)
                ON i.home <@ g.shape::polygon
               AND point(i.home_lon * {PRECISE_SCALE}, i.home_lat * {PRECISE_SCALE}) <@ g.precise::polygon
            UNION
            SELECT id FROM care_recipients WHERE home IS NULL AND home_dong = ANY($3::text[])
        )
        ORDER BY r.id
        """,  # noqa: S608
        list(districts),
        list(polygons),
        list(dongs),
        list(precise),
    )


async def enrolment_by_phone(conn: asyncpg.Connection, phone: str) -> asyncpg.Record | None:
    """The enrolment of a phone number: its id, language, district and home (a point, or only its dong), or None."""
    return await conn.fetchrow(
        "SELECT id, language, district, home_lat, home_lon, home_dong FROM care_recipients WHERE phone = $1", phone
    )


async def lock_recipient(conn: asyncpg.Connection, recipient_id: int) -> asyncpg.Record | None:
    """The person's district and phone, their row locked until the transaction ends."""
    return await conn.fetchrow("SELECT id, district, phone FROM care_recipients WHERE id = $1 FOR UPDATE", recipient_id)


async def update_details(
    conn: asyncpg.Connection,
    *,
    recipient_id: int,
    name: str,
    address: str,
    language: str,
    contact_by: str,
    born: date | None,
    home: HomeRow | None,
    now: datetime,
) -> None:
    await conn.execute(
        """
        UPDATE care_recipients
        SET name = $2, address = $3, language = $4, contact_by = $5, birth_date = $6,
            home_lat = $7, home_lon = $8, home_dong = $9, updated_at = $10
        WHERE id = $1
        """,
        recipient_id,
        name,
        address,
        language,
        contact_by,
        born,
        home.lat if home else None,
        home.lon if home else None,
        home.dong if home else None,
        now,
    )


async def delete_guardians(conn: asyncpg.Connection, recipient_id: int) -> None:
    """Before a new list is written with ``insert_guardians``, in the same transaction."""
    await conn.execute("DELETE FROM guardians WHERE recipient_id = $1", recipient_id)
