"""Delivery receipts: Twilio's status callbacks, and a citizen acknowledging a push."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import structlog

from api.platform.errors import NotFound
from api.platform.phones import mask_phone
from notifications import recipients_repository, repository
from notifications.schemas import Acknowledged

log = structlog.get_logger(__name__)

# Twilio's MessageStatus values that say how a message ended; the others (queued, sending, sent…) are steps.
_FINAL = {"delivered": "delivered", "undelivered": "failed", "failed": "failed"}
_OPTED_OUT = "21610"


async def record_sms_status(
    conn: asyncpg.Connection,
    *,
    message_sid: str,
    status: str,
    error_code: str | None,
    now: datetime,
    outbox_id: int | None = None,
    to: str | None = None,
) -> str | None:
    """Apply a status callback; the state it recorded, or None when the status is not final or unknown.

    A callback names the delivery it is for (``outbox_id``, from the callback URL we gave), so it also tells us
    of a message Twilio accepted while our send went unanswered: that delivery takes the sid and is sent, and is
    not sent again.
    """
    if outbox_id is not None and to:
        async with conn.transaction():
            adopted = await repository.adopt_provider_id(
                conn, outbox_id=outbox_id, provider_id=message_sid, recipient=to, now=now
            )
        if adopted:
            log.info("sms found by its status callback", outbox_id=outbox_id, message_sid=message_sid)
    state = _FINAL.get(status)
    if state is None:
        return None
    error = f"twilio {error_code}: {status}" if error_code else status if state == "failed" else None
    async with conn.transaction():
        row = await repository.record_status(conn, provider_id=message_sid, state=state, error=error, now=now)
        if row is None:
            log.warning("status callback for a message we do not know", message_sid=message_sid, status=status)
            return None
        if error_code == _OPTED_OUT:
            await recipients_repository.opt_out_many(conn, phones=[row["recipient"]], source="provider", now=now)
    log.info("sms status", message_sid=message_sid, state=row["state"], to=mask_phone(row["recipient"]))
    return row["state"]


async def acknowledge(conn: asyncpg.Connection, *, notice_id: int, citizen_id: int, now: datetime) -> Acknowledged:
    """The citizen saw the notice: its pushes are confirmed and the SMS held back for it is not sent."""
    async with conn.transaction():
        acked = await repository.acknowledge(conn, notice_id=notice_id, citizen_id=citizen_id, now=now)
    if not acked:
        raise NotFound(f"No notice {notice_id} was pushed to you.", code="notice_not_found")
    return Acknowledged(notice_id=notice_id, acknowledged=True)
