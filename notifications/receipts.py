"""Delivery receipts: Twilio's status callbacks, SOLAPI's delivery reports, and a citizen acknowledging a push."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import structlog

from api.platform.errors import NotFound
from api.platform.phones import mask_phone, normalise_phone
from notifications import recipients_repository, repository
from notifications.schemas import Acknowledged

log = structlog.get_logger(__name__)

# Twilio's MessageStatus values that say how a message ended; the others (queued, sending, sent…) are steps.
_FINAL = {"delivered": "delivered", "undelivered": "failed", "failed": "failed"}
_OPTED_OUT = "21610"
# SOLAPI's status codes: received by the phone; still on its way; the person opted out (080 수신거부).
_SOLAPI_DELIVERED = "4000"
_SOLAPI_STEPS = frozenset({"2000", "3000"})
_SOLAPI_OPTED_OUT = frozenset({"1061", "2061"})


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
    await _adopt(conn, outbox_id=outbox_id, provider_id=message_sid, to=to, now=now)
    state = _FINAL.get(status)
    if state is None:
        return None
    error = f"twilio {error_code}: {status}" if error_code else status if state == "failed" else None
    return await _record(
        conn, provider_id=message_sid, state=state, error=error, opted_out=error_code == _OPTED_OUT, now=now
    )


async def record_solapi_report(
    conn: asyncpg.Connection,
    *,
    message_id: str,
    status_code: str,
    status_message: str | None,
    now: datetime,
    outbox_id: int | None = None,
    to: str | None = None,
) -> str | None:
    """Apply one SOLAPI delivery report (4000 delivered; 2000 and 3000 are steps; any other code failed).

    Like a Twilio callback, a report names its delivery (``customFields.outbox``), so it also settles one whose
    send went unanswered.
    """
    phone = _e164(to)
    await _adopt(conn, outbox_id=outbox_id, provider_id=message_id, to=phone, now=now)
    if status_code in _SOLAPI_STEPS:
        return None
    state = "delivered" if status_code == _SOLAPI_DELIVERED else "failed"
    error = f"solapi {status_code}: {(status_message or '').strip()}".rstrip(": ") if state == "failed" else None
    opted_out = status_code in _SOLAPI_OPTED_OUT
    return await _record(conn, provider_id=message_id, state=state, error=error, opted_out=opted_out, now=now)


async def _adopt(
    conn: asyncpg.Connection, *, outbox_id: int | None, provider_id: str, to: str | None, now: datetime
) -> None:
    if outbox_id is None or not to:
        return
    async with conn.transaction():
        adopted = await repository.adopt_provider_id(
            conn, outbox_id=outbox_id, provider_id=provider_id, recipient=to, now=now
        )
    if adopted:
        log.info("sms found by its delivery report", outbox_id=outbox_id, provider_id=provider_id)


async def _record(
    conn: asyncpg.Connection, *, provider_id: str, state: str, error: str | None, opted_out: bool, now: datetime
) -> str | None:
    async with conn.transaction():
        row = await repository.record_status(conn, provider_id=provider_id, state=state, error=error, now=now)
        if row is None:
            # A report for a message we do not know (another system on the account, or one purged): noted only.
            log.warning("delivery report for a message we do not know", provider_id=provider_id, state=state)
            return None
        if opted_out:
            await recipients_repository.opt_out_many(conn, phones=[row["recipient"]], source="provider", now=now)
    log.info("sms status", provider_id=provider_id, state=row["state"], to=mask_phone(row["recipient"]))
    return row["state"]


def _e164(phone: str | None) -> str | None:
    try:
        return normalise_phone(phone, mobile=False) if phone else None
    except ValueError:
        return None


async def acknowledge(conn: asyncpg.Connection, *, notice_id: int, citizen_id: int, now: datetime) -> Acknowledged:
    """The citizen saw the notice: its pushes are confirmed and the SMS held back for it is not sent."""
    async with conn.transaction():
        acked = await repository.acknowledge(conn, notice_id=notice_id, citizen_id=citizen_id, now=now)
    if not acked:
        raise NotFound(f"No notice {notice_id} was pushed to you.", code="notice_not_found")
    return Acknowledged(notice_id=notice_id, acknowledged=True)
