"""Read models for operators: deliveries and their states."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from notifications import deliveries_repository as repository
from notifications.schemas import DeliveryPage, DeliveryRead, DeliveryState, DeliverySummary, Priority, StateCount


async def list_deliveries(
    conn: asyncpg.Connection,
    *,
    recipient: str | None,
    channel: str | None,
    state: DeliveryState | None,
    since: datetime | None,
    until: datetime | None,
    notice_id: int | None,
    before_id: int | None,
    limit: int,
) -> DeliveryPage:
    filters = {
        "recipient": recipient,
        "channel": channel,
        "state": state.value if state else None,
        "since": since,
        "until": until,
        "notice_id": notice_id,
        "before_id": before_id,
    }
    rows = await repository.list_deliveries(conn, filters=filters, limit=limit)
    items = [
        msgspec.convert({**dict(r), "priority": Priority(r["priority"]).name}, DeliveryRead, strict=False) for r in rows
    ]
    return DeliveryPage(items=items, next_before_id=items[-1].id if len(items) == limit else None)


async def summary(conn: asyncpg.Connection, *, since: datetime | None, until: datetime | None) -> DeliverySummary:
    rows = await repository.summary(conn, since=since, until=until)
    by_state: dict[str, int] = {}
    for r in rows:
        by_state[r["state"]] = by_state.get(r["state"], 0) + r["count"]
    return DeliverySummary(
        since=since,
        until=until,
        total=sum(by_state.values()),
        by_state=by_state,
        by_channel=[StateCount(channel=r["channel"], state=r["state"], count=r["count"]) for r in rows],
    )
