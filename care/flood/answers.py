"""Answers to flood checks, from whichever channel they came: an SMS reply (``care.flood.inbound``), the app, or a
staff member recording what they were told by phone.

A partner answers 도착 / 대피 완료 / 도움 필요; the household 안전 / 대피 완료 / 도움 필요. Each is kept on the
check (the latest of each answerer counts, ``schemas.Status``) and in its log. 도움 필요 is told to the duty worker
at once, in the same transaction. Someone in care answering for themselves is also a sign of life to care: their
check-in ladders close, and their call for help is care's urgent case, which tells the on-duty chain itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from care import service as care
from care.flood import board_repository, checks_repository, escalation, messages
from care.flood.schemas import Answer
from notifications.schemas import Priority
from notifications.service import Notifier, Outgoing


async def by_partner(
    conn: asyncpg.Connection,
    *,
    notifier: Notifier,
    ask: Any,
    answer: Answer,
    via: str,
    body: str | None,
    at: datetime,
) -> None:
    """A partner's answer to their ask (a row of ``checks_repository.asks_of_partner``)."""
    # A partner saying "안전" / "괜찮아요" is there and found them well: arrived.
    said = Answer.arrived if answer is Answer.safe else answer
    await checks_repository.record_answer(
        conn,
        check_id=ask["check_id"],
        partner_id=ask["partner_id"],
        who="partner",
        answer=said.value,
        via=via,
        body=body,
        at=at,
    )
    if said is Answer.need_help:
        await escalation.escalate(conn, notifier=notifier, now=at, check_ids=[ask["check_id"]])


async def by_household(
    conn: asyncpg.Connection,
    *,
    notifier: Notifier,
    check: Any,
    answer: Answer,
    via: str,
    body: str | None,
    at: datetime,
) -> None:
    """The household's own answer (a row of ``checks_repository.checks_of_household_phone``)."""
    said = Answer.safe if answer is Answer.arrived else answer
    await checks_repository.record_answer(
        conn, check_id=check["check_id"], partner_id=None, who="household", answer=said.value, via=via, body=body, at=at
    )
    recipient_id = check["recipient_id"]
    if recipient_id is None:
        if said is Answer.need_help:
            await escalation.escalate(conn, notifier=notifier, now=at, check_ids=[check["check_id"]])
        return
    if said is Answer.need_help:
        # Care's urgent case tells the on-duty chain (with its acknowledgement); the flood check need not again.
        await care.ask_for_help(conn, notifier=notifier, recipient_id=recipient_id, channel=via, at=at, body=body)
        await board_repository.mark_told(conn, kind="help", check_ids=[check["check_id"]], now=at)
    else:
        await care.check_in(
            conn, notifier=notifier, recipient_id=recipient_id, channel=via, kind="checkin", at=at, body=body
        )


async def by_staff(
    conn: asyncpg.Connection, *, notifier: Notifier, check_id: int, answer: Answer, actor: str, at: datetime
) -> None:
    """A staff member records what the household or a partner told them by phone, as the household's answer."""
    await checks_repository.record_answer(
        conn, check_id=check_id, partner_id=None, who="staff", answer=answer.value, via=actor, body=None, at=at
    )
    if answer is Answer.need_help:
        await escalation.escalate(conn, notifier=notifier, now=at, check_ids=[check_id])


def recorded(*, phone: str, language: str, answer: Answer, household: str, code: int, key: str) -> Outgoing:
    """What an SMS answer is told back: what was recorded, for which home."""
    answer_ko, answer_en = messages.ANSWER_WORDS[answer.value]
    return Outgoing(
        dedupe_key=key,
        template=messages.RECORDED,
        params={"answer_ko": answer_ko, "answer_en": answer_en, "household": household, "code": code},
        language=language,
        phone=phone,
        priority=Priority.urgent,
        overrides_opt_out=True,  # the reply to a text just received
    )
