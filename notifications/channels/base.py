"""The interface every channel implements; nothing provider-specific crosses it."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

import msgspec

ChannelName = Literal["sms", "push"]


class OutboundMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One message to one recipient: an E.164 number for SMS; a device token, or a topic name, for push."""

    channel: ChannelName
    to: str
    body: str
    title: str | None = None
    data: dict[str, str] = msgspec.field(default_factory=dict)
    topic: bool = False
    urgent: bool = False
    ref: str | None = None


class Failure(StrEnum):
    """Why a send failed, in the terms the dispatcher acts on."""

    transient = "transient"  # network, 5xx, 429, quota: try again later
    bad_recipient = "bad_recipient"  # unregistered token or invalid number: never again to this address
    opted_out = "opted_out"  # the person opted out at the provider: never retry, remember it
    rejected = "rejected"  # the provider refused this message for good


class SendResult(msgspec.Struct, frozen=True, kw_only=True):
    """What the provider said about one message."""

    ok: bool
    provider_id: str | None = None
    failure: Failure | None = None
    error: str | None = None
    retry_after_s: float | None = None

    @property
    def permanent(self) -> bool:
        return self.failure is not None and self.failure is not Failure.transient


class TopicResult(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of subscribing or unsubscribing one device token."""

    token: str
    ok: bool
    failure: Failure | None = None
    error: str | None = None


class Channel(Protocol):
    """Sends messages of one kind; ``send_many`` gets at most ``batch_size`` messages and answers each one."""

    name: str
    batch_size: int

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult]: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class PushChannel(Channel, Protocol):
    """A push channel also manages topic subscriptions (a topic per district)."""

    async def subscribe(self, tokens: Sequence[str], topic: str) -> list[TopicResult]: ...

    async def unsubscribe(self, tokens: Sequence[str], topic: str) -> list[TopicResult]: ...
