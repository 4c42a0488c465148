"""What a flood check says: to the household, to its partners, back to whoever answered, and to the duty worker."""

from __future__ import annotations

from notifications.templates import Template, Text, register


def _t(name: str, *, urgent: bool, ko: tuple[str | None, str], en: tuple[str | None, str]) -> str:
    register(Template(name=name, urgent=urgent, ko=Text(title=ko[0], body=ko[1]), en=Text(title=en[0], body=en[1])))
    return name


# How an answer is said back, and to the duty worker.
ANSWER_WORDS = {
    "arrived": ("도착", "arrived"),
    "evacuated": ("대피 완료", "evacuated"),
    "need_help": ("도움 필요", "need help"),
    "safe": ("안전", "safe"),
}
ROLE_WORDS = {
    "neighbour": ("이웃", "neighbour"),
    "tongjang": ("통장", "tongjang"),
    "official": ("담당 공무원", "official"),
    "household": ("본인", "the household"),
    "staff": ("직원", "staff"),
}

HOUSEHOLD_ASK = _t(
    "flood.household_ask",
    urgent=True,
    ko=(
        "침수 위험 안전 확인",
        "{name}님, {event_ko}. 댁에 침수 위험이 있습니다. 안전하시면 '안전', 도움이 필요하면 '도움필요'라고 "
        "답장해 주세요. 동행파트너가 확인하러 갑니다.",
    ),
    en=(
        "Flood risk: are you safe?",
        "{name}, {event_en}. Your home may flood. Reply SAFE if you are safe, HELP if you need help. "
        "Your flood partner is on the way.",
    ),
)
# The household's question by call, for a home phone no text reaches (a landline): the check-in call's menu.
HOUSEHOLD_CALL = _t(
    "flood.household_call",
    urgent=True,
    ko=(
        None,
        "{name}님, 서울시 침수 안전 확인 전화입니다. {event_ko}. 댁에 침수 위험이 있습니다. "
        "안전하시면 1번, 도움이 필요하시면 2번을 눌러 주세요.",
    ),
    en=(
        None,
        "{name}, this is Seoul's flood safety call. {event_en}. Your home may flood. "
        "If you are safe, press 1. If you need help, press 2.",
    ),
)
# What the call says back after the answer.
CALL_SAFE = _t(
    "flood.call_safe",
    urgent=False,
    ko=(None, "안전하다고 기록했습니다. 고맙습니다. 동행파트너가 확인하러 갑니다."),
    en=(None, "We have recorded that you are safe. Thank you. Your flood partner is on the way."),
)
CALL_HELP = _t(
    "flood.call_help",
    urgent=True,
    ko=(None, "도움 요청으로 기록했습니다. 구청 당직자에게 바로 알립니다. 위급하면 119에 전화하세요."),
    en=(
        None,
        "Your call for help is recorded. We are telling the district's duty officer now. In an emergency, call 119.",
    ),
)
PARTNER_ASK = _t(
    "flood.partner_ask",
    urgent=True,
    ko=(
        "동행파트너 출동 요청",
        "[동행파트너] {event_ko}. {household}님 댁({address})에 가서 확인해 주세요. "
        "답장: 도착 / 대피완료 / 도움필요 (가구번호 {code})",
    ),
    en=(
        "Flood partner: please go",
        "[Flood partner] {event_en}. Please go to {household}'s home ({address}) and check on them. "
        "Reply ARRIVED / EVACUATED / HELP (home no. {code})",
    ),
)
RECORDED = _t(
    "flood.recorded",
    urgent=False,
    ko=(None, "'{answer_ko}'(으)로 기록했습니다 ({household}님 댁, 가구번호 {code}). 고맙습니다."),
    en=(None, "Recorded: {answer_en} ({household}'s home, no. {code}). Thank you."),
)
WHICH_HOME = _t(
    "flood.which_home",
    urgent=False,
    ko=(None, "어느 가구에 대한 답인지 '도착 {example}'처럼 가구번호를 붙여 다시 보내 주세요. 가구번호: {codes}"),
    en=(None, "Which home is this about? Send it again with the home number, e.g. 'ARRIVED {example}'. Homes: {codes}"),
)
DUTY_SILENT = _t(
    "flood.duty_silent",
    urgent=True,
    ko=(
        "침수 안부 미응답",
        "[침수 미응답] {dong_ko} {household}님 댁({address}, 가구번호 {code}): {minutes}분 동안 가구와 "
        "동행파트너 모두 답이 없습니다. 확인 바랍니다.",
    ),
    en=(
        "Flood check: no answer",
        "[Flood, no answer] {dong_en}: {household}'s home ({address}, no. {code}). Neither the household nor its "
        "partners have answered for {minutes} minutes. Please check.",
    ),
)
DUTY_HELP = _t(
    "flood.duty_help",
    urgent=True,
    ko=(
        "긴급: 도움 필요",
        "[긴급 도움 필요] {dong_ko} {household}님 댁({address}, 가구번호 {code}): {who_ko}({phone})이(가) "
        "{at}에 도움을 요청했습니다.",
    ),
    en=(
        "Urgent: help needed",
        "[Urgent, help needed] {dong_en}: {household}'s home ({address}, no. {code}). The {who_en} ({phone}) "
        "asked for help at {at}.",
    ),
)
