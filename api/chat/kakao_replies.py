"""Our replies in Kakao's skill response format: at most three simpleText outputs of 1,000 characters, and quick
replies (the bot's buttons; 네 / 아니요 after a yes-or-no question; else 괜찮아요 / 도와주세요 for someone in care)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import structlog

from api.chat.kakao_schemas import (
    MAX_LABEL,
    MAX_OUTPUTS,
    MAX_QUICK_REPLIES,
    MAX_TEXT,
    VERSION,
    Output,
    QuickReply,
    Reply,
    SimpleText,
    SkillResponse,
    Template,
)
from api.chat.rasa import BotReply

log = structlog.get_logger(__name__)

# The bot's yes-or-no questions end so ("… 네 / 아니요", "(네/아니요)", "yes / no"): they get 네 / 아니요 to tap.
_YES_NO = re.compile(r"\(?\s*(네\s*/\s*아니요|yes\s*/\s*no)\s*\)?\s*[.?!]?\s*$", re.IGNORECASE)
_QUICK = {
    "yes_no": {"ko": [("네", "네"), ("아니요", "아니요")], "en": [("Yes", "yes"), ("No", "no")]},
    "care": {
        "ko": [("괜찮아요", "괜찮아요"), ("도와주세요", "도와주세요")],
        "en": [("I'm OK", "I'm OK"), ("Help me", "Help me")],
    },
    "citizen": {
        "ko": [
            ("가까운 대피소", "가까운 대피소 알려줘"),
            ("기상특보", "지금 기상특보 있어?"),
            ("도와주세요", "도와주세요"),
        ],
        "en": [
            ("Shelters", "Where is the nearest shelter?"),
            ("Warnings", "Any warnings now?"),
            ("Help me", "Help me"),
        ],
    },
}


def quick_for(*, language: str, in_care: bool, yes_no: bool = False) -> list[tuple[str, str]]:
    kind = "yes_no" if yes_no else "care" if in_care else "citizen"
    return list(_QUICK[kind]["en" if language == "en" else "ko"])


def from_bot(replies: Sequence[BotReply], *, language: str, in_care: bool) -> Reply:
    """The bot's turn as we say it in KakaoTalk."""
    texts = [r.text for r in replies if r.text]
    buttons = [b for r in replies for b in r.buttons]
    asks_yes_no = bool(texts) and _YES_NO.search(texts[-1]) is not None
    if buttons:
        quick = [(title, payload if payload and not payload.startswith("/") else title) for title, payload in buttons]
    else:
        quick = quick_for(language=language, in_care=in_care, yes_no=asks_yes_no)
    return Reply(texts=texts, quick=quick, asks_yes_no=asks_yes_no or bool(buttons))


def render(reply: Reply) -> SkillResponse:
    """The skill response: the texts within Kakao's limits (joined, then split at 1,000 characters), quick replies."""
    outputs = [Output(simple_text=SimpleText(text=t)) for t in fit(reply.texts)]
    quick = [QuickReply(label=_label(label), message_text=text[:MAX_TEXT]) for label, text in reply.quick]
    return SkillResponse(
        version=VERSION, template=Template(outputs=outputs, quick_replies=quick[:MAX_QUICK_REPLIES] or None)
    )


def fit(texts: Sequence[str]) -> list[str]:
    """At most three texts of at most 1,000 characters saying all of ``texts`` (cut, and logged, only past 3,000)."""
    texts = [t.strip() for t in texts if t.strip()] or ["…"]
    while len(texts) > MAX_OUTPUTS:  # the two shortest neighbours become one
        i = min(range(len(texts) - 1), key=lambda k: len(texts[k]) + len(texts[k + 1]))
        texts[i : i + 2] = [f"{texts[i]}\n{texts[i + 1]}"]
    pieces: list[str] = []
    for text in texts:
        while len(text) > MAX_TEXT:
            cut = text.rfind("\n", 0, MAX_TEXT)
            cut = cut if cut > MAX_TEXT // 2 else MAX_TEXT
            pieces.append(text[:cut].rstrip())
            text = text[cut:].lstrip()
        pieces.append(text)
    if len(pieces) > MAX_OUTPUTS:
        log.warning("kakao reply cut to fit three outputs", characters=sum(map(len, pieces)))
        pieces = [*pieces[: MAX_OUTPUTS - 1], pieces[MAX_OUTPUTS - 1][: MAX_TEXT - 1] + "…"]
    return pieces


def callback_wait(text: str) -> SkillResponse:
    """The answer that turns the callback on: Kakao shows ``data.text`` (the block's placeholder) meanwhile."""
    return SkillResponse(version=VERSION, use_callback=True, data={"text": text})


def _label(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"
