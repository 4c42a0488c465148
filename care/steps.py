"""How each step of a plan's ladder reaches someone: by a message (as ``contact_by`` sends them), by a call, or both.

A plan may say it step by step (``plan.ladder.steps``, kept in ``checkin_plans``' ``*_by`` columns); a step it
leaves unsaid follows ``contact_by`` as before: ``voice`` calls at both asks, ``sms+voice`` texts first and calls
at the second ask, and the first guardian of either is also called at the urgent step.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple


class AskBy(StrEnum):
    """How the person is asked (steps 1 and 2)."""

    message = "message"  # their contact_by's way: the app, an SMS, or both
    call = "call"  # a check-in call with its menu


class GuardianBy(StrEnum):
    """How the first guardian hears the person is silent (step 3)."""

    message = "message"  # an SMS
    call = "call"  # a call that says the message twice
    message_call = "message+call"


class UrgentBy(StrEnum):
    """How the guardians hear of the urgent step (5): every one is texted; ``message+call`` calls the first too."""

    message = "message"
    message_call = "message+call"


class Steps(NamedTuple):
    """How each step that tells someone reaches them (step 4, the case, tells nobody)."""

    first_ask: AskBy
    ask_again: AskBy
    guardian: GuardianBy
    urgent: UrgentBy

    def calls_person(self, step: int) -> bool:
        return (step == 1 and self.first_ask is AskBy.call) or (step == 2 and self.ask_again is AskBy.call)

    def calls_guardian(self, step: int) -> bool:
        if step == 3:
            return self.guardian in (GuardianBy.call, GuardianBy.message_call)
        return step == 5 and self.urgent is UrgentBy.message_call

    def texts_guardian(self, step: int) -> bool:
        return step != 3 or self.guardian is not GuardianBy.call


# The columns of checkin_plans that hold a plan's own steps, in ``Steps``' order; NULL follows contact_by.
COLUMNS = ("first_ask_by", "ask_again_by", "guardian_by", "urgent_by")


def by_contact(contact_by: str) -> Steps:
    """The steps a plan that says none takes: as ``contact_by`` has always said."""
    if contact_by == "voice":
        return Steps(AskBy.call, AskBy.call, GuardianBy.message, UrgentBy.message_call)
    if contact_by == "sms+voice":
        return Steps(AskBy.message, AskBy.call, GuardianBy.message, UrgentBy.message_call)
    return Steps(AskBy.message, AskBy.message, GuardianBy.message, UrgentBy.message)


def of(row: Mapping[str, Any]) -> Steps:
    """The steps of a plan's row: its own where it says them, else as its ``contact_by`` says.

    A row without the columns (no plan joined) takes them all from ``contact_by``.
    """
    return _steps(row["contact_by"], *(row.get(c) for c in COLUMNS))


# A handful of combinations, asked for by every person in care a city-wide warning reaches (50,000 at once).
@lru_cache(maxsize=256)
def _steps(contact_by: str, *own: str | None) -> Steps:
    default = by_contact(contact_by)
    return Steps(
        AskBy(own[0] or default.first_ask),
        AskBy(own[1] or default.ask_again),
        GuardianBy(own[2] or default.guardian),
        UrgentBy(own[3] or default.urgent),
    )
