"""What a warning says to people, in Korean and English.

Each text arrives in both languages as parameters (``headline_ko``, ``headline_en`` …) because the warning's
own words differ by language; the templates add what we say around them. Every fan-out SMS must fit in the
configured segments, so the alert's words are clipped to the budgets below before they go in.
"""

from __future__ import annotations

from notifications.templates import Template, Text, register

HEADLINE_CHARS = 70
INSTRUCTION_CHARS = 90


def _t(name: str, *, urgent: bool, ko: tuple[str | None, str], en: tuple[str | None, str]) -> str:
    register(Template(name=name, urgent=urgent, ko=Text(title=ko[0], body=ko[1]), en=Text(title=en[0], body=en[1])))
    return name


WARNING = _t(
    "alerts.warning",
    urgent=True,
    ko=("{headline_ko}", "{instruction_ko}{shelter_ko}"),
    en=("{headline_en}", "{instruction_en}{shelter_en}"),
)
ALL_CLEAR = _t(
    "alerts.all_clear",
    urgent=False,
    ko=("특보 해제", "{headline_ko}"),
    en=("Warning lifted", "{headline_en}"),
)
PERSONAL = _t(
    "alerts.personal",
    urgent=True,
    ko=("{headline_ko}", "{name}님, {instruction_ko}{shelter_ko}"),
    en=("{headline_en}", "{name}, {instruction_en}{shelter_en}"),
)
ARE_YOU_SAFE = _t(
    "alerts.are_you_safe",
    urgent=True,
    ko=(
        "{headline_ko}",
        "{name}님, 안전하신가요? 괜찮으면 '1', 도움이 필요하면 '도와주세요'라고 답해 주세요.{shelter_ko}",
    ),
    en=("{headline_en}", "{name}, are you safe? Reply '1' if you are, or 'HELP ME' if you need help.{shelter_en}"),
)


def clip(text: str | None, limit: int) -> str:
    """At most ``limit`` characters of ``text`` on one line, cut at a word where one is near."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit * 0.6 else cut).rstrip(" ,.;:") + "…"
