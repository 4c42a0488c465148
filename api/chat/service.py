"""What the bot's actions may do for the person they talk to; each change is one call to the domain's own service."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, NamedTuple

import asyncpg

from api.accounts import places as account_places
from api.accounts import service as accounts
from api.accounts.schemas import CitizenRead
from api.alerts import service as alerts
from api.alerts.reach import Place, places_reached
from api.chat import places, repository
from api.chat.schemas import (
    BotReportIn,
    BotReportRead,
    CheckinResult,
    HomeShelters,
    OptOutRead,
    PersonRead,
    PersonWarning,
    PersonWarnings,
    PlaceRead,
)
from api.evacuation import service as evacuation
from api.evacuation.schemas import Hazard, MeasuredFrom
from api.hazards import service as hazards
from api.hazards.schemas import HazardReportCreate, Location
from api.platform.errors import Forbidden, NotFound, Problem, Unprocessable
from api.platform.phones import normalise_phone
from care import service as care
from care.schemas import HelpRead
from care.service import Enrolment
from notifications import service as notifications
from notifications.service import Notifier

# How long after someone last spoke to the bot its actions may still act for them. An action runs within
# seconds of the message that called for it; a text waits at most a few leases for its forwarder; an hour
# covers both with room, and keeps a stolen or misused actions token away from everyone else.
CONVERSATION_WINDOW = timedelta(hours=1)


class Sender(NamedTuple):
    """Who the bot is talking to: an app user (``citizen-42``) or a phone (``sms-+821012345678``)."""

    raw: str
    channel: str  # "app" or "sms"
    phone: str
    citizen_id: int | None


class Person(NamedTuple):
    """A phone number's citizen account and care enrolment; either may be None."""

    citizen: CitizenRead | None
    care: Enrolment | None

    @property
    def languages(self) -> tuple[str | None, str | None]:
        """The language of the account and the one the social worker recorded."""
        return (self.citizen.language.value if self.citizen else None, self.care.language if self.care else None)


async def person_by_phone(conn: asyncpg.Connection, phone: str) -> Person:
    """Who a number is, each part from the domain that owns it: its account (accounts), its enrolment (care)."""
    return Person(
        citizen=await accounts.find_citizen_by_phone(conn, phone=phone),
        care=await care.enrolment_by_phone(conn, phone=phone),
    )


async def resolve(conn: asyncpg.Connection, sender: str, *, now: datetime) -> Sender:
    """The sender id as Rasa knows it, if they are talking to the bot now.

    An unparseable id is a 400; one not heard from within ``CONVERSATION_WINDOW`` a 403 (asked before the
    account is looked up, so no answer tells which citizen ids exist); an unknown citizen a 404.
    """
    kind, _, rest = sender.partition("-")
    if kind == "citizen" and rest.isdigit() and len(rest) < 19:
        await _check_talking(conn, f"citizen-{int(rest)}", now=now)
        citizen = await accounts.find_citizen(conn, citizen_id=int(rest))
        if citizen is None:
            raise NotFound(f"There is no citizen {rest}.", code="unknown_sender")
        return Sender(sender, "app", citizen.phone, int(rest))
    if kind == "sms" and rest:
        try:
            phone = normalise_phone(rest, mobile=False)
        except ValueError as exc:
            raise Problem(f"The sender's phone number is not usable: {exc}.", code="bad_sender") from None
        await _check_talking(conn, f"sms-{phone}", now=now)
        return Sender(sender, "sms", phone, None)
    raise Problem("A sender is `citizen-<id>` or `sms-<phone number>`.", code="bad_sender")


