"""The cases API contract: what social workers see of a case, and what they may do to it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from msgspec import Meta

from api.platform.types import Input, Output

NoteBody = Annotated[str, Meta(min_length=1, max_length=4000, description="What was done or learnt")]


class CaseState(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class Priority(StrEnum):
    urgent = "urgent"
    high = "high"
    normal = "normal"


class Reason(StrEnum):
    missed_checkin = "missed_checkin"
    help_request = "help_request"
    safety_check = "safety_check"  # unanswered "are you safe?" during a severe warning (alert_id says which)
    sensor_emergency = "sensor_emergency"  # a home sensor saw fire, smoke, gas or a fall (``rule`` says which)
    inactivity = "inactivity"  # no sign of life for too long (``rule``: inactivity_limit or below_usual)
    sensor_fault = "sensor_fault"  # a home device stopped sending heartbeats: a device problem


class Outcome(StrEnum):
    reached_by_phone = "reached_by_phone"
    visited = "visited"
    hospitalised = "hospitalised"
    false_alarm = "false_alarm"
    no_answer_escalated_119_112 = "no_answer_escalated_119_112"


class RecipientBrief(Output, frozen=True):
    """Who the case is about, and how to reach them."""

    id: int
    name: str
    district: str
    phone: str
    address: str


class CaseRead(Output, frozen=True):
    id: int
    recipient: RecipientBrief
    district: str
    reason: Reason
    priority: Priority
    state: CaseState
    slot_at: datetime | None
    alert_id: int | None
    opened_at: datetime
    sla_due_at: datetime
    overdue: bool
    all_clear_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    outcome: Outcome | None
    # Which rule opened the case and what it saw (a sensor's kind, the inactivity rule's numbers), if any.
    rule: str | None
    rule_detail: dict[str, Any] | None
    device_id: str | None
    # "119 신고 필요": a sensor emergency, until someone records that 119 was called.
    needs_119: bool
    called_119_at: datetime | None
    called_119_by: str | None


class NoteRead(Output, frozen=True):
    id: int
    case_id: int
    author: str
    body: str
    created_at: datetime


class CheckinRead(Output, frozen=True):
    channel: str
    kind: str
    body: str | None
    at: datetime


class CaseDetail(CaseRead, frozen=True):
    """A case with its notes, oldest first, and the recipient's latest check-ins, newest first."""

    notes: list[NoteRead]
    checkins: list[CheckinRead]


def _text(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"`{field}` must not be blank")
    return value


class NoteCreate(Input):
    body: NoteBody

    def __post_init__(self) -> None:
        self.body = _text(self.body, "body")


class CaseResolve(Input):
    outcome: Outcome
    note: NoteBody | None = None

    def __post_init__(self) -> None:
        if self.note is not None:
            self.note = _text(self.note, "note")


class Called119(Input):
    """That 119 was called for the case, with what was said (optional)."""

    note: NoteBody | None = None

    def __post_init__(self) -> None:
        if self.note is not None:
            self.note = _text(self.note, "note")
