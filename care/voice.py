"""Answers to check-in calls, as the call's menu read them: a check-in, or a call for help (an urgent case at once)."""

from __future__ import annotations

import asyncpg

from care import messages, repository, service
from care.safety import messages as safety_messages
from notifications.service import Notifier
from notifications.voice import VoiceAnswer
from notifications.voice_twiml import Answer


async def handle_call_answer(conn: asyncpg.Connection, answer: VoiceAnswer, notifier: Notifier) -> str | None:
    """The voice handler: records the answer of an enrolled person; the template the call says back.

    A call is the person's own voice on their own phone, so 1 or "괜찮아요" is a check-in like an SMS reply (to a
    safety check's call as to its text: any sign of life answers it); and the call says back what was recorded, so
    no confirmation text follows it.
    """
    row = await repository.recipient_by_phone(conn, answer.phone)
    if row is None:
        return None
    if answer.answer is Answer.help:
        await service.ask_for_help(
            conn, notifier=notifier, recipient_id=row["id"], channel="voice", at=answer.at, body=answer.said
        )
        return messages.VOICE_HELP_RECORDED
    await service.check_in(
        conn, notifier=notifier, recipient_id=row["id"], channel="voice", kind="checkin", at=answer.at, body=answer.said
    )
    return safety_messages.CALL_SAFE if answer.asked == safety_messages.CALL else messages.VOICE_CHECKED_IN
