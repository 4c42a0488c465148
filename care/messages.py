"""What care says, to the person and to their guardians, in Korean and English."""

from __future__ import annotations

from notifications.templates import Template, Text, register


def _t(name: str, *, urgent: bool, ko: str, en: str, title_ko: str | None = None, title_en: str | None = None) -> str:
    register(Template(name=name, urgent=urgent, ko=Text(title=title_ko, body=ko), en=Text(title=title_en, body=en)))
    return name


REMINDER = _t(
    "care.reminder",
    urgent=False,
    title_ko="안부 확인",
    title_en="Check-in",
    ko="{name}님, 안부 확인 시간입니다. 괜찮으시면 '1' 또는 '괜찮아요'라고 답장해 주세요.",
    en="{name}, it is time to check in. If you are well, reply '1' or 'OK'.",
)
REMINDER_AGAIN = _t(
    "care.reminder_again",
    urgent=True,
    title_ko="안부 확인 (다시)",
    title_en="Check-in (again)",
    ko=(
        "{name}님, 아직 답이 없어 다시 여쭙니다. 괜찮으시면 '1'이라고 답장해 주세요. "
        "도움이 필요하면 '도와주세요'라고 보내 주세요."
    ),
    en="{name}, we have not heard from you. Reply '1' if you are well, or 'HELP ME' if you need help.",
)
GUARDIAN_ALERT = _t(
    "care.guardian_alert",
    urgent=True,
    ko="{name}님이 {slot} 안부 확인에 답하지 않았습니다. 연락해 봐 주세요. 곧 담당 사회복지사에게도 알립니다.",
    en="{name} has not answered the {slot} check-in. Please try to reach them; their social worker will be told soon.",
)
GUARDIAN_URGENT = _t(
    "care.guardian_urgent",
    urgent=True,
    ko="[긴급] {name}님과 {slot} 이후 연락이 닿지 않습니다. 담당 사회복지사가 확인 중입니다. 연락되면 알려 주세요.",
    en="[Urgent] {name} has not been heard from since the {slot} check-in. Their social worker is on it.",
)
ALL_CLEAR = _t(
    "care.all_clear",
    urgent=True,
    ko="{name}님이 {at}에 안부를 전해 왔습니다. 걱정하지 않으셔도 됩니다.",
    en="{name} checked in at {at}. All is well.",
)
HELP_RECEIVED = _t(
    "care.help_received",
    urgent=True,
    ko="도움 요청을 받았습니다. 보호자와 담당 사회복지사에게 알렸습니다. 위급하면 119에 전화하세요.",
    en="We got your call for help and told your guardian and social worker. In an emergency, call 119.",
)
GUARDIAN_HELP = _t(
    "care.guardian_help",
    urgent=True,
    ko="[긴급] {name}님이 {at}에 도움을 요청했습니다. 바로 연락해 주세요. 담당 사회복지사에게도 알렸습니다.",
    en="[Urgent] {name} asked for help at {at}. Please contact them now; their social worker has been told.",
)
CHECKIN_CONFIRMED = _t(
    "care.checkin_confirmed",
    urgent=False,
    ko="{name}님, 안부 확인되었습니다. 고맙습니다.",
    en="{name}, your check-in is recorded. Thank you.",
)
ON_DUTY = _t(
    "care.on_duty",
    urgent=True,
    ko="[긴급 사례] {district} #{case}: {reason}. 콘솔에서 확인하세요. 이 문자에 답장하면 확인으로 기록됩니다.",
    en="[Urgent case] {district} #{case}: {reason}. See the console. Reply to this text to acknowledge it.",
)
ON_DUTY_ACKNOWLEDGED = _t(
    "care.on_duty_acknowledged",
    urgent=True,
    ko="사례 #{case}를 확인으로 기록했습니다.",
    en="Case #{case} is recorded as acknowledged.",
)
VOICE_CHECKIN = _t(
    "care.voice_checkin",
    urgent=False,
    ko="안녕하세요, 서울시 안부 전화입니다. 괜찮으시면 1번, 도움이 필요하시면 2번을 눌러 주세요.",
    en="Hello, this is the Seoul check-in call. If you are well, press 1. If you need help, press 2.",
)
# What a check-in call says back once the answer is recorded.
VOICE_CHECKED_IN = _t(
    "care.voice_checked_in",
    urgent=False,
    ko="안부 확인으로 기록했습니다. 고맙습니다. 안녕히 계세요.",
    en="Your check-in is recorded. Thank you, goodbye.",
)
VOICE_HELP_RECORDED = _t(
    "care.voice_help_recorded",
    urgent=True,
    ko="도움 요청으로 기록했습니다. 보호자와 담당 사회복지사에게 바로 알립니다. 위급하면 119에 전화하세요.",
    en="Your call for help is recorded. We are telling your guardian and social worker now. In an emergency, call 119.",
)
# What an urgent case is about, as the on-duty SMS says it: the reason, never the person's name or address.
REASONS = {
    "help_request": ("도움 요청", "a call for help"),
    "missed_checkin": ("안부 확인 무응답", "no answer to check-ins"),
    "safety_check": ("재난 안전 확인 무응답", "no answer to a disaster safety check"),
    "sensor_emergency": ("센서 비상(화재·가스·낙상), 119 신고 필요", "a home sensor emergency; 119 to be called"),
    "inactivity": ("장시간 활동 없음", "no activity at home for too long"),
}
