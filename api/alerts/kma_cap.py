"""KMA warning lines as CAP 1.2 alerts: one alert per line, with Korean and English info blocks.

An issue is an Alert; an extension, correction or change of a warning in force is an Update of it; a lift is
a Cancel of it (an all-clear); a line KMA withdrew (cancel=1) is a Cancel of that line's own alert. Which
alert is "in force" is the caller's lookup, by the incident key every alert of one warning shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from api.alerts.areas import KMA_AREA_SCHEME
from api.alerts.cap import (
    CapAlert,
    CapArea,
    CapInfo,
    CapReference,
    Category,
    Certainty,
    MsgType,
    ResponseType,
    Scope,
    Severity,
    Status,
    Urgency,
)
from api.alerts.kma import KIND_NAMES_KO, KST, Command, KmaWarning, WarningKind, WarningLevel
from api.alerts.kma_areas import (
    KMA_AREA_NAMES,
    NORTH_EAST,
    NORTH_WEST,
    SEOUL_LEGACY,
    SOUTH_EAST,
    SOUTH_WEST,
    districts_for_kma_area,
)
from api.platform.districts import DISTRICTS

KMA_SENDER = "kma.go.kr"
ADMIN_SCHEME = "KR_ADMIN"
# KMA gives no expiry: a warning stands until it is lifted. A day from its start outlasts the review KMA makes
# of every warning several times a day (an extension arrives as an Update and moves the expiry on), and it is
# short enough that a lift we missed (an outage longer than the poll window) leaves no warning standing for
# days. It is also the default poll window, so a line we re-read has not expired yet.
LIFETIME = timedelta(hours=24)

_UPDATES = frozenset({Command.extend, Command.correct, Command.change_issue})
_LIFTS = frozenset({Command.lift, Command.change_lift})

KIND_NAMES_EN: dict[WarningKind, str] = {
    WarningKind.strong_wind: "Strong wind",
    WarningKind.heavy_rain: "Heavy rain",
    WarningKind.cold_wave: "Cold wave",
    WarningKind.dry: "Dry weather",
    WarningKind.storm_surge: "Storm surge",
    WarningKind.high_seas: "High seas",
    WarningKind.typhoon: "Typhoon",
    WarningKind.heavy_snow: "Heavy snow",
    WarningKind.yellow_dust: "Yellow dust",
    WarningKind.heat_wave: "Heat wave",
}
LEVEL_NAMES_KO = {WarningLevel.advisory: "주의보", WarningLevel.warning: "경보"}
AREA_NAMES_EN = {
    SOUTH_EAST: "south-east Seoul",
    NORTH_EAST: "north-east Seoul",
    SOUTH_WEST: "south-west Seoul",
    NORTH_WEST: "north-west Seoul",
    SEOUL_LEGACY: "Seoul",
}
_COMMAND_KO = {
    Command.issue: "발표",
    Command.lift: "해제",
    Command.extend: "연장",
    Command.correct: "정정",
    Command.change_issue: "변경발표",
    Command.change_lift: "변경해제",
}
_COMMAND_EN = {
    Command.issue: "issued",
    Command.lift: "lifted",
    Command.extend: "extended",
    Command.correct: "corrected",
    Command.change_issue: "issued, changing an earlier warning",
    Command.change_lift: "lifted, changed to another warning",
}
# Hazards to the people at home call for shelter at warning level; dry air (fire risk) and the sea's hazards
# ask Seoul's residents only to watch, at advisory level.
_WATCH_ONLY = frozenset({WarningKind.dry, WarningKind.high_seas, WarningKind.storm_surge})
_INSTRUCTIONS: dict[WarningKind, tuple[str, str]] = {
    WarningKind.heavy_rain: (
        "하천변·지하차도·반지하 주택 등 침수 위험 지역을 피하고, 가까운 대피소를 확인하세요.",
        "Keep away from riversides, underpasses and basement homes that may flood; know your nearest shelter.",
    ),
    WarningKind.typhoon: (
        "외출을 삼가고 창문과 간판 등 날릴 수 있는 물건을 고정하세요. 침수 우려 지역에서는 대피하세요.",
        "Stay indoors, secure windows and anything the wind may carry; leave flood-prone places.",
    ),
    WarningKind.strong_wind: (
        "간판·공사장 등 낙하물 위험이 있는 곳을 피하고 외출을 자제하세요.",
        "Avoid signboards, building sites and anything that may fall; go out only if you must.",
    ),
    WarningKind.heavy_snow: (
        "외출을 자제하고 빙판길 낙상에 주의하세요. 비닐하우스 등 약한 지붕의 눈을 치우세요.",
        "Go out only if you must, and mind icy paths; clear snow from weak roofs.",
    ),
    WarningKind.heat_wave: (
        "낮 시간 야외 활동을 피하고 물을 자주 마시세요. 가까운 무더위쉼터를 이용하세요.",
        "Avoid the midday sun and drink water often; use your nearest heat-wave shelter.",
    ),
    WarningKind.cold_wave: (
        "외출 시 보온에 유의하고 수도관 동파에 대비하세요. 가까운 한파쉼터를 이용하세요.",
        "Dress warmly, protect water pipes from freezing; use your nearest cold-wave shelter.",
    ),
    WarningKind.yellow_dust: (
        "외출을 자제하고 외출 시 보건용 마스크를 착용하세요.",
        "Stay indoors where you can, and wear a KF94 mask outside.",
    ),
    WarningKind.dry: (
        "산불과 화재에 주의하고 불씨 관리에 유의하세요.",
        "Take care with fire: dry air makes fires spread fast.",
    ),
}


def incident_key(warning: KmaWarning) -> str:
    """What every alert of one warning shares: its area, kind and level (``kma:L1100100:heavy_rain:warning``)."""
    return f"kma:{warning.area_code}:{warning.kind}:{warning.level}"


def identifier(warning: KmaWarning) -> str:
    """The CAP identifier of a line's alert; a withdrawal gets its own, as it is a message of its own."""
    return f"{warning.id}:withdrawn" if warning.cancelled else warning.id


