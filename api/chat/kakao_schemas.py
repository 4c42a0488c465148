"""Kakao i Open Builder's skill payload (what Kakao posts) and skill response (what we answer), version 2.0.

The payload is read leniently (Kakao adds fields; ``intent``, ``bot``, ``action`` and ``contexts`` are not ours to
check); what we rely on is strict: ``userRequest.utterance`` and ``userRequest.user.id``.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

MAX_UTTERANCE = 1000  # KakaoTalk's own limit on what the skill is sent; more is refused with a reply saying so
# The skill response's limits, as Kakao's response format documents them.
MAX_OUTPUTS = 3
MAX_TEXT = 1000
MAX_QUICK_REPLIES = 10
MAX_LABEL = 14
VERSION = "2.0"

UserKey = Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]


class KakaoUser(msgspec.Struct, frozen=True, kw_only=True):
    id: UserKey  # a botUserKey: the same person in this bot, another in any other
    type: str | None = None
    properties: dict[str, Any] | None = None


class UserRequest(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    utterance: str
    user: KakaoUser
    callback_url: str | None = None  # set when the block has Callback API on: one use, within a minute
    timezone: str | None = None
    lang: str | None = None
    block: dict[str, Any] | None = None
    params: dict[str, Any] | None = None


class SkillRequest(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    user_request: UserRequest
    version: str | None = None  # Kakao sends none today; one it sends must be the one we answer in
    intent: dict[str, Any] | None = None
    bot: dict[str, Any] | None = None
    action: dict[str, Any] | None = None
    contexts: list[Any] | None = None


class SimpleText(msgspec.Struct, frozen=True):
    text: str


class Output(msgspec.Struct, frozen=True, rename="camel"):
    simple_text: SimpleText


class QuickReply(msgspec.Struct, frozen=True, rename="camel"):
    label: str
    message_text: str
    action: str = "message"


class Template(msgspec.Struct, frozen=True, omit_defaults=True, rename="camel"):
    outputs: list[Output]
    quick_replies: list[QuickReply] | None = None


class SkillResponse(msgspec.Struct, frozen=True, omit_defaults=True, rename="camel"):
    version: str  # always VERSION; not a default, which omit_defaults would leave out
    template: Template | None = None
    use_callback: bool = False
    data: dict[str, str] | None = None  # with useCallback: the block's placeholder reads data.text


class Reply(msgspec.Struct, frozen=True, kw_only=True):
    """What we say in one turn, as it is kept (kakao_messages.reply) and rendered into a skill response."""

    texts: list[str]
    quick: list[tuple[str, str]] = []  # (label, the message it sends)
    asks_yes_no: bool = False


class LinkCodeRead(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    expires_at: str
    detail: str


SKILL_BODY = {
    "application/json": {
        "type": "object",
        "required": ["userRequest"],
        "properties": {
            "userRequest": {
                "type": "object",
                "required": ["utterance", "user"],
                "properties": {
                    "utterance": {"type": "string", "maxLength": MAX_UTTERANCE},
                    "callbackUrl": {"type": "string"},
                    "user": {
                        "type": "object",
                        "required": ["id"],
                        "properties": {"id": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"}},
                    },
                },
            },
            "version": {"type": "string", "enum": [VERSION]},
        },
    }
}
