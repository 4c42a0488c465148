"""The TwiML of our calls, and how a caller's answer to the menu is read: pure, so both are easy to test.

A check-in call is one menu (``<Gather input="dtmf speech">`` around a ``<Say>``) whose answer Twilio posts to
``/webhooks/twilio/voice/gather``; a message call says its text twice and hangs up.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from api.platform.distress import distress_cue
from notifications.inbound import Keyword, keyword

GATHER_PATH = "/webhooks/twilio/voice/gather"
STATUS_PATH = "/webhooks/twilio/voice/status"
MAX_ROUNDS = 2  # the menu is played, and repeated once; then the call counts as not answered

_SPEECH = {"ko": "ko-KR", "en": "en-US"}
# Words Twilio's recogniser is told to expect: they make a short Korean answer far likelier to be heard right.
_HINTS = {
    "ko": "괜찮아요, 네, 좋아요, 도와주세요, 살려주세요, 아파요, 일번, 이번",
    "en": "I'm fine, yes, okay, help me, help, one, two",
}
SAYINGS: dict[str, dict[str, str]] = {
    "again": {"ko": "잘 듣지 못했습니다. ", "en": "Sorry, I did not catch that. "},
    "no_answer": {
        "ko": "응답이 없어 통화를 마칩니다. 나중에 다시 연락드리겠습니다.",
        "en": "We did not hear an answer, so we will end the call and try again later.",
    },
    "ended": {"ko": "이 통화는 이미 끝났습니다. 고맙습니다.", "en": "This call has already ended. Thank you."},
    "not_recorded": {
        "ko": "지금은 응답을 기록할 수 없습니다. 위급하면 119에 전화하세요.",
        "en": "We cannot record your answer now. In an emergency, call 119.",
    },
}


class Answer(StrEnum):
    checkin = "checkin"
    help = "help"
    unclear = "unclear"  # silence, other digits, other words: the menu again, once


# Spoken help is heard inside a longer sentence too ("아이고 살려주세요"): a call for help must never be missed.
# Only words that cannot hide inside an innocent one ("아파" would be heard in "아파트", "sos" in "so sorry").
_SPOKEN_HELP = ("도와주세요", "도와줘", "살려주세요", "살려줘", "아파요", "아픕니다", "helpme")
_DIGITS = {"1": Answer.checkin, "2": Answer.help}
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def read_answer(*, digits: str | None, speech: str | None) -> Answer:
    """What a menu's answer means: 1 or a check-in word, 2 or a help word; anything else is unclear.

    Speech is read for help first: a help word anywhere in what was said, or one of the chatbot's distress cues
    (``api.platform.distress``: "가슴이 아파요", "숨을 못 쉬겠어요", "I fell"), is a call for help, whatever else was
    said ("괜찮아요, 근데 넘어졌어요"). Then it goes through the SMS keyword rules (whole words), so "안 괜찮아요" is
    not a check-in while "네, 괜찮아요" is.
    """
    if digits:
        return _DIGITS.get(digits.strip(), Answer.unclear)
    if not speech:
        return Answer.unclear
    said = _NOISE.sub("", unicodedata.normalize("NFKC", speech)).casefold()
    if any(word in said for word in _SPOKEN_HELP) or distress_cue(unicodedata.normalize("NFKC", speech)):
        return Answer.help
    found = keyword(speech)
    if found is not None and found[0] is Keyword.help:
        return Answer.help
    if found is not None and found[0] is Keyword.checkin:
        return Answer.checkin
    # "네, 괜찮아요": every word a check-in word. One other word ("안 괜찮아요") and it is not.
    words = [keyword(word) for word in speech.split()]
    if words and all(w is not None and w[0] is Keyword.checkin for w in words):
        return Answer.checkin
    return Answer.unclear


def language_of(language: str | None) -> str:
    return "en" if language == "en" else "ko"


def gather_url(public_url: str, *, outbox_id: str | int, round_: int) -> str:
    return f"{public_url.rstrip('/')}{GATHER_PATH}?{urlencode({'outbox': outbox_id, 'round': round_})}"


def status_url(public_url: str, *, outbox_id: str | int) -> str:
    return f"{public_url.rstrip('/')}{STATUS_PATH}?{urlencode({'outbox': outbox_id})}"


def menu(text: str, *, language: str, action: str, again: bool = False) -> str:
    """The check-in question as one ``<Gather>``; Twilio posts its answer, or its silence, to ``action``."""
    lang = language_of(language)
    response = VoiceResponse()
    gather = response.gather(
        input="dtmf speech",
        language=_SPEECH[lang],
        action=action,
        method="POST",
        num_digits=1,
        timeout=6,
        speech_timeout="auto",
        action_on_empty_result=True,
        hints=_HINTS[lang],
    )
    gather.say((SAYINGS["again"][lang] if again else "") + text, language=_SPEECH[lang])
    return str(response.to_xml())


def say(text: str, *, language: str, times: int = 1) -> str:
    """Say ``text`` (``times`` over, for a message someone may miss the start of), then hang up."""
    lang = language_of(language)
    response = VoiceResponse()
    for _ in range(times):
        response.say(text, language=_SPEECH[lang])
    response.hangup()
    return str(response.to_xml())


def hang_up() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response.to_xml())


def saying(name: str, language: str) -> str:
    return SAYINGS[name][language_of(language)]
