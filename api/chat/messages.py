"""What the chat side says itself: the bot's replies by SMS, and the apology when the bot cannot answer."""

from __future__ import annotations

import re

from notifications.templates import Template, Text, register

APOLOGY = {
    "ko": (
        "죄송합니다. 지금은 챗봇이 답할 수 없습니다. 잠시 후 다시 시도해 주세요. "
        "급한 일이면 119(화재·구조·구급) 또는 112(경찰)에 전화하세요."
    ),
    "en": (
        "Sorry, the chatbot cannot answer right now. Please try again in a few minutes. "
        "In an emergency, call 119 (fire, rescue, ambulance) or 112 (police)."
    ),
}


def _t(name: str, *, ko: str, en: str) -> str:
    register(Template(name=name, urgent=False, ko=Text(title=None, body=ko), en=Text(title=None, body=en)))
    return name


REPLY = _t("chat.reply", ko="{text}", en="{text}")
SORRY = _t("chat.sorry", ko=APOLOGY["ko"], en=APOLOGY["en"])

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z]")


def language_of(text: str, *, known: str | None) -> str:
    """The language to answer in: the person's own, unless the text is plainly in the other one."""
    if _HANGUL.search(text):
        return "ko"
    if len(_LATIN.findall(text)) >= 4:
        return "en"
    return known if known in ("ko", "en") else "ko"
