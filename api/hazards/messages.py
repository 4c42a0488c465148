"""What hazards say to the people who reported them, and the categories' names, in Korean and English."""

from __future__ import annotations

from typing import NamedTuple

from notifications.templates import Template, Text, register


class CategoryText(NamedTuple):
    ko: str
    en: str
    group: str
    about_ko: str
    about_en: str


# A category's name in messages to reporters, and Open311's service_name, group and description.
CATEGORIES: dict[str, CategoryText] = {
    "sinkhole": CategoryText(
        "싱크홀(땅꺼짐)", "Sinkhole", "road", "도로나 보도가 꺼진 곳", "A hole where a road or pavement has sunk"
    ),
    "road_damage": CategoryText(
        "도로 파손", "Road damage", "road", "패인 곳, 깨진 포장, 들뜬 맨홀", "Potholes, broken paving, raised manholes"
    ),
    "fallen_tree": CategoryText(
        "쓰러진 나무", "Fallen tree", "nature", "길을 막거나 쓰러질 듯한 나무", "A tree down or about to fall"
    ),
    "flooding": CategoryText(
        "침수", "Flooding", "nature", "물에 잠긴 도로, 지하도, 건물", "Water over roads, underpasses or buildings"
    ),
    "landslide_risk": CategoryText(
        "산사태 위험",
        "Landslide risk",
        "nature",
        "흘러내리는 흙, 갈라진 비탈, 낙석",
        "Sliding earth, cracked slopes, falling rocks",
    ),
    "fire_smoke": CategoryText(
        "화재·연기",
        "Fire or smoke",
        "fire_gas",
        "불이나 연기. 사람이 위험하면 먼저 119에 전화하세요.",
        "Fire or smoke. If anyone is in danger, call 119 first.",
    ),
    "gas_smell": CategoryText(
        "가스 냄새",
        "Gas smell",
        "fire_gas",
        "가스 냄새. 위험하면 먼저 119에 전화하세요.",
        "A smell of gas. If it is strong, call 119 first.",
    ),
    "damaged_structure": CategoryText(
        "구조물 파손",
        "Damaged structure",
        "structure",
        "금 간 옹벽, 흔들리는 간판, 손상된 다리",
        "Cracked walls, loose signs, damaged bridges",
    ),
    "broken_streetlight": CategoryText(
        "가로등 고장", "Broken streetlight", "road", "꺼지거나 깜박이는 가로등", "A streetlight out or flickering"
    ),
    "icy_road": CategoryText("도로 결빙", "Icy road", "road", "얼어붙은 도로나 보도", "Ice on a road or pavement"),
    "other": CategoryText("기타 위험", "Other hazard", "other", "그 밖의 안전 위험", "Any other danger to safety"),
}


def category_name(category: str, language: str) -> str:
    text = CATEGORIES[category]
    return text.en if language == "en" else text.ko


def _t(name: str, *, title_ko: str, title_en: str, ko: str, en: str) -> str:
    register(Template(name=name, urgent=False, ko=Text(title=title_ko, body=ko), en=Text(title=title_en, body=en)))
    return name


# {ref} is the reporter's own report number; {note} is the operator's reason, with its label, or nothing.
ACKNOWLEDGED = _t(
    "hazards.acknowledged",
    title_ko="위험 신고 확인",
    title_en="Hazard report seen",
    ko="{category} 신고({ref})를 담당자가 확인했습니다.{note}",
    en="The city has seen your report of {category} ({ref}).{note}",
)
IN_PROGRESS = _t(
    "hazards.in_progress",
    title_ko="위험 신고 처리 중",
    title_en="Hazard report in progress",
    ko="{category} 신고({ref})의 처리를 시작했습니다.{note}",
    en="Work has started on the {category} you reported ({ref}).{note}",
)
RESOLVED = _t(
    "hazards.resolved",
    title_ko="위험 신고 처리 완료",
    title_en="Hazard report resolved",
    ko="{category} 신고({ref})의 처리를 마쳤습니다.{note} 고쳐졌나요? 14일 안에 앱에서 답해 주세요.",
    en="The {category} you reported ({ref}) has been dealt with.{note} Is it fixed? Answer in the app within 14 days.",
)
REJECTED = _t(
    "hazards.rejected",
    title_ko="위험 신고 종결",
    title_en="Hazard report closed",
    ko="{category} 신고({ref})는 조치 없이 종결되었습니다.{note}",
    en="Your report of {category} ({ref}) was closed without action.{note}",
)
REOPENED = _t(
    "hazards.reopened",
    title_ko="위험 신고 다시 처리",
    title_en="Hazard report reopened",
    ko="{category} 신고({ref})가 고쳐지지 않았다는 답이 있어 다시 처리합니다.{note}",
    en="Someone who reported the {category} ({ref}) says it is not fixed, so it is being dealt with again.{note}",
)
FOLLOWED_RESOLVED = _t(
    "hazards.followed_resolved",
    title_ko="함께 지켜본 위험 처리 완료",
    title_en="A hazard you follow was resolved",
    ko="지켜보신 {category}({ref})의 처리를 마쳤습니다.{note}",
    en="The {category} you follow ({ref}) has been dealt with.{note}",
)
FOLLOWED_REJECTED = _t(
    "hazards.followed_rejected",
    title_ko="함께 지켜본 위험 종결",
    title_en="A hazard you follow was closed",
    ko="지켜보신 {category}({ref})는 조치 없이 종결되었습니다.{note}",
    en="The {category} you follow ({ref}) was closed without action.{note}",
)
WATCH_NOW = _t(
    "hazards.watch_now",
    title_ko="지켜보는 곳의 위험 신고",
    title_en="A hazard where you watch",
    ko="{area}에 {category} 신고가 들어왔습니다. 가까이 가지 마시고, 위험하면 119에 전화하세요.",
    en="{category} was reported in {area}. Keep away, and call 119 if anyone is in danger.",
)
WATCH_DIGEST = _t(
    "hazards.watch_digest",
    title_ko="지켜보는 곳의 새 위험 신고",
    title_en="New hazards where you watch",
    ko="{area}에 지난 하루 동안 새 위험 신고가 {count}건 있었습니다: {categories}",
    en="{count} new hazards were reported in {area} in the last day: {categories}",
)

# The message each status change sends to the incident's reporters, and to those who follow it.
BY_STATUS = {
    "acknowledged": ACKNOWLEDGED,
    "in_progress": IN_PROGRESS,
    "resolved": RESOLVED,
    "rejected": REJECTED,
}
FOLLOWED_BY_STATUS = {"resolved": FOLLOWED_RESOLVED, "rejected": FOLLOWED_REJECTED}
# Statuses after which nothing more happens: the only ones those who chose "only the end" hear of.
FINAL_STATUSES = frozenset({"resolved", "rejected"})


def note(reason: str | None, language: str) -> str:
    """The operator's reason as it follows a message's sentence, or nothing."""
    if not reason:
        return ""
    return f" Reason: {reason}" if language == "en" else f" 사유: {reason}"


def report_ref(report_id: int, language: str) -> str:
    """A reporter's own report number, as messages cite it."""
    return f"report #{report_id}" if language == "en" else f"신고번호 {report_id}"


def incident_ref(incident_id: int, language: str) -> str:
    return f"incident #{incident_id}" if language == "en" else f"사건번호 {incident_id}"
