"""Answers to flood checks by text: SMS, as one more handler of the one inbound router (``notifications.inbound``:
the Twilio and the Korean provider's webhooks hand every text to the handlers in turn, and this one is asked
first), and KakaoTalk, whose skill (``api.chat.kakao``) asks ``answer`` first for a linked user's message.

It takes a text only when it reads as an answer (``care.flood.words``) from a phone with an open ask: a
partner's, else a household's. Anything else goes on to care and the chatbot untouched.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import asyncpg

from care.flood import answers, checks_repository, messages
from care.flood.schemas import Answer
from care.flood.words import read
from notifications.inbound import InboundSms
from notifications.schemas import Priority
from notifications.service import Notifier, Outgoing


class Answered(NamedTuple):
    handled_by: str  # flood.household, flood.partner or flood.which_home
    reply: Outgoing  # what is said back: what was recorded, or which home


async def handle_sms(conn: asyncpg.Connection, sms: InboundSms, notifier: Notifier) -> str | None:
    """The inbound-SMS handler for flood answers; see the module docstring. The reply goes back by SMS."""
    answered = await answer(
        conn, phone=sms.phone, body=sms.body, via="sms", key=sms.message_sid, at=sms.received_at, notifier=notifier
    )
    if answered is None:
        return None
    await notifier.enqueue_many(conn, items=[answered.reply], now=sms.received_at)
    return answered.handled_by


async def answer(
    conn: asyncpg.Connection, *, phone: str, body: str, via: str, key: str, at: datetime, notifier: Notifier
) -> Answered | None:
    """A message from ``phone`` by ``via`` (sms, kakao) taken as a flood answer when it reads as one and the phone
    has an open ask, recorded; the reply to give back, or None when it is not a flood answer. ``key`` names the
    message (its provider's id), so a message received twice is replied to once."""
    reading = read(body)
    if reading is None:
        return None
    asks = await checks_repository.asks_of_partner(conn, phone) if reading.explicit else []
    checks = await checks_repository.checks_of_household_phone(conn, phone)
    said = _Said(phone=phone, body=body, via=via, key=f"flood:reply:{key}", at=at)
    if asks and checks:
        # Two 반지하 neighbours are often each other's partners: whose home the answer is about.
        whose = _whose(reading.answer, reading.code, own=checks[0]["household_id"])
        if whose == "partner":
            return await _partner(conn, said, notifier, asks, reading.answer, reading.code)
        if whose == "ask":
            return _which(said, [checks[0]["household_id"], *(a["household_id"] for a in asks)])
    elif asks:
        return await _partner(conn, said, notifier, asks, reading.answer, reading.code)
    if not checks:
        return None
    check = checks[0]
    await answers.by_household(conn, notifier=notifier, check=check, answer=reading.answer, via=via, body=body, at=at)
    told = Answer.safe if reading.answer is Answer.arrived else reading.answer
    reply = answers.recorded(
        phone=phone,
        language=check["language"],
        answer=told,
        household=check["household"],
        code=check["household_id"],
        key=said.key,
    )
    return Answered("flood.household", reply)


class _Said(NamedTuple):
    phone: str
    body: str
    via: str
    key: str  # the reply's dedupe key
    at: datetime


async def _partner(
    conn: asyncpg.Connection,
    said: _Said,
    notifier: Notifier,
    asks: list[asyncpg.Record],
    answer: Answer,
    code: int | None,
) -> Answered:
    homes = list(dict.fromkeys(a["household_id"] for a in asks))
    chosen = [a for a in asks if a["household_id"] == code] if code is not None else asks if len(homes) == 1 else []
    if not chosen:
        # A partner of several homes must say which; nothing is recorded until they do.
        return _which(said, homes, language=asks[0]["language"])
    ask = chosen[0]
    await answers.by_partner(conn, notifier=notifier, ask=ask, answer=answer, via=said.via, body=said.body, at=said.at)
    told = Answer.arrived if answer is Answer.safe else answer
    reply = answers.recorded(
        phone=said.phone,
        language=ask["language"],
        answer=told,
        household=ask["household"],
        code=ask["household_id"],
        key=said.key,
    )
    return Answered("flood.partner", reply)


def _whose(answer: Answer, code: int | None, *, own: int) -> str:
    """For a phone that is both a household's and another home's partner: ``household``, ``partner`` or ``ask``.

    A home number decides; else "safe" is about oneself and "arrived" about the other home; a call for help is
    taken as one's own (the duty worker calls back the number it came from either way); "evacuated" is asked.
    """
    if code is not None:
        return "household" if code == own else "partner"
    return {Answer.safe: "household", Answer.arrived: "partner", Answer.need_help: "household"}.get(answer, "ask")


def _which(said: _Said, homes: list[int], *, language: str = "ko") -> Answered:
    """Ask which home the answer is about, listing the home numbers; nothing is recorded until it is said."""
    homes = list(dict.fromkeys(homes))
    which = Outgoing(
        dedupe_key=said.key,
        template=messages.WHICH_HOME,
        params={"example": homes[0], "codes": ", ".join(str(h) for h in homes[:10])},
        language=language,
        phone=said.phone,
        priority=Priority.urgent,
        overrides_opt_out=True,
    )
    return Answered("flood.which_home", which)
