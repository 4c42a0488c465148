"""Answers from public data: the nearest shelter, the warnings in force, what to do in a hazard."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.client import ApiError, call, person
from bot.actions.words import (
    ALERT_TO_SHELTER,
    SHELTER_HAZARDS,
    distance,
    language,
    origin_words,
    shelter_words,
    walk,
)

log = logging.getLogger(__name__)
SEOUL = ZoneInfo("Asia/Seoul")
MAX_WARNINGS = 3


async def _active_alerts(district: str | None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"active": "true", "limit": 20}
    if district:
        params["district"] = district
    return (await call("GET", "/v1/alerts", params=params)).body or []


async def _warnings_over(tracker: Tracker) -> list[tuple[dict[str, Any], list[str]]]:
    """The warnings in force over the person, each with the labels of their places under it (none when it covers
    their whole district); Seoul's or the district's when nothing of theirs is known to the API."""
    try:
        mine = (await call("GET", f"{person(tracker.sender_id)}/warnings")).body or {}
    except ApiError as exc:
        log.info("no warnings by place for %s: %s", tracker.sender_id, exc)
        mine = {}
    if mine.get("known"):
        return [(w, [] if w["district_wide"] else w["places"]) for w in mine["warnings"]]
    return [(alert, []) for alert in await _active_alerts(tracker.get_slot("district"))]


async def _hazard(tracker: Tracker, district: str | None) -> str | None:
    """The hazard asked about; else that of a warning in force in the district; else the season's; else None.

    Summer (June to September) means heat, winter (November to March) cold; in spring and autumn we ask.
    """
    asked = tracker.get_slot("hazard")
    if asked in SHELTER_HAZARDS:
        return asked
    for alert in await _active_alerts(district):
        shelter = ALERT_TO_SHELTER.get(alert.get("hazard", ""))
        if shelter:
            return shelter
    month = datetime.now(SEOUL).month
    if 6 <= month <= 9:
        return "heat_wave"
    if month >= 11 or month <= 3:
        return "cold_wave"
    return None


class Where(NamedTuple):
    """Where to search from: a named place, the person's home, or (only the district known) its office."""

    params: dict[str, Any] | None  # the /v1/shelters/nearest query; None: the person's home, which the API keeps
    place: dict[str, Any] | None  # the named place, for the words


async def _origin(tracker: Tracker) -> tuple[Where | None, str | None, str | None]:
    """Where to search from: a place named now, else the home, else the district; the district; an unknown place."""
    named = next(tracker.get_latest_entity_values("place"), None)
    profile = (await call("GET", person(tracker.sender_id))).body
    district = profile.get("district") or tracker.get_slot("district")
    if named:
        found = (await call("GET", "/v1/places", params={"q": str(named)[:200]})).body
        if not found:
            return None, district, str(named)
        place = found[0]
        return Where({"lat": place["lat"], "lon": place["lon"]}, place), place["district"], None
    if profile.get("has_home"):
        return Where(None, None), district, None
    if district:
        # The API measures from the district's office then, and says so (measured_from: district_office).
        return Where({"district": district}, None), district, None
    return None, district, None


async def _shelters(tracker: Tracker, where: Where, hazard: str) -> dict[str, Any]:
    if where.params is None:
        answer = await call("GET", f"{person(tracker.sender_id)}/shelters", params={"hazard": hazard, "limit": 1})
    else:
        answer = await call("GET", "/v1/shelters/nearest", params={**where.params, "hazard": hazard, "limit": 1})
    return answer.body


class ActionFindShelter(Action):
    def name(self) -> str:
        return "action_find_shelter"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """The nearest shelter that suits the hazard, from the place named, home, or the district office.

        It says where the distance is measured from; from the district office it gives no walking time, and
        beyond the API's distance cap it says nothing suitable is nearby and still names the nearest.
        """
        lang = language(tracker)
        try:
            where, district, unknown = await _origin(tracker)
            if unknown:
                dispatcher.utter_message(response="utter_place_unknown", place=unknown)
                return [SlotSet("offered_human", False)]
            if where is None:
                dispatcher.utter_message(response="utter_ask_place")
                return [SlotSet("offered_human", False)]
            hazard = await _hazard(tracker, district)
            if hazard is None:
                dispatcher.utter_message(response="utter_ask_hazard_for_shelter")
                return [SlotSet("offered_human", False)]
            answer = await _shelters(tracker, where, hazard)
        except ApiError as exc:
            log.warning("shelter search failed for %s: %s", tracker.sender_id, exc)
            dispatcher.utter_message(response="utter_sorry_failed")
            return [SlotSet("offered_human", False)]
        events: list[EventType] = [SlotSet("offered_human", False), SlotSet("hazard", hazard)]
        if not answer["shelters"]:
            dispatcher.utter_message(response="utter_no_shelter")
            return events
        s = answer["shelters"][0]
        said = shelter_words(s, lang)
        origin = origin_words(answer["measured_from"], where.place, lang)
        if answer["nothing_nearby"]:
            cap = distance(answer["distance_cap_m"])
            dispatcher.utter_message(response="utter_shelter_far", origin=origin, cap=cap, **said)
        elif answer["measured_from"] == "district_office" or s.get("walking_minutes") is None:
            dispatcher.utter_message(response="utter_shelter_from_office", **said)
        else:
            on_foot = walk(s["walking_minutes"], lang)
            dispatcher.utter_message(response="utter_shelter", origin=origin, walk=on_foot, **said)
        return events


class ActionCurrentWarnings(Action):
    def name(self) -> str:
        return "action_current_warnings"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """The warnings in force over the person's district or their places (home, watched places: named by
        their labels), newest first; all of Seoul's when nothing of theirs is known."""
        lang = language(tracker)
        try:
            alerts = await _warnings_over(tracker)
        except ApiError as exc:
            log.warning("warnings unavailable: %s", exc)
            dispatcher.utter_message(response="utter_sorry_failed")
            return [SlotSet("offered_human", False)]
        if not alerts:
            dispatcher.utter_message(response="utter_warnings_none")
        for alert, places in alerts[:MAX_WARNINGS]:
            texts = alert.get("texts") or {}
            text = texts.get(lang) or texts.get("ko") or next(iter(texts.values()), {"headline": alert["event"]})
            if places:
                dispatcher.utter_message(
                    response="utter_warning_at", headline=text["headline"], places=", ".join(places)
                )
            else:
                dispatcher.utter_message(response="utter_warning", headline=text["headline"])
        return [SlotSet("offered_human", False)]


class ActionHazardGuidance(Action):
    def name(self) -> str:
        return "action_hazard_guidance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """Short instructions for the hazard asked about (or the one in force, or the season's)."""
        lang = language(tracker)
        try:
            hazard = await _hazard(tracker, tracker.get_slot("district"))
            if hazard is None:
                dispatcher.utter_message(response="utter_ask_hazard_for_shelter")
                return [SlotSet("offered_human", False)]
            guide = (await call("GET", "/v1/guidance", params={"hazard": hazard, "lang": lang})).body
        except ApiError as exc:
            log.warning("guidance unavailable: %s", exc)
            dispatcher.utter_message(response="utter_sorry_failed")
            return [SlotSet("offered_human", False)]
        steps = "\n".join(f"- {step}" for step in guide["instructions"])
        dispatcher.utter_message(response="utter_guidance", title=guide["title"], steps=steps)
        return [SlotSet("offered_human", False), SlotSet("hazard", hazard)]
