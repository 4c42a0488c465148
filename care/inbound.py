"""Texts from enrolled people, as the keyword router read them: a check-in, a call for help, or anything else
(still a sign of life, then the bot's)."""

from __future__ import annotations

import asyncpg

from care import on_duty, repository, service
from notifications.inbound import InboundSms, Keyword
from notifications.service import Notifier


async def handle_sms(conn: asyncpg.Connection, sms: InboundSms, notifier: Notifier) -> str | None:
    """The inbound-SMS handler: takes check-in and help words from enrolled numbers.

    Any other text from an enrolled number is recorded as a sign of life and then left to the next handler
    (the chatbot), which answers it; texts from numbers not enrolled are left alone.
    """
    if await on_duty.acknowledge_by_reply(conn, sms=sms, notifier=notifier):
        return "care.on_duty"  # a worker on duty answering the SMS that told them of a case
    row = await repository.recipient_by_phone(conn, sms.phone)
    if row is None:
        return None
    if sms.keyword is Keyword.help:
        await service.ask_for_help(
            conn, notifier=notifier, recipient_id=row["id"], channel="sms", at=sms.received_at, body=sms.body
        )
        return "care.help"
    kind = "checkin" if sms.keyword is Keyword.checkin else "message"
    await service.check_in(
        conn,
        notifier=notifier,
        recipient_id=row["id"],
        channel="sms",
        kind=kind,
        at=sms.received_at,
        body=sms.body,
    )
    return "care.checkin" if kind == "checkin" else None