def own_reference(warning: KmaWarning) -> CapReference:
    """The reference to the alert a line itself became (what a withdrawal of the line cancels)."""
    return CapReference(sender=KMA_SENDER, identifier=warning.id, sent=_sent(warning))


def needs_warning_in_force(warning: KmaWarning) -> bool:
    """Whether the line changes a warning already in force, so the caller must find that warning's alert."""
    return not warning.cancelled and warning.command is not Command.issue


def msg_type_for(warning: KmaWarning, *, in_force: bool) -> MsgType:
    """The CAP message type a line becomes, given whether its warning has an alert in force."""
    if warning.cancelled or warning.command in _LIFTS:
        return MsgType.cancel
    if warning.command is Command.issue:
        return MsgType.alert
    # A change-issue raises or lowers a warning's level, so the new level has usually nothing in force yet.
    if warning.command is Command.change_issue and not in_force:
        return MsgType.alert
    return MsgType.update


def kma_to_cap(warning: KmaWarning, *, references: Sequence[CapReference] = ()) -> CapAlert:
    """The CAP alert for one KMA line; ``references`` are the alerts it updates or cancels.

    A withdrawn line references its own alert whatever is passed. An extension, correction or lift without a
    reference is refused (``ValueError``): there is nothing for it to change.
    """
    refs = [own_reference(warning)] if warning.cancelled else list(references)
    msg_type = msg_type_for(warning, in_force=bool(refs))
    if msg_type is not MsgType.alert and not refs:
        raise ValueError(f"{warning.command} {warning.id} needs the alert it changes")
    if msg_type is MsgType.alert:
        refs = []
    return CapAlert(
        identifier=identifier(warning),
        sender=KMA_SENDER,
        sent=_sent(warning),
        status=Status.actual,
        msg_type=msg_type,
        source="기상청 기상특보 (WthrWrnInfoService getPwnCd)",
        scope=Scope.public,
        references=refs,
        incidents=[incident_key(warning)],
        infos=[_info(warning, msg_type, korean=True), _info(warning, msg_type, korean=False)],
    )


def area_for(warning: KmaWarning) -> CapArea:
    """The warning's area: its KMA code, and the district codes it covers, which ``districts_for_area`` reads."""
    districts = sorted(districts_for_kma_area(warning.area_code))
    return CapArea(
        area_desc=warning.area_name or KMA_AREA_NAMES.get(warning.area_code, warning.area_code),
        geocodes=[(KMA_AREA_SCHEME, warning.area_code), *((ADMIN_SCHEME, code) for code in districts)],
    )


def _sent(warning: KmaWarning) -> datetime:
    # KST, as KMA announced it; the same instant as announced_at, and easier to read in the rendered CAP.
    return warning.announced_at.astimezone(KST)


