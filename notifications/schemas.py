"""The notifications API contract: what operators read about delivery, and a citizen's acknowledgement."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum

from api.platform.types import Output


class Priority(IntEnum):
    """Urgent messages (help requests, warnings, sign-in codes) leave before routine ones."""

    urgent = 0
    routine = 1


class DeliveryState(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    delivered = "delivered"
    failed = "failed"
    unknown = "unknown"  # the provider may have it: two attempts went unanswered, and a third would risk a duplicate
    cancelled = "cancelled"
    suppressed = "suppressed"


class Enqueued(Output, frozen=True):
    """The notice a message became; ``created`` is False when its dedupe key had been used already."""

    notice_id: int
    created: bool
    deliveries: int


class DeliveryRead(Output, frozen=True):
    id: int
    notice_id: int
    channel: str
    recipient: str
    topic: bool
    citizen_id: int | None
    template: str
    language: str
    title: str | None
    body: str
    priority: str
    critical: bool
    fallback: bool
    state: DeliveryState
    attempts: int
    max_attempts: int
    next_attempt_at: datetime
    last_error: str | None
    provider_id: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    acknowledged_at: datetime | None


class DeliveryPage(Output, frozen=True):
    items: list[DeliveryRead]
    next_before_id: int | None


class StateCount(Output, frozen=True):
    channel: str
    state: DeliveryState
    count: int


class DeliverySummary(Output, frozen=True):
    since: datetime | None
    until: datetime | None
    total: int
    by_state: dict[str, int]
    by_channel: list[StateCount]


class Acknowledged(Output, frozen=True):
    notice_id: int
    acknowledged: bool
