"""Check-ins and calls for help, through the care service behind the API."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.client import ApiError, call, person
from bot.actions.words import user_text

# After help, asked or not: the question is closed, and a report it interrupted is dropped.
_CHECKED = [
    SlotSet("help_asked", False),
    SlotSet("help_answer", None),
    SlotSet("report_kind", None),
    SlotSet("place", None),
    SlotSet("report_confirmed", None),
    SlotSet("place_misses", 0),
]

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


def _distress(tracker: Tracker) -> dict[str, Any] | None:
    """What bot/nlu/distress.py said of the latest message: distress plausible, not the classifier's own need_help."""
    return (tracker.latest_message or {}).get("distress")


def _help_text(tracker: Tracker) -> str | None:
    """The message that made help plausible, with the answer to "도움이 필요하세요?" after it."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and (event.get("parse_data") or {}).get("distress"):
            said = (event.get("text") or "").strip()
            answer = str(tracker.get_slot("help_answer") or "").strip()
            return f"{said} / {answer}"[:1600] if answer and answer != "no" else said[:1600] or None
    return user_text(tracker)


class ActionAskForHelp(Action):
    def name(self) -> str:
        return "action_ask_for_help"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """Help for someone in care, asked first when distress is only plausible; 119/112 at once for anyone else.

        The ask is asymmetric: when help_check_form has asked, any answer but no opens the case.
        """
        if tracker.get_slot("help_asked"):
            if tracker.get_slot("help_answer") == "no":
                dispatcher.utter_message(response="utter_help_declined")
                return [SlotSet("offered_human", False), *_CHECKED]
            return await _open(dispatcher, tracker, _help_text(tracker))
        if _distress(tracker) and tracker.get_slot("in_care"):
            return [SlotSet("offered_human", False), SlotSet("help_asked", True), SlotSet("help_answer", None)]
        return await _open(dispatcher, tracker, user_text(tracker))


async def _open(dispatcher: CollectingDispatcher, tracker: Tracker, body: str | None) -> list[EventType]:
    """An urgent case for someone in care (their social worker and guardians are told); else 119/112."""
    try:
        answer = await call("POST", f"{person(tracker.sender_id)}/help", json={"body": body}, expect=(201, 404))
    except ApiError as exc:
        log.warning("help request failed for %s: %s", tracker.sender_id, exc)
        dispatcher.utter_message(response="utter_sorry_failed")
        return [SlotSet("offered_human", False), *_CHECKED]
    if answer.status == 404:
        if answer.problem_code() != "not_in_care":
            dispatcher.utter_message(response="utter_sorry_failed")
            return [SlotSet("offered_human", False), *_CHECKED]
        dispatcher.utter_message(response="utter_help_not_in_care")
        return [SlotSet("offered_human", False), SlotSet("in_care", False), *_CHECKED]
    dispatcher.utter_message(response="utter_help_opened" if answer.body["new_case"] else "utter_help_already_open")
    return [SlotSet("offered_human", False), *_CHECKED]


class ActionGoodbye(Action):
    def name(self) -> str:
        return "action_goodbye"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """Goodbye; from someone in care, a goodbye ("잘있어요", "밥묵었다 잘있다") is a check-in and recorded."""
        if not tracker.get_slot("in_care"):
            dispatcher.utter_message(response="utter_goodbye")
            return [SlotSet("offered_human", False)]
        return await ActionCheckIn().run(dispatcher, tracker, domain)
