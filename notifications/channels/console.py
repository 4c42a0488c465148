"""The embedded default: a channel that logs each message as sent, for when no provider is configured."""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Sequence

import structlog

from api.platform.phones import mask_phone
from notifications.channels.base import OutboundMessage, SendResult, TopicResult

log = structlog.get_logger(__name__)


class ConsoleChannel:
    """Logs every message (the body whole, the number masked) and keeps the most recent ones.

    On the embedded default this is how a developer reads a sign-in code: off the worker's console.
    """

    def __init__(self, name: str = "console", *, keep: int = 1000, batch_size: int = 500) -> None:
        self.name = name
        self.batch_size = batch_size
        self.sent: deque[OutboundMessage] = deque(maxlen=keep)
        self.topics: dict[str, set[str]] = {}

    async def send(self, message: OutboundMessage) -> SendResult:
        provider_id = f"console-{uuid.uuid4().hex[:16]}"
        self.sent.append(message)
        # The text itself leads the line, so that a sign-in code is read off the log at a glance.
        text = f"{message.title}: {message.body}" if message.title else message.body
        log.info(
            f"{message.channel} to {_loggable(message)} (console): {text}",
            channel=message.channel,
            to=_loggable(message),
            topic=message.topic,
            provider_id=provider_id,
        )
        return SendResult(ok=True, provider_id=provider_id)

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        return [await self.send(m) for m in messages]

    async def subscribe(self, tokens: Sequence[str], topic: str) -> list[TopicResult]:
        self.topics.setdefault(topic, set()).update(tokens)
        log.info("devices subscribed on console", topic=topic, devices=len(tokens))
        return [TopicResult(token=t, ok=True) for t in tokens]

    async def unsubscribe(self, tokens: Sequence[str], topic: str) -> list[TopicResult]:
        self.topics.get(topic, set()).difference_update(tokens)
        return [TopicResult(token=t, ok=True) for t in tokens]

    async def aclose(self) -> None:
        return None


def _loggable(message: OutboundMessage) -> str:
    if message.channel in ("sms", "voice"):
        return mask_phone(message.to)
    # A device token is a credential of sorts: enough of it to recognise, not to reuse.
    return message.to if message.topic or len(message.to) <= 12 else f"{message.to[:8]}…"
