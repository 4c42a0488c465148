"""What bench/scaleout.py checks once the load is over and the outbox has drained; each check returns its figures.

Every invariant is stated where it is checked. A check that fails says so in ``ok: false`` and the counts beside.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import msgspec

from api.platform.db.embedded import with_database

if TYPE_CHECKING:
    from bench.scaleout import Outcome


async def in_flight(url: str) -> list[int]:
    """The outbox rows being sent right now: a restart may cut them between the provider's answer and our commit."""
    conn = await asyncpg.connect(url)
    try:
        return [r["id"] for r in await conn.fetch("SELECT id FROM outbox WHERE state = 'sending' ORDER BY id")]
    finally:
        await conn.close()


def _ok(outcome: Outcome) -> bool:
    return outcome.status is not None and 200 <= outcome.status < 300


async def check_all(
    url: str, *, server_url: str, tracker_db: str, outcomes: list[Outcome], fakes: dict, restart: dict
) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        checks = {
            "checkins": await checkins(conn, outcomes),
            "reports": await reports(conn, outcomes),
            "warning": await warning(conn, outcomes),
            "outbox": await outbox(conn, fakes, set(restart.get("outbox_rows_sending_at_restart", []))),
            "ladder": await ladder(conn),
        }
    finally:
        await conn.close()
    try:
        tracker = await asyncpg.connect(with_database(server_url, tracker_db))
    except asyncpg.InvalidCatalogNameError:
        checks["chat"] = {"ok": True, "skipped": "no tracker store: the chatbot was off"}
    else:
        try:
            checks["chat"] = await chat(tracker, outcomes)
        finally:
            await tracker.close()
    checks["all_ok"] = all(c["ok"] for c in checks.values() if isinstance(c, dict))
    return checks


async def checkins(conn: asyncpg.Connection, outcomes: list[Outcome]) -> dict[str, Any]:
    """Every 2xx check-in is a row: per person, rows ≥ 2xx answers, and ≤ requests sent (a retry adds none)."""
    mine = [o for o in outcomes if o.kind == "checkin"]
    ok_by, sent_by = Counter(), Counter()
    for o in mine:
        sent_by[o.extra["recipient_phone"]] += 1
        if _ok(o):
            ok_by[o.extra["recipient_phone"]] += 1
    rows = dict(
        await conn.fetch(
            "SELECT r.phone, count(*) FROM checkins c JOIN care_recipients r ON r.id = c.recipient_id "
            "WHERE c.channel = 'app' GROUP BY r.phone"
        )
    )
    missing = sum(max(0, n - rows.get(phone, 0)) for phone, n in ok_by.items())
    doubled = sum(max(0, rows.get(phone, 0) - n) for phone, n in sent_by.items())
    committed_without_2xx = sum(rows.values()) - sum(ok_by.values())
    return {
        "ok": missing == 0 and doubled == 0,
        "answered_2xx": sum(ok_by.values()),
        "rows": sum(rows.values()),
        "2xx_missing_from_database": missing,
        "rows_beyond_requests_sent": doubled,
        "committed_but_answer_lost": committed_without_2xx,
    }


async def reports(conn: asyncpg.Connection, outcomes: list[Outcome]) -> dict[str, Any]:
    """Every 2xx report is its row (by the id it was answered with), and no request made two rows."""
    mine = [o for o in outcomes if o.kind == "report"]
    ids = [int(o.body["id"]) for o in mine if _ok(o) and "id" in o.body]
    found = {r["id"] for r in await conn.fetch("SELECT id FROM hazard_reports WHERE id = ANY($1::bigint[])", ids)}
    per_note = Counter(
        r["note"]
        for r in await conn.fetch(
            "SELECT split_part(description, ' ', 3) AS note FROM hazard_reports WHERE source <> 'chat'"
        )
    )
    twice = sum(1 for n in per_note.values() if n > 1)
    answered = sum(_ok(o) for o in mine)
    return {
        "ok": len(found) == len(ids) == answered and twice == 0,
        "answered_2xx": answered,
        "found_in_database": len(found),
        "rows": sum(per_note.values()),
        "requests_with_two_rows": twice,
        "committed_but_answer_lost": sum(per_note.values()) - len(found),
    }


async def warning(conn: asyncpg.Connection, outcomes: list[Outcome]) -> dict[str, Any]:
    """The warning's 2xx names its alert, which is there, once."""
    mine = [o for o in outcomes if o.kind == "warning"]
    ids = [o.body.get("alert_id") for o in mine if _ok(o)]
    rows = await conn.fetchval("SELECT count(*) FROM alerts WHERE identifier = 'bench-scaleout-city-wide'")
    found = await conn.fetchval("SELECT count(*) FROM alerts WHERE id = ANY($1::bigint[])", [i for i in ids if i])
    notices = await conn.fetchval("SELECT count(*) FROM outbox")
    return {
        "ok": bool(ids) and found == 1 and rows == 1,
        "answered_2xx": len(ids),
        "alert_rows": rows,
        "outbox_rows_total": notices,
    }


