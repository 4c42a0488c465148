"""What passive safety says, to the person and to their guardians, in Korean and English."""

from __future__ import annotations

from notifications.templates import Template, Text, register


def _t(name: str, *, urgent: bool, ko: tuple[str | None, str], en: tuple[str | None, str]) -> str:
    register(Template(name=name, urgent=urgent, ko=Text(title=ko[0], body=ko[1]), en=Text(title=en[0], body=en[1])))
    return name


# A sensor emergency's kind as the messages say it.
EVENT_NAMES = {
    "fire": ("화재", "a fire"),
    "smoke": ("연기", "smoke"),
    "gas": ("가스 누출", "a gas leak"),
    "fall": ("낙상", "a fall"),
}

EMERGENCY_PERSON = _t(
    "sensor.emergency_person",
    urgent=True,
    ko=(
        "긴급",
        "{name}님 댁에서 {event_ko}이(가) 감지되었습니다. 보호자와 담당자에게 알렸습니다. 위급하면 119에 전화하세요.",
    ),
    en=(
        "Emergency",
        "{name}, a home sensor detected {event_en}. Your guardian and social worker are told. Call 119 if in danger.",
    ),
)
EMERGENCY_GUARDIAN = _t(
    "sensor.emergency_guardian",
    urgent=True,
    ko=(
        None,
        "[긴급] {name}님 댁 센서가 {at}에 {event_ko}을(를) 감지했습니다. 담당자에게 알렸습니다. 바로 연락해 주세요.",
    ),
    en=(
        None,
        "[Urgent] A sensor in {name}'s home detected {event_en} at {at}. Their social worker is told. "
        "Please call them now.",
    ),
)
INACTIVE_ASK = _t(
    "inactivity.ask",
    urgent=True,
    ko=(
        "안부 확인",
        "{name}님, 한동안 댁에서 움직임이 없어 여쭙니다. 괜찮으시면 '1' 또는 '괜찮아요'라고 답장해 주세요.",
    ),
    en=("Check-in", "{name}, we have not seen any activity at home for a while. If you are well, reply '1' or 'OK'."),
)
INACTIVE_ASK_AGAIN = _t(
    "inactivity.ask_again",
    urgent=True,
    ko=("안부 확인 (다시)", "{name}님, 아직 답이 없어 다시 여쭙니다. 괜찮으시면 '1', 도움이 필요하면 '도와주세요'."),
    en=("Check-in (again)", "{name}, we have not heard from you. Reply '1' if you are well, 'HELP ME' if not."),
)
INACTIVE_GUARDIAN = _t(
    "inactivity.guardian",
    urgent=True,
    ko=(None, "{name}님 댁에서 {since} 이후 활동이 감지되지 않고 답도 없습니다. 연락해 봐 주세요."),
    en=(None, "No activity has been seen in {name}'s home since {since}, and no answer. Please try to reach them."),
)
INACTIVE_URGENT = _t(
    "inactivity.guardian_urgent",
    urgent=True,
    ko=(None, "[긴급] {name}님과 {since} 이후 연락이 닿지 않아 담당 사회복지사가 긴급 확인 중입니다."),
    en=(None, "[Urgent] {name} has not been heard from since {since}; their social worker is checking urgently."),
)
