"""SMS from enrolled people: a check-in, a call for help, or anything else (still a sign of life, then the bot's)."""

from __future__ import annotations

import re
import unicodedata

import asyncpg

from care import repository, service
from notifications.inbound import InboundSms
from notifications.service import Notifier

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
CHECKIN_WORDS = frozenset(
    {
        "1",
        "ok",
        "okay",
        "yes",
        "fine",
        "good",
        "im ok",
        "imok",
        "네",
        "예",
        "응",
        "좋아요",
        "괜찮아요",
        "괜찮아",
        "괜찮습니다",
        "잘있어요",
        "잘지내요",
        "확인",
        "이상없음",
    }
)
HELP_WORDS = frozenset(
    {"helpme", "help", "sos", "도와주세요", "도와줘", "살려주세요", "살려줘", "도움", "도움요청", "119"}
)


def classify(body: str) -> str:
    """``help``, ``checkin`` or ``message``: the words are matched whole, without spaces or punctuation."""
    word = _NOISE.sub("", unicodedata.normalize("NFKC", body)).casefold()
    if word in HELP_WORDS:
        return "help"
    if word in {_NOISE.sub("", w) for w in CHECKIN_WORDS}:
        return "checkin"
    return "message"


async def handle_sms(conn: asyncpg.Connection, sms: InboundSms, notifier: Notifier) -> str | None:
    """The inbound-SMS handler: takes check-in and help words from enrolled numbers.

    Any other text from an enrolled number is recorded as a sign of life and then left to the next handler
    (the chatbot), which answers it; texts from numbers not enrolled are left alone.
    """
    row = await repository.recipient_by_phone(conn, sms.phone)
    if row is None:
        return None
    kind = classify(sms.body)
    if kind == "help":
        await service.ask_for_help(
            conn, notifier=notifier, recipient_id=row["id"], channel="sms", at=sms.received_at, body=sms.body
        )
        return "care.help"
    await service.check_in(
        conn,
        notifier=notifier,
        recipient_id=row["id"],
        channel="sms",
        kind=kind,
        at=sms.received_at,
        body=sms.body,
    )
    return "care.checkin" if kind == "checkin" else None
