"""Answers from public data: the nearest shelter, the warnings in force, what to do in a hazard."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.client import ApiError, call, person
from bot.actions.words import ALERT_TO_SHELTER, SHELTER_HAZARDS, distance, language, walk

log = logging.getLogger(__name__)
SEOUL = ZoneInfo("Asia/Seoul")
MAX_WARNINGS = 3


async def _active_alerts(district: str | None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"active": "true", "limit": 20}
    if district:
        params["district"] = district
    return (await call("GET", "/v1/alerts", params=params)).body or []


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


# The origin "the person's home": the API searches from it without telling the bot where it is.
HOME = "home"


async def _origin(tracker: Tracker) -> tuple[dict[str, float] | str | None, str | None, str | None]:
    """Where to search from: a place named now, else ``HOME``, else the district office; with the district."""
    named = next(tracker.get_latest_entity_values("place"), None)
    profile = (await call("GET", person(tracker.sender_id))).body
    district = profile.get("district") or tracker.get_slot("district")
    if named:
        found = (await call("GET", "/v1/places", params={"q": str(named)[:200]})).body
        if not found:
            return None, district, str(named)
        return {"lat": found[0]["lat"], "lon": found[0]["lon"]}, found[0]["district"], None
    if profile.get("has_home"):
        return HOME, district, None
    if district:
        found = (await call("GET", "/v1/places", params={"q": district})).body
        if found:
            return {"lat": found[0]["lat"], "lon": found[0]["lon"]}, district, None
    return None, district, None


async def _shelters(tracker: Tracker, origin: dict[str, float] | str, hazard: str) -> list[dict[str, Any]]:
    if isinstance(origin, dict):
        answer = await call("GET", "/v1/shelters/nearest", params={**origin, "hazard": hazard, "limit": 1})
    else:  # HOME
        answer = await call("GET", f"{person(tracker.sender_id)}/shelters", params={"hazard": hazard, "limit": 1})
    return answer.body["shelters"]


class ActionFindShelter(Action):
    def name(self) -> str:
        return "action_find_shelter"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """The nearest shelter that suits the hazard, from the place named, home, or the district office."""
        lang = language(tracker)
        try:
            origin, district, unknown = await _origin(tracker)
            if unknown:
                dispatcher.utter_message(response="utter_place_unknown", place=unknown)
                return [SlotSet("offered_human", False)]
            if origin is None:
                dispatcher.utter_message(response="utter_ask_place")
                return [SlotSet("offered_human", False)]
            hazard = await _hazard(tracker, district)
            if hazard is None:
                dispatcher.utter_message(response="utter_ask_hazard_for_shelter")
                return [SlotSet("offered_human", False)]
            shelters = await _shelters(tracker, origin, hazard)
        except ApiError as exc:
            log.warning("shelter search failed for %s: %s", tracker.sender_id, exc)
            dispatcher.utter_message(response="utter_sorry_failed")
            return [SlotSet("offered_human", False)]
        if not shelters:
            dispatcher.utter_message(response="utter_no_shelter")
            return [SlotSet("offered_human", False), SlotSet("hazard", hazard)]
        s = shelters[0]
        dispatcher.utter_message(
            response="utter_shelter",
            name=s["name"],
            address=s.get("address") or "-",
            distance=distance(s["distance_m"]),
            walk=walk(s["walking_minutes"], lang),
        )
        return [SlotSet("offered_human", False), SlotSet("hazard", hazard)]


class ActionCurrentWarnings(Action):
    def name(self) -> str:
        return "action_current_warnings"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """The warnings in force in the person's district (all of Seoul's when it is not known), newest first."""
        lang = language(tracker)
        try:
            alerts = await _active_alerts(tracker.get_slot("district"))
        except ApiError as exc:
            log.warning("warnings unavailable: %s", exc)
            dispatcher.utter_message(response="utter_sorry_failed")
            return [SlotSet("offered_human", False)]
        if not alerts:
            dispatcher.utter_message(response="utter_warnings_none")
        for alert in alerts[:MAX_WARNINGS]:
            texts = alert.get("texts") or {}
            text = texts.get(lang) or texts.get("ko") or next(iter(texts.values()), {"headline": alert["event"]})
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
