"""The embedded default: a channel that logs each message as sent, for when no provider is configured."""

from __future__ import annotations

import uuid
from collections import deque

import structlog

from api.phones import mask_phone
from notifications.channels.base import OutboundMessage, SendResult

log = structlog.get_logger(__name__)


class ConsoleChannel:
    """Logs every message (the body whole, the number masked) and keeps the most recent ones.

    On the embedded default this is how a developer reads a sign-in code: off the console.
    """

    def __init__(self, name: str = "console", *, keep: int = 1000) -> None:
        self.name = name
        self.sent: deque[OutboundMessage] = deque(maxlen=keep)

    async def send(self, message: OutboundMessage) -> SendResult:
        provider_id = f"console-{uuid.uuid4().hex[:16]}"
        self.sent.append(message)
        log.info(
            "message sent to console",
            channel=message.channel,
            to=mask_phone(message.to) if message.channel == "sms" else message.to,
            title=message.title,
            body=message.body,
            provider_id=provider_id,
        )
        return SendResult(ok=True, provider_id=provider_id)
