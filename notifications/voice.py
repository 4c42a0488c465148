"""Calls' webhooks: the menu's answers, handed to the domain that asked (care), and the calls' status callbacks,
recorded as their deliveries' results.

Each webhook acts once (``voice_call_events``: a gather by its round, a status callback by its SequenceNumber), so
a replay changes nothing and answers what the first one did. A gather for a call we did not place, or one that
has ended, gets polite TwiML and records nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime

import asyncpg
import msgspec
import structlog

from api.platform.phones import mask_phone
from notifications import templates, voice_repository
from notifications.service import Notifier
from notifications.voice_twiml import (
    MAX_ROUNDS,
    Answer,
    gather_url,
    hang_up,
    language_of,
    menu,
    read_answer,
    say,
    saying,
)

log = structlog.get_logger(__name__)

# Twilio's CallStatus values that end a call, and what each means for the person we called.
_ENDED = {"busy": "busy", "no-answer": "no_answer", "failed": "failed", "canceled": "canceled"}
_FINAL = frozenset({"completed", *_ENDED})
# Where a status falls in a call's life: its sequence number when Twilio gives none.
_ORDER = {"queued": 0, "initiated": 0, "ringing": 1, "in-progress": 2}
ANSWERED = frozenset({"checkin", "help", "heard"})


class VoiceAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """What the person called answered to the check-in menu."""

    call_sid: str
    phone: str
    answer: Answer
    said: str | None  # the digits pressed or the words heard, as Twilio gave them
    language: str
    at: datetime
    asked: str  # the template of the question the call asked (a check-in, a safety check…)


# A domain's handler: records the answer and returns the template of what the call says back, or None when the
# number is not its own.
VoiceHandler = Callable[[asyncpg.Connection, VoiceAnswer, Notifier], Awaitable[str | None]]


def _machine(answered_by: str | None) -> bool:
    return bool(answered_by) and (answered_by or "").startswith(("machine", "fax"))


async def gather(
    conn: asyncpg.Connection,
    *,
    form: Mapping[str, str],
    outbox_id: int,
    round_: int,
    notifier: Notifier,
    handlers: Sequence[VoiceHandler],
    public_url: str,
    now: datetime,
) -> str:
    """Act on one answer to a check-in menu; the TwiML that the call goes on with."""
    sid = form.get("CallSid", "")
    async with conn.transaction():
        delivery = await voice_repository.call_delivery(conn, outbox_id=outbox_id, call_sid=sid, to=form.get("To"))
        if delivery is None or (delivery["data"] or {}).get("call") != "checkin" or not 1 <= round_ <= MAX_ROUNDS:
            log.warning("gather for a call we did not place", call_sid=sid, outbox_id=outbox_id)
            return say(saying("ended", "ko"), language="ko")
        language = language_of(delivery["language"])
        call = await voice_repository.lock_call(
            conn,
            call_sid=sid,
            outbox_id=outbox_id,
            phone=delivery["recipient"],
            purpose="checkin",
            status=form.get("CallStatus") or "in-progress",
            now=now,
        )
        if call["ended_at"] is not None:
            return say(saying("ended", language), language=language)
        digits, speech = form.get("Digits") or None, form.get("SpeechResult") or None
        said = f"digits {digits}" if digits else f"speech {speech}" if speech else "silence"
        if not await voice_repository.record_event(
            conn, call_sid=sid, kind="gather", seq=round_, status=said, detail=None, now=now
        ):
            detail = await voice_repository.event_detail(conn, call_sid=sid, kind="gather", seq=round_)
            return _replayed(detail, delivery, round_=round_, language=language, public_url=public_url)
        if call["result"] is not None:
            return say(saying("ended", language), language=language)
        answered_by = form.get("AnsweredBy") or call["answered_by"]
        if _machine(answered_by):
            await voice_repository.update_call(conn, call_sid=sid, answered_by=answered_by, result="machine", now=now)
            await _note(conn, sid, round_, "machine")
            return hang_up()
        answer = read_answer(digits=digits, speech=speech)
        if answer is Answer.unclear:
            return await _unclear(conn, sid, delivery, round_=round_, language=language, public_url=public_url, now=now)
        reply = VoiceAnswer(
            call_sid=sid,
            phone=delivery["recipient"],
            answer=answer,
            said=digits or speech,
            language=language,
            at=now,
            asked=delivery["template"],
        )
        template = await _hand_on(conn, reply, notifier, handlers)
        await voice_repository.update_call(conn, call_sid=sid, result=answer.value, rounds=round_, now=now)
        await _note(conn, sid, round_, template or "not_recorded")
    log.info("call answered", call_sid=sid, phone=mask_phone(reply.phone), answer=answer.value)
    return _said_back(template, language)


async def _unclear(
    conn: asyncpg.Connection,
    sid: str,
    delivery: asyncpg.Record,
    *,
    round_: int,
    language: str,
    public_url: str,
    now: datetime,
) -> str:
    """Silence or anything else: the menu once more, then the call counts as not answered."""
    if round_ < MAX_ROUNDS:
        await voice_repository.update_call(conn, call_sid=sid, rounds=round_, now=now)
        await _note(conn, sid, round_, "menu")
        action = gather_url(public_url, outbox_id=delivery["id"], round_=round_ + 1)
        return menu(delivery["body"], language=language, action=action, again=True)
    await voice_repository.update_call(conn, call_sid=sid, rounds=round_, result="no_answer", now=now)
    await _note(conn, sid, round_, "no_answer")
    return say(saying("no_answer", language), language=language)


async def _note(conn: asyncpg.Connection, sid: str, round_: int, answered: str) -> None:
    """What a gather answered, kept on its event, so that a replay answers the same."""
    await voice_repository.set_event_detail(conn, call_sid=sid, kind="gather", seq=round_, detail=answered)


def _replayed(detail: str | None, delivery: asyncpg.Record, *, round_: int, language: str, public_url: str) -> str:
    """A gather Twilio sent again: what the first one answered (its event's ``detail``), and nothing done again."""
    if detail == "menu":
        action = gather_url(public_url, outbox_id=delivery["id"], round_=round_ + 1)
        return menu(delivery["body"], language=language, action=action, again=True)
    if detail in ("no_answer", "not_recorded"):
        return say(saying(detail, language), language=language)
    if detail == "machine":
        return hang_up()
    if detail and detail in templates.TEMPLATES:
        return _said_back(detail, language)
    return say(saying("ended", language), language=language)


async def _hand_on(
    conn: asyncpg.Connection, reply: VoiceAnswer, notifier: Notifier, handlers: Sequence[VoiceHandler]
) -> str | None:
    for handler in handlers:
        template = await handler(conn, reply, notifier)
        if template:
            return template
    log.warning("call answer taken by no handler", phone=mask_phone(reply.phone), answer=reply.answer.value)
    return None


def _said_back(template: str | None, language: str) -> str:
    if template is None:
        return say(saying("not_recorded", language), language=language)
    return say(templates.render(template, language, {}).body, language=language)


async def status(conn: asyncpg.Connection, *, form: Mapping[str, str], outbox_id: int, now: datetime) -> str | None:
    """Record a call's status callback; the delivery's new state when the call ended, else None."""
    sid, call_status = form.get("CallSid", ""), form.get("CallStatus", "")
    answered_by = form.get("AnsweredBy") or None
    seq = _sequence(form.get("SequenceNumber"), call_status)
    async with conn.transaction():
        delivery = await voice_repository.call_delivery(conn, outbox_id=outbox_id, call_sid=sid, to=form.get("To"))
        if delivery is None:
            log.warning("status callback for a call we did not place", call_sid=sid, outbox_id=outbox_id)
            return None
        purpose = "checkin" if (delivery["data"] or {}).get("call") == "checkin" else "message"
        call = await voice_repository.lock_call(
            conn,
            call_sid=sid,
            outbox_id=outbox_id,
            phone=delivery["recipient"],
            purpose=purpose,
            status=call_status,
            now=now,
        )
        if not await voice_repository.record_event(
            conn, call_sid=sid, kind="status", seq=seq, status=call_status, detail=answered_by, now=now
        ):
            return None
        final = call_status in _FINAL
        await voice_repository.update_call(
            conn, call_sid=sid, status=call_status, answered_by=answered_by, ended=final, now=now
        )
        if not final:
            return None
        result = call["result"] or _result(call_status, answered_by or call["answered_by"], purpose)
        await voice_repository.update_call(conn, call_sid=sid, result=result, now=now)
        state = "delivered" if result in ANSWERED else "failed"
        error = None if state == "delivered" else f"not answered: {result} (call {call_status})"
        await voice_repository.finish_delivery(
            conn, outbox_id=outbox_id, call_sid=sid, state=state, error=error, now=now
        )
    log.info("call ended", call_sid=sid, phone=mask_phone(delivery["recipient"]), result=result, state=state)
    return state


def _result(call_status: str, answered_by: str | None, purpose: str) -> str:
    """What a call that ended without an answer recorded came to."""
    if call_status in _ENDED:
        return _ENDED[call_status]
    if _machine(answered_by):
        return "machine"
    # Completed: a message was heard; a check-in call that ended with no answer was hung up on mid-menu.
    return "heard" if purpose == "message" else "hung_up"


def _sequence(raw: str | None, call_status: str) -> int:
    try:
        return max(0, int(raw)) if raw is not None else _ORDER.get(call_status, 3)
    except ValueError:
        return _ORDER.get(call_status, 3)
