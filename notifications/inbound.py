"""Inbound texts: the one keyword router for every text a person sends us, whatever the channel.

Opt-out and opt-in words are handled here. Check-in and help words are recognised here too, so every channel
reads them alike, and are handed with the text to the domains that act on them (care); any other text goes on
to the next domain that wants it (the chatbot).

Twilio's own opt-out handling knows English words only and answers them itself, so we answer only the
Korean ones. Either way the number is recorded here, which is what stops our messages.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from enum import StrEnum

import asyncpg
import msgspec
import structlog

from api.platform.phones import mask_phone
from notifications import recipients_repository
from notifications.schemas import Priority
from notifications.service import Notifier

log = structlog.get_logger(__name__)


class Keyword(StrEnum):
    stop = "stop"
    start = "start"
    checkin = "checkin"
    help = "help"


# Twilio's standard keywords (which Twilio answers itself), then ours in Korean (which we answer).
_ENGLISH = {
    **dict.fromkeys(("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"), Keyword.stop),
    # "yes" is left out: it answers a check-in far more often than it asks to opt back in.
    **dict.fromkeys(("start", "unstop"), Keyword.start),
}
_KOREAN = {
    **dict.fromkeys(("수신거부", "수신거절", "그만", "그만보내", "그만보내세요", "문자그만"), Keyword.stop),
    **dict.fromkeys(("시작", "수신동의", "다시시작"), Keyword.start),
}
# A call for help is read before a check-in: "도와주세요" must never count as "I'm fine".
_HELP = frozenset({"helpme", "help", "sos", "도와주세요", "도와줘", "살려주세요", "살려줘", "도움", "도움요청", "119"})
_CHECKIN = frozenset(
    {"1", "ok", "okay", "yes", "fine", "good", "imok", "네", "예", "응", "좋아요", "괜찮아요", "괜찮아"}
    | {"괜찮습니다", "잘있어요", "잘지내요", "확인", "이상없음"}
)
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


class InboundSms(msgspec.Struct, frozen=True, kw_only=True):
    message_sid: str
    phone: str
    to: str | None
    body: str
    received_at: datetime

    @property
    def keyword(self) -> Keyword | None:
        """The keyword the whole text is, as the router reads it; None for any other text."""
        found = keyword(self.body)
        return found[0] if found else None


# A domain's handler: returns its name when it took the message, None to let the next one try.
InboundHandler = Callable[[asyncpg.Connection, InboundSms, Notifier], Awaitable[str | None]]


def keyword(body: str) -> tuple[Keyword, str] | None:
    """The keyword the whole message is, with its language; None for any other text.

    Words are matched whole, after NFKC, without spaces or punctuation and ignoring case.
    """
    word = _NOISE.sub("", unicodedata.normalize("NFKC", body)).casefold()
    if word in _KOREAN:
        return _KOREAN[word], "ko"
    if word in _ENGLISH:
        return _ENGLISH[word], "en"
    language = "ko" if _HANGUL.search(word) else "en"
    if word in _HELP:
        return Keyword.help, language
    if word in _CHECKIN:
        return Keyword.checkin, language
    return None


async def receive(
    conn: asyncpg.Connection,
    *,
    sms: InboundSms,
    notifier: Notifier,
    handlers: Sequence[InboundHandler],
) -> str:
    """Act on an inbound SMS once, however often Twilio delivers it; what handled it."""
    async with conn.transaction():
        if not await recipients_repository.insert_inbound(
            conn, message_sid=sms.message_sid, phone=sms.phone, body=sms.body, handled_by="", now=sms.received_at
        ):
            return "duplicate"
        handled_by = await _route(conn, sms, notifier, handlers)
        await recipients_repository.set_inbound_handler(conn, message_sid=sms.message_sid, handled_by=handled_by)
    log.info("sms received", phone=mask_phone(sms.phone), handled_by=handled_by)
    return handled_by


async def _route(
    conn: asyncpg.Connection, sms: InboundSms, notifier: Notifier, handlers: Sequence[InboundHandler]
) -> str:
    found = keyword(sms.body)
    if found is not None and found[0] in (Keyword.stop, Keyword.start):
        word, language = found
        if word is Keyword.stop:
            await recipients_repository.opt_out(
                conn, phone=sms.phone, keyword=sms.body.strip()[:40], source="sms", now=sms.received_at
            )
            template = "sms.opted_out"
        else:
            await recipients_repository.opt_in(conn, phone=sms.phone)
            template = "sms.opted_in"
        if language == "ko":
            # The one message an opted-out number still gets: the confirmation it asked for.
            await notifier.to_phone(
                conn,
                phone=sms.phone,
                language="ko",
                template=template,
                params={},
                now=sms.received_at,
                priority=Priority.routine,
                overrides_opt_out=True,
                dedupe_key=f"sms-keyword:{sms.message_sid}",
            )
        return f"opt-{'out' if word is Keyword.stop else 'in'}"
    for handler in handlers:
        taken = await handler(conn, sms, notifier)
        if taken:
            return taken
    log.warning("sms not understood by any handler", phone=mask_phone(sms.phone))
    return "unhandled"