async def _check_talking(conn: asyncpg.Connection, key: str, *, now: datetime) -> None:
    last = await repository.last_heard(conn, key)
    if last is None or last < now - CONVERSATION_WINDOW:
        minutes = int(CONVERSATION_WINDOW.total_seconds() // 60)
        raise Forbidden(
            f"The bot acts only for someone talking to it, and {key} has said nothing to it in the last "
            f"{minutes} minutes.",
            code="no_conversation",
        )


async def profile(conn: asyncpg.Connection, *, sender: str, now: datetime) -> PersonRead:
    """What the bot needs to know about the person: language, district, whether they are in care.

    Not their phone or where they live: the bot needs neither to talk, and a shelter near home is searched
    here (``nearest_shelters``) so the coordinates stay in the API.
    """
    who = await resolve(conn, sender, now=now)
    person = await person_by_phone(conn, who.phone)
    citizen, enrolment = person
    # An app user chose their language in the app; for a text, what their social worker recorded comes first.
    choices = person.languages
    chosen = next((lang for lang in (choices if who.channel == "app" else choices[::-1]) if lang), "ko")
    language: Literal["ko", "en"] = "en" if chosen == "en" else "ko"
    return PersonRead(
        sender=sender,
        citizen_id=citizen.id if citizen else None,
        language=language,
        district=(enrolment.district if enrolment else None) or (citizen.district if citizen else None),
        in_care=enrolment is not None,
        has_home=enrolment is not None and enrolment.home is not None,
    )


async def warnings(conn: asyncpg.Connection, *, sender: str, now: datetime) -> PersonWarnings:
    """The warnings in force over the person, newest first: over their district as a whole, or over any of their
    places (a citizen's home and watched places, the home recorded for someone in care), by the rules that tell
    people (docs/alerts.md, "Who is told"). Which places, by their labels; never where they are."""
    who = await resolve(conn, sender, now=now)
    citizen, enrolment = await person_by_phone(conn, who.phone)
    district = (enrolment.district if enrolment else None) or (citizen.district if citizen else None)
    mine: list[Place] = []
    if enrolment is not None and (enrolment.home is not None or enrolment.home_dong is not None):
        lat, lon = enrolment.home or (None, None)
        label = "home" if enrolment.language == "en" else "집"
        mine.append(Place(label, lat, lon, enrolment.home_dong or ""))
    if citizen is not None:
        places_kept = await account_places.list_places(conn, citizen_id=citizen.id)
        mine += [Place(p.label, p.lat, p.lon, p.dong) for p in places_kept]
    if district is None and not mine:
        return PersonWarnings(known=False, warnings=[])
    found = []
    for alert in await alerts.list_alerts(conn, now=now, district=None, in_force=True, before_id=None, limit=100):
        wide, labels = places_reached(alert.areas, district=district, places=mine)
        if wide or labels:
            found.append(
                PersonWarning(
                    alert_id=alert.id,
                    event=alert.event,
                    hazard=alert.hazard,
                    severity=alert.severity,
                    texts=alert.texts,
                    district_wide=wide,
                    places=list(dict.fromkeys(labels)),
                )
            )
    return PersonWarnings(known=True, warnings=found)


async def nearest_shelters(
    conn: asyncpg.Connection, *, sender: str, hazard: Hazard, limit: int, cap_m: float, now: datetime
) -> HomeShelters:
    """The nearest suitable shelters to the person's home, without the home itself; 404 ``no_home`` if unknown."""
    who = await resolve(conn, sender, now=now)
    enrolment = await care.enrolment_by_phone(conn, phone=who.phone)
    if enrolment is None or enrolment.home is None:
        raise NotFound("No home is recorded for this person; search from a place they name.", code="no_home")
    lat, lon = enrolment.home
    home = evacuation.Start(lat, lon, MeasuredFrom.home)
    found = await evacuation.nearest(conn, hazard=hazard, at=home, limit=limit, cap_m=cap_m)
    return HomeShelters(
        hazard=found.hazard,
        measured_from=found.measured_from,
        kinds=found.kinds,
        distance_cap_m=found.distance_cap_m,
        nothing_nearby=found.nothing_nearby,
        shelters=found.shelters,
    )


async def check_in(
    conn: asyncpg.Connection, *, notifier: Notifier, sender: str, body: str | None, now: datetime
) -> CheckinResult:
    """A check-in through the bot, for someone in care; for anyone else there is nothing to record."""
    who = await resolve(conn, sender, now=now)
    enrolment = await care.enrolment_by_phone(conn, phone=who.phone)
    if enrolment is None:
        return CheckinResult(in_care=False, recorded=False)
    await care.check_in(
        conn, notifier=notifier, recipient_id=enrolment.recipient_id, channel="chat", kind="checkin", at=now, body=body
    )
    return CheckinResult(in_care=True, recorded=True)


async def ask_for_help(
    conn: asyncpg.Connection, *, notifier: Notifier, sender: str, body: str | None, now: datetime
) -> HelpRead:
    """An urgent case for someone in care; a 404 ``not_in_care`` for anyone else (the bot tells them 119/112)."""
    who = await resolve(conn, sender, now=now)
    enrolment = await care.enrolment_by_phone(conn, phone=who.phone)
    if enrolment is None:
        raise NotFound("This person is not enrolled in care; there is no social worker to call.", code="not_in_care")
    return await care.ask_for_help(
        conn, notifier=notifier, recipient_id=enrolment.recipient_id, channel="chat", at=now, body=body
    )


def find_places(query: str) -> list[PlaceRead]:
    """Places of our gazetteer that match what someone typed."""
    return [
        PlaceRead(name=p.name, name_en=p.name_en, lat=p.lat, lon=p.lon, district=p.district)
        for p in places.search(query)
    ]


async def report_hazard(
    conn: asyncpg.Connection, *, sender: str, submitted_by: str, data: BotReportIn, now: datetime
) -> BotReportRead:
    """A hazard report at a named place, filed for the person; a phone without an account gets one."""
    found = places.search(data.place, limit=1)
    if not found:
        raise Unprocessable(
            f"No place called {data.place!r} is known; name a station, district or landmark.", code="place_unknown"
        )
    place = found[0]
    who = await resolve(conn, sender, now=now)
    report = HazardReportCreate(
        category=data.category,
        location=Location(lat=place.lat, lon=place.lon, address=place.name),
        description=data.description,
    )
    async with conn.transaction():
        citizen_id = who.citizen_id
        if citizen_id is None:
            language = (await profile(conn, sender=sender, now=now)).language
            citizen_id = await accounts.ensure_citizen(conn, phone=who.phone, language=language)
        reporter = hazards.Reporter(subject=submitted_by, citizen_id=citizen_id, source="chat")
        read = await hazards.report(conn, reporter=reporter, data=report, now=now)
    return BotReportRead(
        report_id=read.id,
        incident_id=read.incident.id,
        place=PlaceRead(name=place.name, name_en=place.name_en, lat=place.lat, lon=place.lon, district=place.district),
    )


async def opt_out(conn: asyncpg.Connection, *, sender: str, now: datetime) -> OptOutRead:
    """A texter is opted out as STOP would; an app user is told how to turn notifications off instead."""
    who = await resolve(conn, sender, now=now)
    if who.channel == "app":
        return OptOutRead(channel="app", opted_out=False)
    async with conn.transaction():
        await notifications.opt_out(conn, phone=who.phone, keyword="chatbot", source="sms", now=now)
    return OptOutRead(channel="sms", opted_out=True)
