"""Who hears of an incident's status change, and what: each reporter (citing their own report number, as often
as they chose) and each follower (of the end only, unless they chose every change), in their language."""

from __future__ import annotations

import asyncpg

from api.accounts import service as accounts
from api.hazards import messages
from api.hazards import word_repository as repository
from notifications.service import Outgoing


def hears(*, every_change: bool, status: str) -> bool:
    """Whether someone who chose every change (or only the end) hears of a move to ``status``."""
    return every_change or status in messages.FINAL_STATUSES


async def status_messages(
    conn: asyncpg.Connection, *, incident_id: int, category: str, status: str, reason: str | None, event_id: int
) -> list[Outgoing]:
    """The messages a move of the incident to ``status`` sends, one per person, keyed by the change."""
    reporters = [
        r
        for r in await repository.reporters_to_tell(conn, incident_id)
        if hears(every_change=r["every_change"], status=status)
    ]
    followers = []
    if status in messages.FOLLOWED_BY_STATUS:
        followers = [
            f
            for f in await repository.followers_to_tell(conn, incident_id)
            if hears(every_change=f["every_change"], status=status)
        ]
    people = {
        c.id: c
        for c in await accounts.citizens_by_id(
            conn, citizen_ids=[r["citizen_id"] for r in reporters] + [r["citizen_id"] for r in followers]
        )
    }
    items = []
    for r in reporters:
        c = people.get(r["citizen_id"])
        if c is None:
            continue
        lang = c.language.value
        items.append(
            Outgoing(
                # One message per (incident, status change, citizen), however often this is retried.
                dedupe_key=f"hazard-status:{incident_id}:{event_id}:{c.id}",
                template=messages.BY_STATUS[status],
                params={
                    "category": messages.category_name(category, lang),
                    "ref": messages.report_ref(r["report_id"], lang),
                    "note": messages.note(reason, lang),
                },
                language=lang,
                phone=c.phone,
                citizen_id=c.id,
            )
        )
    for f in followers:
        c = people.get(f["citizen_id"])
        if c is None:
            continue
        lang = c.language.value
        items.append(
            Outgoing(
                dedupe_key=f"hazard-status:{incident_id}:{event_id}:{c.id}",
                template=messages.FOLLOWED_BY_STATUS[status],
                params={
                    "category": messages.category_name(category, lang),
                    "ref": messages.incident_ref(incident_id, lang),
                    "note": messages.note(reason, lang),
                },
                language=lang,
                phone=c.phone,
                citizen_id=c.id,
            )
        )
    return items


async def reopen_messages(
    conn: asyncpg.Connection, *, incident_id: int, category: str, note: str | None, event_id: int, by: int
) -> list[Outgoing]:
    """Tell the other reporters who chose every change that a reporter's "not fixed" reopened it."""
    rows = [
        r for r in await repository.reporters_to_tell(conn, incident_id) if r["every_change"] and r["citizen_id"] != by
    ]
    people = await accounts.citizens_by_id(conn, citizen_ids=[r["citizen_id"] for r in rows])
    first = {r["citizen_id"]: r["report_id"] for r in rows}
    return [
        Outgoing(
            dedupe_key=f"hazard-reopen:{incident_id}:{event_id}:{c.id}",
            template=messages.REOPENED,
            params={
                "category": messages.category_name(category, c.language.value),
                "ref": messages.report_ref(first[c.id], c.language.value),
                "note": messages.note(note, c.language.value),
            },
            language=c.language.value,
            phone=c.phone,
            citizen_id=c.id,
        )
        for c in people
    ]
