"""The interface every channel implements; nothing provider-specific crosses it."""

from __future__ import annotations

from typing import Any, Literal, Protocol

import msgspec

ChannelName = Literal["sms", "push"]


class OutboundMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One message to one recipient: an E.164 number for SMS, a device token or topic for push."""

    channel: ChannelName
    to: str
    body: str
    title: str | None = None
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class SendResult(msgspec.Struct, frozen=True, kw_only=True):
    """What the provider said. ``permanent`` failures are never retried."""

    ok: bool
    provider_id: str | None = None
    error: str | None = None
    permanent: bool = False


class Channel(Protocol):
    name: str

    async def send(self, message: OutboundMessage) -> SendResult: ...
