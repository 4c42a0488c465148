"""Answers to a flood check's call: a household on a home phone no text reaches is called with the check-in menu
(``care.flood.dispatch``), and this voice handler, asked before care's, records what it pressed or said.

1 (or "괜찮아요") is safe; 2, a help word or a distress cue is a call for help, told to the duty worker at once, as
the same answer by text is (``care.flood.answers``). The call says back what was recorded.
"""

from __future__ import annotations

import asyncpg

from care.flood import answers, checks_repository, messages
from care.flood.schemas import Answer
from notifications.service import Notifier
from notifications.voice import VoiceAnswer
from notifications.voice_twiml import Answer as Menu


async def handle_call_answer(conn: asyncpg.Connection, answer: VoiceAnswer, notifier: Notifier) -> str | None:
    """The answer to a flood call, recorded; the template the call says back. None for any other call."""
    if answer.asked != messages.HOUSEHOLD_CALL:
        return None
    checks = await checks_repository.checks_of_household_phone(conn, answer.phone)
    if not checks:
        return None  # the check closed meanwhile (lifted, withdrawn): nothing to record, as for an unknown call
    said = Answer.need_help if answer.answer is Menu.help else Answer.safe
    await answers.by_household(
        conn, notifier=notifier, check=checks[0], answer=said, via="voice", body=answer.said, at=answer.at
    )
    return messages.CALL_HELP if said is Answer.need_help else messages.CALL_SAFE
