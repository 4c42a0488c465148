"""A tripped rule as a CAP alert, its renewal as an Update, and its stand-down as the Cancel of it: all go through
``api.alerts``' ingest, so a sensor's alert is stored, fanned out (by the dong's shape, or a circle) and exported
as CAP like any other.

A sensor's alert expires ``EXPIRES`` after it is sent. While the rule stays tripped and its measure stays at or
above the stand-down level, the first reading within ``RENEW_BEFORE`` of the expiry renews it with an Update
that expires ``EXPIRES`` after that reading; a gauge that dies while tripped sends nothing, so its alert lapses
instead of standing in force for ever."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

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
from api.platform import boundaries

SENDER = "sensors.safecity.seoul"
# Long enough that a live gauge renews it with time to spare (readings come every minute or few), short enough
# that a dead gauge's warning does not outlast the storm by much.
EXPIRES = timedelta(hours=3)
RENEW_BEFORE = timedelta(hours=1)

_WATER_KO = {"road_water": "도로 침수", "underpass_water": "지하차도 침수", "river_level": "하천 수위 상승"}
_WATER_EN = {"road_water": "road flooding", "underpass_water": "underpass flooding", "river_level": "river rising"}
_UNIT = {"rain_gauge": "mm", "road_water": "cm", "underpass_water": "cm", "river_level": "m"}


def renewal_due(expires_at: datetime, *, at: datetime, now: datetime, max_age: timedelta) -> bool:
    """Whether a reading at ``at`` (the rule still tripped, its measure at or above the stand-down level) renews
    an alert expiring at ``expires_at``: the expiry is within RENEW_BEFORE, and the reading is live (no older than
    ``max_age``, and its renewal would not have expired already): a backlog's old readings renew nothing."""
    live = now - at <= max_age and at + EXPIRES > now
    return live and expires_at - at <= RENEW_BEFORE


def identifier(sensor_id: str, rule: str, tripped_at: datetime) -> str:
    """The alert a trip raises: one per (sensor, rule, moment it tripped)."""
    return f"sensor-{sensor_id}-{rule}-{tripped_at.strftime('%Y%m%dT%H%M%SZ')}"


def _area(rule: Mapping[str, Any]) -> CapArea:
    dong = boundaries.dongs()[rule["dong"]]
    if rule["radius_m"] is not None:
        desc = f"{dong.name_ko} {rule['sensor_name']} 반경 {rule['radius_m']} m"
        return CapArea(area_desc=desc, circles=[(rule["lat"], rule["lon"], rule["radius_m"] / 1000)])
    geoms = getattr(dong.shape, "geoms", [dong.shape])
    rings = [[(round(lat, 6), round(lon, 6)) for lon, lat in g.exterior.coords] for g in geoms]
    return CapArea(area_desc=f"서울 {dong.name_ko}", polygons=rings)


def _words(
    rule: Mapping[str, Any], measure: float, *, cancel: bool, expires: datetime | None = None
) -> tuple[CapInfo, CapInfo]:
    kind, unit = rule["kind"], _UNIT[rule["kind"]]
    dong = boundaries.dongs()[rule["dong"]]
    if kind == "rain_gauge":
        minutes = rule["window_s"] // 60
        event_ko, event_en = "호우 (센서 관측)", "Heavy rain (sensor)"
        seen_ko = f"{minutes}분 강우량 {measure:.0f} {unit}"
        seen_en = f"{measure:.0f} {unit} of rain in {minutes} minutes"
    else:
        event_ko, event_en = "침수 (센서 관측)", "Flooding (sensor)"
        seen_ko = (
            f"{_WATER_KO[kind]} {measure:.0f} {unit}" if unit == "cm" else f"{_WATER_KO[kind]} {measure:.2f} {unit}"
        )
        seen_en = f"{_WATER_EN[kind]}: {measure:.2f} {unit}"
    if cancel:
        head_ko, head_en = f"{dong.name_ko} {event_ko} 해제", f"{event_en} over in {dong.name_en}"
        do_ko, do_en = "센서 수치가 기준 아래로 내려가 유지되고 있습니다.", "Readings have fallen back and stayed down."
    else:
        head_ko = f"{dong.name_ko} {seen_ko}: 침수 위험"
        head_en = f"{dong.name_en}: {seen_en}, flood risk"
        do_ko = "반지하·지하 공간에서 높은 곳으로 대피하고 지하차도에 들어가지 마세요."
        do_en = "Leave semi-basement and underground rooms for higher floors; do not enter underpasses."
    area = _area(rule)
    common: dict[str, Any] = {
        "categories": [Category.met],
        "urgency": Urgency.immediate,
        "severity": Severity.severe,
        "certainty": Certainty.observed,
        "response_types": [ResponseType.none if cancel else ResponseType.prepare],
        "sender_name": "서울시 침수 센서 (Seoul flood sensors)",
        "parameters": [("sensor", rule["sensor_id"]), ("rule", rule["name"]), ("measure", f"{measure:g}")],
        "areas": [area],
        "expires": expires,
    }
    ko = CapInfo(language="ko-KR", event=event_ko, headline=head_ko, instruction=do_ko, **common)
    en = CapInfo(language="en-US", event=event_en, headline=head_en, instruction=do_en, **common)
    return ko, en


