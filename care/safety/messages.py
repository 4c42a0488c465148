"""What a safety check says, to the person and to their guardians, in Korean and English."""

from __future__ import annotations

from notifications.templates import Template, Text, register


def _t(name: str, *, urgent: bool, ko: tuple[str | None, str], en: tuple[str | None, str]) -> str:
    register(Template(name=name, urgent=urgent, ko=Text(title=ko[0], body=ko[1]), en=Text(title=en[0], body=en[1])))
    return name


ASK_AGAIN = _t(
    "safety.ask_again",
    urgent=True,
    ko=(
        "안전 확인 (다시)",
        "{name}님, 답이 없어 다시 여쭙니다({event_ko}). 안전하시면 '1', 도움이 필요하면 '도와주세요'.",
    ),
    en=(
        "Are you safe? (again)",
        "{name}, we have not heard from you ({event_en}). Reply '1' if you are safe, 'HELP ME' if not.",
    ),
)
GUARDIAN_SILENT = _t(
    "safety.guardian_silent",
    urgent=True,
    ko=(None, "{name}님이 특보({event_ko}) 중 안전 확인에 답하지 않았습니다. 연락해 봐 주세요."),
    en=(None, "{name} has not answered our safety check ({event_en}). Please try to reach them."),
)
GUARDIAN_URGENT = _t(
    "safety.guardian_urgent",
    urgent=True,
    ko=(None, "특보({event_ko}) 중 {name}님과 계속 연락이 닿지 않아 담당 사회복지사가 긴급 확인 중입니다."),
    en=(None, "We still cannot reach {name} ({event_en}); their social worker is checking urgently."),
)
GUARDIAN_SAFE = _t(
    "safety.guardian_safe",
    urgent=False,
    ko=(None, "{name}님이 {at}에 안전하다고 알려 왔습니다."),
    en=(None, "{name} told us at {at} that they are safe."),
)
# The "are you safe?" call, at an ask the person's plan makes by call; its menu's answer comes by the call's webhook.
CALL = _t(
    "safety.call",
    urgent=True,
    ko=(
        None,
        "{name}님, 서울시 안전 확인 전화입니다. {event_ko}. 안전하시면 1번, 도움이 필요하시면 2번을 눌러 주세요.",
    ),
    en=(
        None,
        "{name}, this is the Seoul safety check call: {event_en}. If you are safe, press 1. If you need help, press 2.",
    ),
)
# What the call says back once "safe" is recorded (a call for help is said back as any call's is).
CALL_SAFE = _t(
    "safety.call_safe",
    urgent=False,
    ko=(None, "안전하다고 기록했습니다. 고맙습니다. 안내에 따라 안전에 유의하세요."),
    en=(None, "We have recorded that you are safe. Thank you, and stay safe."),
)
