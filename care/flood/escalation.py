"""Flood checks that reach the district's duty worker: a call for help at once (urgent), and silence (nobody, not
the household nor any partner, has answered within ``SILENT_AFTER``) from the minute job.

The worker is the first reachable person of the district's chain now (its shift, then the city night desk's), as
``care.on_duty`` finds them for urgent cases, told by SMS and, with the app, a push. Each check's silence and
its call for help are each told once: the outbox key is ``flood:{check}:silent`` or ``flood:{check}:help``, and
the check records when. With nobody on duty to tell, it stays due and the next run tries again, logged loudly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
import structlog

from api.platform import boundaries
from care import on_duty_repository, rota
from care.addressing import local
from care.flood import board_repository as repository
from care.flood import checks_repository, messages
from notifications.schemas import Priority
from notifications.service import Notifier, Outgoing

log = structlog.get_logger(__name__)

BATCH = 5_000


async def sweep(conn: asyncpg.Connection, *, notifier: Notifier, now: datetime) -> dict[str, int]:
    """Close the checks that ran out, and tell the duty workers of every due call for help and silence."""
    async with conn.transaction():
        expired = await checks_repository.close_expired(conn, now=now)
        told = await escalate(conn, notifier=notifier, now=now)
    return {k: v for k, v in {"expired": expired, **told}.items() if v}


async def escalate(
    conn: asyncpg.Connection, *, notifier: Notifier, now: datetime, check_ids: Sequence[int] | None = None
) -> dict[str, int]:
    """Tell the duty workers of the due calls for help (only these checks', when given) and, from the job, of the
    due silences; in the caller's transaction."""
    helps = await repository.due_help(conn, now=now, limit=BATCH, check_ids=check_ids)
    silent = [] if check_ids is not None else await repository.due_silent(conn, now=now, limit=BATCH)
    if not helps and not silent:
        return {}
    duty = await _on_duty(conn, sorted({r["district"] for r in (*helps, *silent)}), now=now)
    items: list[Outgoing] = []
    told: dict[str, list[int]] = {"help": [], "silent": []}
    for kind, rows in (("help", helps), ("silent", silent)):
        for r in rows:
            worker = duty.get(r["district"])
            if worker is None:
                log.warning("flood check with nobody on duty to tell", check_id=r["check_id"], district=r["district"])
                continue
            items += _to_worker(worker, kind, r, now=now)
            told[kind].append(r["check_id"])
    for kind, ids in told.items():
        if ids:
            await repository.mark_told(conn, kind=kind, check_ids=ids, now=now)
    await notifier.enqueue_many(conn, items=items, now=now)
    return {"help_told": len(told["help"]), "silence_told": len(told["silent"])}


async def _on_duty(conn: asyncpg.Connection, districts: Sequence[str], *, now: datetime) -> dict[str, asyncpg.Record]:
    """The first reachable person on duty now for each district, where there is one."""
    shifts = await on_duty_repository.rotas(conn, districts)
    chains = {d: rota.chain(shifts.get(d, []), shifts.get(None, []), now) for d in districts}
    reachable = await on_duty_repository.contacts(conn, sorted({s for c in chains.values() for s in c}))
    found = {}
    for district, chain in chains.items():
        first = next((s for s in chain if s in reachable), None)
        if first is not None:
            found[district] = reachable[first]
    return found


def _to_worker(worker: asyncpg.Record, kind: str, r: asyncpg.Record, *, now: datetime) -> list[Outgoing]:
    dong = boundaries.dongs().get(r["dong"])
    params: dict[str, object] = {
        "dong_ko": dong.name_ko if dong else r["dong"],
        "dong_en": dong.name_en if dong else r["dong"],
        "household": r["household"],
        "address": r["address"][:40],
        "code": r["household_id"],
    }
    if kind == "help":
        who = r["role"] if r["who"] == "partner" else r["who"] or "household"
        who_ko, who_en = messages.ROLE_WORDS.get(who, (who, who))
        params |= {"who_ko": who_ko, "who_en": who_en, "phone": r["phone"] or "-", "at": local(r["help_at"] or now)}
        template = messages.DUTY_HELP
    else:
        params["minutes"] = max(1, int((now - r["asked_at"]).total_seconds() // 60))
        template = messages.DUTY_SILENT
    key = f"flood:{r['check_id']}:{kind}"
    # A worker on duty is told whatever they once replied to other texts; a push too, at once, with the app.
    items = [
        Outgoing(
            dedupe_key=key,
            template=template,
            params=params,
            phone=worker["phone"],
            priority=Priority.urgent,
            critical=True,
            overrides_opt_out=True,
        )
    ]
    if worker["app"] is not None:
        items.append(
            Outgoing(
                dedupe_key=f"{key}:push",
                template=template,
                params=params,
                citizen_id=worker["app"],
                priority=Priority.urgent,
                critical=True,
            )
        )
    return items
