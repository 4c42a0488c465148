"""The alerts API's contract: what citizens read, what an ingest answers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec

from api.platform.types import Output


class AlertSource(StrEnum):
    kma = "kma"
    feed = "feed"
    post = "post"
    sensor = "sensor"  # a city sensor's threshold rule (api.sensors)


class Outcome(StrEnum):
    created = "created"
    duplicate = "duplicate"
    ignored = "ignored"


class AlertText(Output, frozen=True):
    headline: str
    description: str | None = None
    instruction: str | None = None


class AlertArea(Output, frozen=True):
    description: str
    # The districts it names or overlaps.
    districts: list[str]
    # How they were found: "geocode" (administrative codes, KMA's areas included), "polygon" or "circle"
    # (the shapes intersected with the districts' true boundaries), or "none".
    method: str
    # For a shape: the share of each district's and each dong's area it covers (0 < share ≤ 1), and the
    # polygons, as (lat, lon) rings, whose people it reaches (a circle as the polygon drawn around it).
    shares: dict[str, float] = {}
    dongs: dict[str, float] = {}
    polygons: list[list[tuple[float, float]]] = []


class AlertRead(Output, frozen=True):
    id: int
    source: AlertSource
    sender: str
    identifier: str
    sent: datetime
    status: str
    msg_type: str
    event: str
    hazard: str
    urgency: str
    severity: str
    certainty: str
    onset: datetime | None
    expires: datetime | None
    texts: dict[str, AlertText]
    areas: list[AlertArea]
    districts: list[str]
    in_force: bool
    replaced_by: int | None
    received_at: datetime


class Ingested(Output, frozen=True):
    """What became of one incoming alert; ``deliveries`` counts the outbox rows it created."""

    outcome: Outcome
    alert_id: int | None = None
    reason: str | None = None
    deliveries: int = 0
    safety_checks: int = 0
    flood_checks: int = 0  # flood-risk households asked (docs/flood.md)
    replaced: list[int] = msgspec.field(default_factory=list)


class SafeRead(Output, frozen=True):
    alert_id: int
    safe_at: datetime
    # Whether the person was being asked "are you safe?" for this alert (people in care in its districts).
    was_asked: bool
