"""Check-ins and calls for help, through the care service behind the API."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.client import ApiError, call, person
from bot.actions.words import user_text

log = logging.getLogger(__name__)


class ActionCheckIn(Action):
    def name(self) -> str:
        return "action_check_in"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """Record a check-in for someone in care; thank anyone else and say how to enrol."""
        try:
            answer = await call("POST", f"{person(tracker.sender_id)}/checkins", json={"body": user_text(tracker)})
        except ApiError as exc:
            log.warning("check-in failed for %s: %s", tracker.sender_id, exc)
            dispatcher.utter_message(response="utter_sorry_failed")
            return [SlotSet("offered_human", False)]
        recorded = answer.body["recorded"]
        dispatcher.utter_message(response="utter_checked_in" if recorded else "utter_checkin_not_in_care")
        return [SlotSet("offered_human", False), SlotSet("in_care", answer.body["in_care"])]


class ActionAskForHelp(Action):
    def name(self) -> str:
        return "action_ask_for_help"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """An urgent case for someone in care (their social worker and guardians are told); else 119/112."""
        try:
            answer = await call(
                "POST", f"{person(tracker.sender_id)}/help", json={"body": user_text(tracker)}, expect=(201, 404)
            )
        except ApiError as exc:
            log.warning("help request failed for %s: %s", tracker.sender_id, exc)
            dispatcher.utter_message(response="utter_sorry_failed")
            return [SlotSet("offered_human", False)]
        if answer.status == 404:
            if answer.problem_code() != "not_in_care":
                dispatcher.utter_message(response="utter_sorry_failed")
                return [SlotSet("offered_human", False)]
            dispatcher.utter_message(response="utter_help_not_in_care")
            return [SlotSet("offered_human", False), SlotSet("in_care", False)]
        dispatcher.utter_message(response="utter_help_opened" if answer.body["new_case"] else "utter_help_already_open")
        return [SlotSet("offered_human", False)]
