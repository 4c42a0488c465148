"""Texts for the chatbot: whatever the keyword routers and care left, kept now and forwarded after commit."""

from __future__ import annotations

import asyncpg
import structlog
from litestar.datastructures import State

from api.chat import conversation
from notifications.inbound import InboundSms
from notifications.service import Notifier

log = structlog.get_logger(__name__)

HANDLED_BY = "chat"


async def handle_sms(conn: asyncpg.Connection, sms: InboundSms, notifier: Notifier) -> str | None:
    """The last inbound-SMS handler: every text it is offered waits for the bot (never called from here)."""
    await conversation.queue_sms(
        conn, message_sid=sms.message_sid, phone=sms.phone, body=sms.body, received_at=sms.received_at
    )
    return HANDLED_BY


async def forward_after_commit(state: State, message_sid: str) -> None:
    """The fast path, run after the webhook's response; the ``chat.sms-replies`` job catches what it misses."""
    settings = state.settings
    try:
        await conversation.forward_sms(
            state.pool,
            state.rasa,
            state.notifier,
            message_sid=message_sid,
            lease_s=conversation.lease(settings.rasa.timeout_s),
        )
    except Exception:  # the job will forward it; a background task has no one else to tell
        log.exception("forwarding a text to the chatbot failed; the chat.sms-replies job will retry")
