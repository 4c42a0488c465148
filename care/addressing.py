"""Who a care message goes to, and by which channel: shared by the sweep, check-ins and help requests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from notifications.service import Outgoing

SEOUL = ZoneInfo("Asia/Seoul")


def to_person(person: Mapping[str, Any], *, template: str, key: str, params: dict[str, object]) -> Outgoing:
    """A message to the care recipient as they chose: app (SMS when the app cannot), SMS, or both.

    ``both`` is sent as critical: a push, and an SMS unless the push is acknowledged in time. Their care
    agreement decides whether an SMS opt-out holds.
    """
    uses_app = person["contact_by"] in ("app", "both")
    return Outgoing(
        dedupe_key=key,
        template=template,
        params=params,
        language=person["language"],
        phone=person["phone"],
        citizen_id=person["citizen_id"] if uses_app else None,
        critical=person["contact_by"] == "both",
        overrides_opt_out=person["reach_despite_opt_out"],
    )


def call_person(person: Mapping[str, Any], *, template: str, key: str, params: dict[str, object]) -> Outgoing:
    """A check-in call to the person: the menu, in their language; its answer comes by the call's webhook."""
    return Outgoing(
        dedupe_key=key,
        template=template,
        params=params,
        language=person["language"],
        phone=person["phone"],
        call="checkin",
        overrides_opt_out=person["reach_despite_opt_out"],
    )


def call_guardian(guardian: Mapping[str, Any], *, template: str, key: str, params: dict[str, object]) -> Outgoing:
    """A call to a guardian saying the message (the urgent step of a person who is called)."""
    return Outgoing(
        dedupe_key=guardian_call_key(key, guardian["position"]),
        template=template,
        params=params,
        language=guardian["language"],
        phone=guardian["phone"],
        call="message",
        critical=True,
    )


def guardian_key(key: str, position: int) -> str:
    """The dedupe key of a message's copy to the guardian at this position."""
    return f"{key}:guardian:{position}"


def guardian_call_key(key: str, position: int) -> str:
    """The dedupe key of a call to the guardian at this position, beside their text of the same message."""
    return f"{guardian_key(key, position)}:call"


def to_guardian(guardian: Mapping[str, Any], *, template: str, key: str, params: dict[str, object]) -> Outgoing:
    """A message to a guardian by SMS; a guardian who opted out is not overridden."""
    return Outgoing(
        dedupe_key=guardian_key(key, guardian["position"]),
        template=template,
        params=params,
        language=guardian["language"],
        phone=guardian["phone"],
        critical=True,
    )


def local(at: datetime) -> str:
    """A time as people in Seoul read it: ``11/24 09:00``."""
    return at.astimezone(SEOUL).strftime("%m/%d %H:%M")


def in_quiet_hours(at: datetime, start: time | None, end: time | None) -> bool:
    if start is None or end is None:
        return False
    now = at.astimezone(SEOUL).time()
    return start <= now < end if start <= end else now >= start or now < end
