"""Starting a session (who the person is), each message's language, the two-step fallback, and stopping messages."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker, ValidationAction
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions.client import ApiError, call, person
from bot.actions.words import message_language

log = logging.getLogger(__name__)
# Slots that belong to one session's conversation, not to the person: not carried into the next.
_NOT_CARRIED = {"requested_slot", "session_started_metadata", "offered_human", "report_kind", "place"}
_FROM_PROFILE = {"language", "district", "in_care"}


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """Set language (the message's metadata first, else the profile), district and in_care from the API."""
        metadata = tracker.get_slot("session_started_metadata") or (tracker.latest_message or {}).get("metadata") or {}
        carried = [
            SlotSet(k, v)
            for k, v in tracker.current_slot_values().items()
            if k not in _NOT_CARRIED | _FROM_PROFILE and v is not None
        ]
        profile: dict[str, Any] = {}
        try:
            profile = (await call("GET", person(tracker.sender_id))).body or {}
        except ApiError as exc:
            # The conversation can still start; actions that need the API will say they failed.
            log.warning("profile unavailable for %s: %s", tracker.sender_id, exc)
        language = metadata.get("language") or profile.get("language") or "ko"
        events: list[EventType] = [
            SessionStarted(),
            *carried,
            SlotSet("language", language if language in ("ko", "en") else "ko"),
        ]
        if profile:
            events += [SlotSet("district", profile.get("district")), SlotSet("in_care", bool(profile.get("in_care")))]
        return [*events, ActionExecuted("action_listen")]


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """Not understood: ask to rephrase; not understood twice running: offer a person to talk to."""
        users = [e for e in tracker.events if e.get("event") == "user"]
        previous = users[-2] if len(users) >= 2 else None
        previous_intent = ((previous or {}).get("parse_data") or {}).get("intent", {}).get("name")
        if previous_intent == "nlu_fallback":
            dispatcher.utter_message(response="utter_offer_human")
            return [SlotSet("offered_human", True)]
        dispatcher.utter_message(response="utter_please_rephrase")
        return [SlotSet("offered_human", False)]


class ActionOptOut(Action):
    def name(self) -> str:
        return "action_opt_out"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """A texter is opted out as STOP would; an app user is told where notifications are turned off."""
        try:
            answer = await call("POST", f"{person(tracker.sender_id)}/opt-out")
        except ApiError as exc:
            log.warning("opt-out failed for %s: %s", tracker.sender_id, exc)
            dispatcher.utter_message(response="utter_sorry_failed")
            return [SlotSet("offered_human", False)]
        dispatcher.utter_message(response="utter_opted_out" if answer.body["opted_out"] else "utter_opt_out_app")
        return [SlotSet("offered_human", False)]


class ValidateSlotMappings(ValidationAction):
    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The reply follows each message's language, within a session too; a message in neither keeps it."""
        said = message_language((tracker.latest_message or {}).get("text") or "")
        return {"language": said} if said and said != tracker.get_slot("language") else {}
