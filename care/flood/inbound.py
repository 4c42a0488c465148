"""SMS replies to flood checks, as one more handler of the one inbound router (``notifications.inbound``): the
Twilio and the Korean provider's webhooks hand every text to the handlers in turn, and this one is asked first.

It takes a text only when it reads as an answer (``care.flood.words``) from a phone with an open ask: a
partner's, else a household's. Anything else goes on to care and the chatbot untouched.
"""

from __future__ import annotations

import asyncpg

from care.flood import answers, checks_repository, messages
from care.flood.schemas import Answer
from care.flood.words import read
from notifications.inbound import InboundSms
from notifications.schemas import Priority
from notifications.service import Notifier, Outgoing


async def handle_sms(conn: asyncpg.Connection, sms: InboundSms, notifier: Notifier) -> str | None:
    """The inbound-SMS handler for flood answers; see the module docstring."""
    reading = read(sms.body)
    if reading is None:
        return None
    asks = await checks_repository.asks_of_partner(conn, sms.phone) if reading.explicit else []
    checks = await checks_repository.checks_of_household_phone(conn, sms.phone)
    if asks and checks:
        # Two 반지하 neighbours are often each other's partners: whose home the answer is about.
        whose = _whose(reading.answer, reading.code, own=checks[0]["household_id"])
        if whose == "partner":
            return await _partner(conn, sms, notifier, asks, reading.answer, reading.code)
        if whose == "ask":
            return await _which(conn, sms, notifier, [checks[0]["household_id"], *(a["household_id"] for a in asks)])
    elif asks:
        return await _partner(conn, sms, notifier, asks, reading.answer, reading.code)
    if not checks:
        return None
    check = checks[0]
    await answers.by_household(
        conn, notifier=notifier, check=check, answer=reading.answer, via="sms", body=sms.body, at=sms.received_at
    )
    said = Answer.safe if reading.answer is Answer.arrived else reading.answer
    reply = answers.recorded(
        phone=sms.phone,
        language=check["language"],
        answer=said,
        household=check["household"],
        code=check["household_id"],
        key=f"flood:reply:{sms.message_sid}",
    )
    await notifier.enqueue_many(conn, items=[reply], now=sms.received_at)
    return "flood.household"


async def _partner(
    conn: asyncpg.Connection,
    sms: InboundSms,
    notifier: Notifier,
    asks: list[asyncpg.Record],
    answer: Answer,
    code: int | None,
) -> str:
    homes = list(dict.fromkeys(a["household_id"] for a in asks))
    chosen = [a for a in asks if a["household_id"] == code] if code is not None else asks if len(homes) == 1 else []
    if not chosen:
        # A partner of several homes must say which; nothing is recorded until they do.
        return await _which(conn, sms, notifier, homes, language=asks[0]["language"])
    ask = chosen[0]
    await answers.by_partner(
        conn, notifier=notifier, ask=ask, answer=answer, via="sms", body=sms.body, at=sms.received_at
    )
    said = Answer.arrived if answer is Answer.safe else answer
    reply = answers.recorded(
        phone=sms.phone,
        language=ask["language"],
        answer=said,
        household=ask["household"],
        code=ask["household_id"],
        key=f"flood:reply:{sms.message_sid}",
    )
    await notifier.enqueue_many(conn, items=[reply], now=sms.received_at)
    return "flood.partner"


def _whose(answer: Answer, code: int | None, *, own: int) -> str:
    """For a phone that is both a household's and another home's partner: ``household``, ``partner`` or ``ask``.

    A home number decides; else "safe" is about oneself and "arrived" about the other home; a call for help is
    taken as one's own (the duty worker calls back the number it came from either way); "evacuated" is asked.
    """
    if code is not None:
        return "household" if code == own else "partner"
    return {Answer.safe: "household", Answer.arrived: "partner", Answer.need_help: "household"}.get(answer, "ask")


async def _which(
    conn: asyncpg.Connection, sms: InboundSms, notifier: Notifier, homes: list[int], *, language: str = "ko"
) -> str:
    """Ask which home the answer is about, listing the home numbers; nothing is recorded until it is said."""
    homes = list(dict.fromkeys(homes))
    which = Outgoing(
        dedupe_key=f"flood:reply:{sms.message_sid}",
        template=messages.WHICH_HOME,
        params={"example": homes[0], "codes": ", ".join(str(h) for h in homes[:10])},
        language=language,
        phone=sms.phone,
        priority=Priority.urgent,
        overrides_opt_out=True,
    )
    await notifier.enqueue_many(conn, items=[which], now=sms.received_at)
    return "flood.which_home"
