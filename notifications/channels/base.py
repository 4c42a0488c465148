"""The interface every channel implements; nothing provider-specific crosses it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

import msgspec

ChannelName = Literal["sms", "push", "voice"]


class Reconcile(msgspec.Struct, frozen=True, kw_only=True):
    """An earlier attempt at this message may have reached the provider: where to look before sending again."""

    since: datetime  # when that attempt began; the provider cannot have the message from before it
    skip_ids: frozenset[str] = frozenset()  # provider ids already recorded for other messages to this recipient


class OutboundMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One message to one recipient: an E.164 number for SMS and calls; a device token, or a topic name, for push."""

    channel: ChannelName
    to: str
    body: str
    title: str | None = None
    data: dict[str, str] = msgspec.field(default_factory=dict)
    topic: bool = False
    urgent: bool = False
    ref: str | None = None
    # The template the text was rendered from: a channel with templates of its own (알림톡) picks by it.
    template: str | None = None
    # Push: the same id on every copy of one notice, so that a phone shows a repeat in place of the first copy.
    collapse_id: str | None = None
    # Set when an earlier attempt's outcome is unknown: a channel that can look its messages up does so first.
    reconcile: Reconcile | None = None


class Failure(StrEnum):
    """Why a send failed, in the terms the dispatcher acts on."""

    transient = "transient"  # nothing reached the provider (refused, connect timeout), or it said 5xx/429: again later
    # The request went out and no answer came back (read timeout, connection dropped): the provider may have it.
    unknown = "unknown"
    bad_recipient = "bad_recipient"  # unregistered token or invalid number: never again to this address
    opted_out = "opted_out"  # the person opted out at the provider: never retry, remember it
    rejected = "rejected"  # the provider refused this message for good


class SendResult(msgspec.Struct, frozen=True, kw_only=True):
    """What the provider said about one message."""

    ok: bool
    provider_id: str | None = None
    failure: Failure | None = None
    error: str | None = None
    retry_after_s: float | None = None  # no retry sooner: the provider's Retry-After, or an unknown's longer wait
    reconciled: bool = False  # not sent now: found at the provider, from an attempt whose answer was lost

    @property
    def permanent(self) -> bool:
        return self.failure is not None and self.failure not in (Failure.transient, Failure.unknown)


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
