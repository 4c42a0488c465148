"""Hazard reports by conversation: the form's checks (a known kind, a place the API finds) and the filing."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions.client import ApiError, call, person
from bot.actions.words import REPORT_KINDS, kind_label, language, place_name, says_yes

log = logging.getLogger(__name__)
_RESET = [
    SlotSet("report_kind", None),
    SlotSet("place", None),
    SlotSet("report_confirmed", None),
    SlotSet("place_misses", 0),
    SlotSet("offered_human", False),
]
MISSES_BEFORE_OFFER = 2


class ValidateHazardReportForm(FormValidationAction):
    def name(self) -> str:
        return "validate_hazard_report_form"

    async def validate_report_kind(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """One of the API's categories, or asked again."""
        return {"report_kind": slot_value if slot_value in REPORT_KINDS else None}

    async def validate_place(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A place the gazetteer finds: by the place the patterns saw in the message, else by the whole answer.

        Anything else ("I smell gas in my building") is not a place: asked again, and at the second miss the
        bot offers to cancel.
        """
        named = next(tracker.get_latest_entity_values("place"), None)
        text = str(named or slot_value or "").strip()
        if not text:
            return {"place": None}
        try:
            found = (await call("GET", "/v1/places", params={"q": text[:200]})).body
        except ApiError as exc:
            log.warning("place search failed: %s", exc)
            dispatcher.utter_message(response="utter_sorry_failed")
            return {"place": None}
        if found:
            return {"place": place_name(found[0], language(tracker)), "place_misses": 0}
        misses = int(tracker.get_slot("place_misses") or 0) + 1
        response = "utter_place_offer_cancel" if misses >= MISSES_BEFORE_OFFER else "utter_place_unknown"
        dispatcher.utter_message(response=response, place=text)
        return {"place": None, "place_misses": misses}

    async def validate_report_confirmed(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Only a recognisable yes to the summary; a no drops the report (a rule), anything else asks again.

        The slot comes from the classifier's affirm, which gibberish can get ("asdf"); a report goes to the city
        only when the message also holds a yes word (words.says_yes), else the summary is asked again.
        """
        text = (tracker.latest_message or {}).get("text")
        return {"report_confirmed": True if slot_value is True and says_yes(text) else None}


class ActionAskReportConfirmed(Action):
    def name(self) -> str:
        return "action_ask_report_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """The report in one line, to be confirmed: "종로구청 근처 가스 냄새(으)로 신고할까요? 네 / 아니요"."""
        lang = language(tracker)
        kind = kind_label(tracker.get_slot("report_kind") or "other", lang)
        dispatcher.utter_message(response="utter_ask_report_confirmed", kind=kind, place=tracker.get_slot("place"))
        return []


class ActionCancelReport(Action):
    def name(self) -> str:
        return "action_cancel_report"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """The report dropped, nothing filed: a no, 취소, 그만, 됐어요, cancel or never mind."""
        dispatcher.utter_message(response="utter_report_cancelled")
        return [*_RESET, SlotSet("requested_slot", None)]


class ActionReportHazard(Action):
    def name(self) -> str:
        return "action_report_hazard"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """File the report the form gathered and the person confirmed; the slots are cleared for the next one."""
        kind, place = tracker.get_slot("report_kind"), tracker.get_slot("place")
        if tracker.get_slot("report_confirmed") is not True:
            dispatcher.utter_message(response="utter_report_cancelled")
            return _RESET
        lang = language(tracker)
        data = {"category": kind, "place": place, "description": _description(tracker)}
        try:
            answer = await call("POST", f"{person(tracker.sender_id)}/hazard-reports", json=data, expect=(201, 422))
        except ApiError as exc:
            log.warning("hazard report failed for %s: %s", tracker.sender_id, exc)
            dispatcher.utter_message(response="utter_sorry_failed")
            return _RESET
        if answer.status == 422:
            dispatcher.utter_message(response="utter_place_unknown", place=place)
            return _RESET
        body = answer.body
        dispatcher.utter_message(
            response="utter_report_filed",
            kind=kind_label(kind, lang),
            place=place_name(body["place"], lang),
            report_id=body["report_id"],
        )
        return _RESET


def _description(tracker: Tracker) -> str:
    """What the person said when they started the report (kept with it for the operators), at most 4,000 chars."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent == "report_hazard":
                return (event.get("text") or "")[:4000]
    return ""
