"""Message texts in Korean (the default) and English, checked when a message is enqueued.

A template that lacks a variable fails at enqueue time, in the request or job that caused it, and
never at 3 a.m. in the dispatcher. SMS bodies carry the service's name, as Korean carriers expect.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Literal

import msgspec

Language = Literal["ko", "en"]
LANGUAGES: tuple[Language, ...] = ("ko", "en")

_SMS_PREFIX = {"ko": "[안전서울] ", "en": "[safecity] "}


class TemplateError(ValueError):
    """A message could not be rendered: an unknown template or a missing variable."""


class Text(msgspec.Struct, frozen=True, kw_only=True):
    title: str | None
    body: str


class Template(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    urgent: bool
    ko: Text
    en: Text

    def variables(self) -> set[str]:
        """Every variable any language of this template uses."""
        names: set[str] = set()
        for text in (self.ko, self.en):
            for part in (text.title or "", text.body):
                names.update(field for _, field, _, _ in string.Formatter().parse(part) if field)
        return names


class Rendered(msgspec.Struct, frozen=True, kw_only=True):
    template: str
    language: Language
    title: str | None
    body: str
    sms_body: str


def _t(name: str, *, urgent: bool, ko: tuple[str | None, str], en: tuple[str | None, str]) -> Template:
    return Template(name=name, urgent=urgent, ko=Text(title=ko[0], body=ko[1]), en=Text(title=en[0], body=en[1]))


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        _t(
            "auth.otp",
            urgent=True,
            ko=(None, "인증번호 {code} ({minutes}분 안에 입력하세요). 요청하지 않았다면 무시하세요."),
            en=(None, "Your code is {code} (valid for {minutes} min). Ignore this if you did not ask for it."),
        ),
        _t(
            "sms.opted_out",
            urgent=False,
            ko=(None, "수신거부 처리되었습니다. 다시 받으려면 '시작'이라고 보내 주세요."),
            en=(None, "You will get no more messages from us. Reply START to get them again."),
        ),
        _t(
            "sms.opted_in",
            urgent=False,
            ko=(None, "문자 수신이 다시 시작되었습니다. 그만 받으려면 '수신거부'라고 보내 주세요."),
            en=(None, "You will get our messages again. Reply STOP to stop them."),
        ),
        _t(
            "alert.weather",
            urgent=True,
            ko=("[{headline}] {area}", "{area}에 {headline}. {instruction}"),
            en=("[{headline}] {area}", "{headline} in {area}. {instruction}"),
        ),
        _t(
            "notice.test",
            urgent=False,
            ko=("안전서울 알림 시험", "{text}"),
            en=("safecity test message", "{text}"),
        ),
    )
}


_VARIABLES: dict[str, tuple[Template, frozenset[str]]] = {}


def register(template: Template) -> Template:
    """Add a domain's template (care, hazards…) at import; a name is registered once."""
    if template.name in TEMPLATES and TEMPLATES[template.name] != template:
        raise TemplateError(f"template {template.name!r} is already registered with other texts")
    TEMPLATES[template.name] = template
    return template


def get(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise TemplateError(f"there is no message template {name!r}") from None


def render(name: str, language: str, params: Mapping[str, object]) -> Rendered:
    """The texts of template ``name`` in ``language``; every variable of every language must be given."""
    template = get(name)
    cached = _VARIABLES.get(name)
    if cached is None or cached[0] is not template:
        # Parsed once per template, not once per message: a city-wide warning renders 50,000 of them.
        cached = _VARIABLES[name] = (template, frozenset(template.variables()))
    missing = cached[1] - params.keys()
    if missing:
        raise TemplateError(f"template {name!r} needs {', '.join(sorted(missing))}")
    lang: Language = "en" if language == "en" else "ko"
    text = template.en if lang == "en" else template.ko
    values = {k: str(v) for k, v in params.items()}
    title = text.title.format_map(values) if text.title else None
    body = text.body.format_map(values)
    sms = _SMS_PREFIX[lang] + (f"{title}\n{body}" if title and title not in body else body)
    return Rendered(template=name, language=lang, title=title, body=body, sms_body=sms)