def _grading(warning: KmaWarning, msg_type: MsgType) -> tuple[Urgency, Severity, Certainty, ResponseType]:
    if msg_type is MsgType.cancel:
        return Urgency.past, Severity.minor, Certainty.observed, ResponseType.all_clear
    # Forecast-based, so Likely rather than Observed. A warning (경보) means the criteria are met or will be
    # within hours: Severe and Immediate, which covers typhoon and heavy-rain warnings. An advisory (주의보) is
    # the step before: Moderate and Expected. KMA has no level above 경보, so Extreme is never used.
    if warning.level is WarningLevel.warning:
        response = ResponseType.prepare if warning.kind in _WATCH_ONLY else ResponseType.shelter
        return Urgency.immediate, Severity.severe, Certainty.likely, response
    response = ResponseType.monitor if warning.kind in _WATCH_ONLY else ResponseType.prepare
    return Urgency.expected, Severity.moderate, Certainty.likely, response


def _times(warning: KmaWarning, msg_type: MsgType) -> tuple[datetime, datetime]:
    onset = (warning.end_at if msg_type is MsgType.cancel else warning.start_at) or warning.announced_at
    return onset.astimezone(KST), max(onset, warning.announced_at).astimezone(KST) + LIFETIME


def _info(warning: KmaWarning, msg_type: MsgType, *, korean: bool) -> CapInfo:
    urgency, severity, certainty, response = _grading(warning, msg_type)
    onset, expires = _times(warning, msg_type)
    districts = [DISTRICTS[code] for code in sorted(districts_for_kma_area(warning.area_code))]
    when = warning.announced_at.astimezone(KST).strftime("%Y-%m-%d %H:%M")
    name_ko = f"{KIND_NAMES_KO[warning.kind]}{LEVEL_NAMES_KO[warning.level]}"
    name_en = f"{KIND_NAMES_EN[warning.kind]} {warning.level}"
    area_ko = warning.area_name or KMA_AREA_NAMES.get(warning.area_code, warning.area_code)
    area_en = AREA_NAMES_EN.get(warning.area_code, area_ko)
    instruction = None if msg_type is MsgType.cancel else _INSTRUCTIONS.get(warning.kind)
    if korean:
        command = _COMMAND_KO[warning.command]
        headline = f"{area_ko} {name_ko} {command}" + (" 취소" if warning.cancelled else "")
        covered = f"({', '.join(d.name_ko for d in districts)})" if districts else ""
        description = (
            f"기상청이 {when}에 발표한 {area_ko}{covered} {name_ko} {command} 내용을 취소했습니다."
            if warning.cancelled
            else f"기상청이 {when}에 {area_ko}{covered}에 {name_ko}를 {command}했습니다."
        )
    else:
        verb = "withdrawn" if warning.cancelled else _COMMAND_EN[warning.command]
        headline = f"{name_en.capitalize()} for {area_en} " + ("withdrawn" if warning.cancelled else _short_en(warning))
        covered = f" ({', '.join(d.name_en for d in districts)})" if districts else ""
        description = (
            f"KMA withdrew its announcement of {when} KST: {name_en.lower()} for {area_en}{covered} "
            f"{_COMMAND_EN[warning.command]}."
            if warning.cancelled
            else f"KMA {verb} a {name_en.lower()} for {area_en}{covered} at {when} KST."
        )
    return CapInfo(
        language="ko-KR" if korean else "en-US",
        categories=[Category.met],
        event=name_ko if korean else name_en.capitalize(),
        response_types=[response],
        urgency=urgency,
        severity=severity,
        certainty=certainty,
        event_codes=[("KMA_WARNING", f"{warning.kind}:{warning.level}")],
        effective=warning.announced_at.astimezone(KST),
        onset=onset,
        expires=expires,
        sender_name="기상청" if korean else "Korea Meteorological Administration",
        headline=headline.strip(),
        description=description,
        instruction=None if instruction is None else instruction[0 if korean else 1],
        web="https://www.weather.go.kr",
        parameters=[("KMA_COMMAND", warning.command.value), ("KMA_WITHDRAWN", str(warning.cancelled).lower())],
        areas=[area_for(warning)],
    )


def _short_en(warning: KmaWarning) -> str:
    if warning.command is Command.issue:
        return ""
    return {Command.change_issue: "(changed)", Command.change_lift: "lifted (changed)"}.get(
        warning.command, _COMMAND_EN[warning.command]
    )