async def outbox(conn: asyncpg.Connection, fakes: dict, flying: set[int]) -> dict[str, Any]:
    """Each row the outbox calls sent reached a fake exactly once; a row that reached one twice was in flight at the
    restart (sending just before it, or with an unknown outcome recorded); a row not sent reached none."""
    rows = await conn.fetch(
        "SELECT id, notice_id, channel, recipient, state, attempts, unknown_since IS NOT NULL AS unknown FROM outbox"
    )
    at_fakes = await _sent_at_fakes(fakes)
    by_key = {
        (r["channel"], r["notice_id"], r["recipient"]) if r["channel"] == "push" else ("sms", r["id"]): r for r in rows
    }
    counts: Counter = Counter()
    for key in at_fakes:
        counts[key] += 1
    states = Counter(r["state"] for r in rows)
    sent_once = sent_twice_in_flight = sent_twice_otherwise = sent_not_at_fake = unsent_but_arrived = 0
    for key, row in by_key.items():
        n = counts.get(key, 0)
        sent = row["state"] in ("sent", "delivered")
        if sent and n == 1:
            sent_once += 1
        elif n > 1 and (row["id"] in flying or row["unknown"]):
            sent_twice_in_flight += 1
        elif n > 1:
            sent_twice_otherwise += 1
        elif sent and n == 0:
            sent_not_at_fake += 1
        elif not sent and n > 0 and row["state"] != "unknown":
            unsent_but_arrived += 1
    unmatched = sum(n for key, n in counts.items() if key not in by_key)
    return {
        "ok": sent_twice_otherwise == 0 and sent_not_at_fake == 0 and unsent_but_arrived == 0 and unmatched == 0,
        "rows": len(rows),
        "states": dict(states),
        "sent_exactly_once": sent_once,
        "sent_twice_and_in_flight_at_restart": sent_twice_in_flight,
        "in_flight_at_restart": len(flying),
        "sent_twice_otherwise": sent_twice_otherwise,
        "marked_sent_but_not_at_fake": sent_not_at_fake,
        "not_sent_but_at_fake": unsent_but_arrived,
        "at_fake_but_no_row": unmatched,
        "messages_at_fakes": len(at_fakes),
    }


async def _sent_at_fakes(fakes: dict) -> list[tuple]:
    """What the fakes received, keyed as the outbox row it came from: an SMS by the outbox id in its status
    callback; a push by its notice (the collapse key) and its token or topic."""
    keys: list[tuple] = []
    async with httpx.AsyncClient(timeout=30) as http:
        sms = (await http.get(f"{fakes['twilio']}/_fake/sent")).json()
        for record in sms:
            callback = record.get("StatusCallback") or ""
            ref = parse_qs(urlsplit(callback).query).get("outbox", [None])[0]
            keys.append(("sms", int(ref)) if ref else ("sms", None))
        offset = 0
        while True:
            page = (await http.get(f"{fakes['fcm']}/_fake/sent", params={"offset": offset, "limit": 1000})).json()
            for message in page["messages"]:
                notice = int(message.get("android", {}).get("collapse_key") or 0)
                recipient = message.get("topic") or message.get("token")
                keys.append(("push", notice, recipient))
            offset += len(page["messages"])
            if not page["messages"] or offset >= page["total"]:
                break
    return keys


async def ladder(conn: asyncpg.Connection) -> dict[str, Any]:
    """No ladder step was taken twice for one (person, slot), and each step's notice was enqueued once."""
    steps = await conn.fetch("SELECT step, count(*) AS n FROM care_steps GROUP BY step ORDER BY step")
    twice = await conn.fetchval(
        "SELECT count(*) FROM (SELECT 1 FROM care_steps GROUP BY recipient_id, slot_at, step HAVING count(*) > 1) t"
    )
    rows_twice = await conn.fetchval(
        "SELECT count(*) FROM (SELECT 1 FROM outbox GROUP BY notice_id, channel, recipient HAVING count(*) > 1) t"
    )
    checks = await conn.fetchval("SELECT count(*) FROM safety_checks")
    return {
        "ok": twice == 0 and rows_twice == 0,
        "steps_taken": {str(r["step"]): r["n"] for r in steps},
        "steps_taken_twice": twice,
        "outbox_rows_for_one_recipient_of_one_notice_twice": rows_twice,
        "safety_checks_opened": checks,
    }


async def chat(tracker: asyncpg.Connection, outcomes: list[Outcome]) -> dict[str, Any]:
    """Every answered chat turn is in the tracker store, and each conversation's turns are whole: each user message's
    turn ends (action_listen) before the next user message is taken (no two turns interleaved)."""
    mine = [o for o in outcomes if o.kind == "chat"]
    answered = [o for o in mine if _ok(o) and o.body.get("bot_available")]
    # A turn ends with action_listen: two user messages with none between them were handled at once.
    rows = await tracker.fetch(
        "SELECT sender_id, type_name, action_name, data FROM events "
        "WHERE type_name = 'user' OR (type_name = 'action' AND action_name = 'action_listen') ORDER BY id"
    )
    said: Counter = Counter()
    sequence: dict[str, list[str]] = {}
    for r in rows:
        if r["type_name"] == "user":
            said[(r["sender_id"], msgspec.json.decode(r["data"]).get("text"))] += 1
        sequence.setdefault(r["sender_id"], []).append(r["type_name"])
    wanted = Counter((o.extra["sender"], o.extra["text"]) for o in answered)
    missing = sum(max(0, n - said.get(key, 0)) for key, n in wanted.items())
    interleaved = sum(1 for kinds in sequence.values() for a, b in itertools.pairwise(kinds) if a == b == "user")
    return {
        "ok": missing == 0 and interleaved == 0,
        "answered_by_the_bot": len(answered),
        "apologised": sum(1 for o in mine if _ok(o) and not o.body.get("bot_available")),
        "turns_missing_from_tracker": missing,
        "user_messages_handled_at_once": interleaved,
        "conversations": len(sequence),
    }