def trip_alert(rule: Mapping[str, Any], *, at: datetime, measure: float) -> CapAlert:
    """The alert a rule raises when it trips at ``at`` with this measure, expiring ``EXPIRES`` later."""
    return CapAlert(
        identifier=identifier(rule["sensor_id"], rule["name"], at),
        sender=SENDER,
        sent=at,
        status=Status.actual,
        msg_type=MsgType.alert,
        scope=Scope.public,
        incidents=[_incident(rule)],
        infos=list(_words(rule, measure, cancel=False, expires=at + EXPIRES)),
    )


def renewal_alert(
    rule: Mapping[str, Any], *, tripped_at: datetime, current: CapReference, at: datetime, measure: float
) -> CapAlert:
    """The Update that keeps the rule's alert in force ``EXPIRES`` past ``at``, superseding ``current``."""
    raised = identifier(rule["sensor_id"], rule["name"], tripped_at)
    return CapAlert(
        identifier=f"{raised}-renew-{at.strftime('%Y%m%dT%H%M%SZ')}",
        sender=SENDER,
        sent=at,
        status=Status.actual,
        msg_type=MsgType.update,
        scope=Scope.public,
        references=[current],
        incidents=[_incident(rule)],
        infos=list(_words(rule, measure, cancel=False, expires=at + EXPIRES)),
    )


def stand_down_alert(
    rule: Mapping[str, Any], *, tripped_at: datetime, current: CapReference, at: datetime, measure: float
) -> CapAlert:
    """The Cancel of the rule's alert now in force (``current``: the trip's, or its last renewal): an all-clear
    to the same people."""
    raised = identifier(rule["sensor_id"], rule["name"], tripped_at)
    return CapAlert(
        identifier=f"{raised}-clear",
        sender=SENDER,
        sent=at,
        status=Status.actual,
        msg_type=MsgType.cancel,
        scope=Scope.public,
        references=[current],
        incidents=[_incident(rule)],
        infos=list(_words(rule, measure, cancel=True)),
    )


def reference(cap: CapAlert) -> CapReference:
    return CapReference(sender=cap.sender, identifier=cap.identifier, sent=cap.sent)


def stand_down_note(rule: Mapping[str, Any], measure: float) -> str:
    """Why the rule's incident was resolved, Korean first, for the desk and anyone whose report is in it."""
    unit, minutes = _UNIT[rule["kind"]], rule["clear_after_s"] // 60
    return (
        f"센서 {rule['sensor_id']} ({rule['name']}) 수치가 {rule['clear_at']:g} {unit} 아래로 {minutes}분 유지되어"
        f" 자동 해제 (현재 {measure:g} {unit}). Sensor readings fell below {rule['clear_at']:g} {unit} and stayed"
        f" down {minutes} min: stood down automatically (now {measure:g} {unit})."
    )


def _incident(rule: Mapping[str, Any]) -> str:
    return f"sensor:{rule['sensor_id']}:{rule['name']}"
