"""The chat side's API contract: the app's chat, and the endpoints the bot's actions call."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from api.alerts.schemas import AlertText
from api.evacuation.schemas import Hazard, MeasuredFrom, NearbyShelter, ShelterKind
from api.hazards.schemas import Category, Description
from api.platform.types import Input, Output

MAX_MESSAGE_CHARS = 5000
Body = Annotated[str, Meta(max_length=1600, description="What the person said, kept with the check-in")]
PlaceQuery = Annotated[str, Meta(min_length=1, max_length=200, description="A station, district or landmark")]


class ChatIn(Input, kw_only=True):
    message: str


class ChatReply(Output, frozen=True, kw_only=True):
    text: str


class ChatRead(Output, frozen=True, kw_only=True):
    replies: list[ChatReply]
    bot_available: bool  # false: the replies are our apology, the bot was off, down or too slow


class PersonRead(Output, frozen=True, kw_only=True):
    sender: str
    citizen_id: int | None
    language: Literal["ko", "en"]
    district: str | None
    in_care: bool
    has_home: bool  # a home is recorded: GET …/shelters searches from it


class PersonWarning(Output, frozen=True, kw_only=True):
    """A warning in force over the person: their district as a whole, or some of their places."""

    alert_id: int
    event: str
    hazard: str
    severity: str
    texts: dict[str, AlertText]
    district_wide: bool  # it tells the person's district as a whole
    places: list[str]  # the labels of their places under it (home and watched places), in their order


class PersonWarnings(Output, frozen=True, kw_only=True):
    # False when neither a district nor a place of theirs is known: nothing can be said to be over them.
    known: bool
    warnings: list[PersonWarning]


class HomeShelters(Output, frozen=True, kw_only=True):
    """The nearest shelters to someone's home: the search's answer without its origin, which is their home."""

    hazard: Hazard
    measured_from: MeasuredFrom  # always home
    kinds: list[ShelterKind]
    distance_cap_m: float
    nothing_nearby: bool
    shelters: list[NearbyShelter]


class CheckinIn(Input, kw_only=True):
    body: Body | None = None


class CheckinResult(Output, frozen=True, kw_only=True):
    in_care: bool
    recorded: bool


class HelpIn(Input, kw_only=True):
    body: Body | None = None


class BotReportIn(Input, kw_only=True):
    category: Category
    place: PlaceQuery
    description: Description = ""


class PlaceRead(Output, frozen=True, kw_only=True):
    name: str
    name_en: str
    lat: float
    lon: float
    district: str


class BotReportRead(Output, frozen=True, kw_only=True):
    report_id: int
    incident_id: int
    place: PlaceRead


class OptOutRead(Output, frozen=True, kw_only=True):
    channel: Literal["sms", "app"]
    opted_out: bool  # false for app users: they turn notifications off in the app
