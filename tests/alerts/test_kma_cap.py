"""KMA warning lines as CAP alerts: one per command, valid CAP 1.2, mapped to the right districts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.alerts.areas import districts_for_area
from api.alerts.cap import (
    CapArea,
    Certainty,
    MsgType,
    ResponseType,
    Scope,
    Severity,
    Status,
    Urgency,
    is_public_actual,
    parse_cap,
)
from api.alerts.cap_render import render_cap, validate_cap12
from api.alerts.kma import Command, KmaWarning, WarningKind, WarningLevel
from api.alerts.kma_areas import KMA_AREA_DISTRICTS, SOUTH_EAST
from api.alerts.kma_cap import (
    KMA_SENDER,
    LIFETIME,
    identifier,
    incident_key,
    kma_to_cap,
    msg_type_for,
    needs_warning_in_force,
    own_reference,
)

ANNOUNCED = datetime(2023, 7, 15, 1, 40, tzinfo=UTC)  # 10:40 KST


def line(
    command: Command = Command.issue,
    *,
    kind: WarningKind = WarningKind.heavy_rain,
    level: WarningLevel = WarningLevel.warning,
    area: str = SOUTH_EAST,
    area_name: str = "서울동남권",
    at: datetime = ANNOUNCED,
    cancelled: bool = False,
) -> KmaWarning:
    start = at + timedelta(minutes=20) if command in (Command.issue, Command.change_issue) else None
    end = at + timedelta(minutes=20) if command in (Command.lift, Command.change_lift) else None
    tm_fc = at.strftime("%Y%m%d%H%M")
    return KmaWarning(
        id=f"kma:109:{tm_fc}:38:{area}:{kind}:{level}:{command}",
        area_code=area,
        area_name=area_name,
        station_id="109",
        kind=kind,
        level=level,
        command=command,
        announced_at=at,
        seq=38,
        start_at=start,
        end_at=end,
        cancelled=cancelled,
    )


@pytest.fixture
def xsd(shared_data: Path) -> Path:
    return shared_data / "cap-schema" / "cap12.xsd"


def test_an_issue_is_a_public_actual_alert_in_korean_and_english() -> None:
    warning = line()
    alert = kma_to_cap(warning)
    assert (alert.sender, alert.identifier, alert.msg_type) == (KMA_SENDER, warning.id, MsgType.alert)
    assert alert.sent == ANNOUNCED
    assert is_public_actual(alert) and (alert.status, alert.scope) == (Status.actual, Scope.public)
    assert alert.references == []
    assert alert.incidents == ["kma:L1100100:heavy_rain:warning"]
    ko, en = alert.infos
    assert (ko.language, en.language) == ("ko-KR", "en-US")
    assert ko.headline == "서울동남권 호우경보 발표"
    assert en.headline == "Heavy rain warning for south-east Seoul"
    assert (ko.event, en.event) == ("호우경보", "Heavy rain warning")
    assert "강남구" in (ko.description or "") and "Gangnam-gu" in (en.description or "")
    assert [c.value for c in ko.categories] == ["Met"]


def test_a_warning_is_severe_and_immediate_an_advisory_moderate_and_expected() -> None:
    warning = kma_to_cap(line(kind=WarningKind.typhoon)).infos[0]
    assert (warning.severity, warning.urgency, warning.certainty) == (
        Severity.severe,
        Urgency.immediate,
        Certainty.likely,
    )
    assert warning.response_types == [ResponseType.shelter]
    advisory = kma_to_cap(line(level=WarningLevel.advisory)).infos[0]
    assert (advisory.severity, advisory.urgency) == (Severity.moderate, Urgency.expected)
    assert advisory.response_types == [ResponseType.prepare]
    dry = kma_to_cap(line(kind=WarningKind.dry, level=WarningLevel.advisory)).infos[1]
    assert dry.response_types == [ResponseType.monitor]


def test_an_issue_runs_from_its_start_for_a_day() -> None:
    info = kma_to_cap(line()).infos[0]
    assert info.effective == ANNOUNCED
    assert info.onset == ANNOUNCED + timedelta(minutes=20)
    assert info.expires == info.onset + LIFETIME == ANNOUNCED + timedelta(hours=24, minutes=20)


def test_the_area_carries_its_kma_code_and_district_codes_that_map_back() -> None:
    area = kma_to_cap(line()).infos[0].areas[0]
    assert area.area_desc == "서울동남권"
    assert area.geocodes[0] == ("KMA_AREA", "L1100100")
    assert {v for k, v in area.geocodes if k == "KR_ADMIN"} == KMA_AREA_DISTRICTS[SOUTH_EAST]
    assert districts_for_area(area) == {"11680", "11650", "11710", "11740"}


def test_a_kma_area_geocode_alone_maps_to_its_districts() -> None:
    assert districts_for_area(CapArea(area_desc="서울서북권", geocodes=[("KMA_AREA", "L1100400")])) == set(
        KMA_AREA_DISTRICTS["L1100400"]
    )
    assert districts_for_area(CapArea(area_desc="부산", geocodes=[("KMA_AREA", "L1020100")])) == set()


def test_an_area_outside_seoul_maps_to_no_district() -> None:
    area = kma_to_cap(line(area="L1020100", area_name="부산")).infos[0].areas[0]
    assert area.geocodes == [("KMA_AREA", "L1020100")]
    assert districts_for_area(area) == set()


@pytest.mark.parametrize("command", [Command.extend, Command.correct, Command.change_issue])
def test_changes_to_a_warning_in_force_are_updates_of_it(command: Command) -> None:
    issued = kma_to_cap(line())
    ref = own_reference(line())
    later = line(command, at=ANNOUNCED + timedelta(hours=3))
    assert needs_warning_in_force(later)
    update = kma_to_cap(later, references=[ref])
    assert update.msg_type is MsgType.update
    assert update.references == [ref]
    assert (ref.sender, ref.identifier, ref.sent) == (issued.sender, issued.identifier, issued.sent)
    assert update.incidents == issued.incidents
    assert update.infos[0].expires == ANNOUNCED + timedelta(
        hours=27, minutes=20 if command is Command.change_issue else 0
    )


def test_an_extension_with_nothing_in_force_is_refused_but_a_change_issue_becomes_an_alert() -> None:
    with pytest.raises(ValueError, match="needs the alert it changes"):
        kma_to_cap(line(Command.extend))
    changed = kma_to_cap(line(Command.change_issue))
    assert changed.msg_type is MsgType.alert
    assert msg_type_for(line(Command.change_issue), in_force=True) is MsgType.update


@pytest.mark.parametrize("command", [Command.lift, Command.change_lift])
def test_a_lift_cancels_the_warning_in_force_as_an_all_clear(command: Command) -> None:
    ref = own_reference(line())
    lift = line(command, at=ANNOUNCED + timedelta(hours=6))
    cancel = kma_to_cap(lift, references=[ref])
    assert cancel.msg_type is MsgType.cancel
    assert cancel.references == [ref]
    ko, en = cancel.infos
    assert ko.response_types == [ResponseType.all_clear]
    assert (ko.urgency, ko.severity, ko.certainty) == (Urgency.past, Severity.minor, Certainty.observed)
    assert ko.headline == f"서울동남권 호우경보 {'해제' if command is Command.lift else '변경해제'}"
    assert en.headline.startswith("Heavy rain warning for south-east Seoul lifted")
    assert ko.onset == lift.end_at
    assert ko.instruction is None
    with pytest.raises(ValueError):
        kma_to_cap(lift)


def test_a_withdrawn_line_cancels_its_own_alert() -> None:
    withdrawn = line(cancelled=True)
    assert not needs_warning_in_force(withdrawn)
    cancel = kma_to_cap(withdrawn)
    assert cancel.msg_type is MsgType.cancel
    assert cancel.identifier == identifier(withdrawn) == f"{withdrawn.id}:withdrawn"
    assert cancel.references == [own_reference(withdrawn)]
    assert cancel.references[0].identifier == kma_to_cap(line()).identifier
    assert cancel.infos[0].headline == "서울동남권 호우경보 발표 취소"
    assert cancel.infos[1].headline == "Heavy rain warning for south-east Seoul withdrawn"


def test_incident_keys_differ_by_area_kind_and_level_only() -> None:
    assert incident_key(line()) == incident_key(line(Command.lift, at=ANNOUNCED + timedelta(days=1)))
    keys = {
        incident_key(line()),
        incident_key(line(level=WarningLevel.advisory)),
        incident_key(line(kind=WarningKind.heat_wave)),
        incident_key(line(area="L1100200")),
    }
    assert len(keys) == 4


@pytest.mark.parametrize(
    "warning",
    [
        line(),
        line(Command.extend),
        line(Command.lift),
        line(cancelled=True),
        line(kind=WarningKind.yellow_dust, level=WarningLevel.advisory),
    ],
    ids=["issue", "extend", "lift", "withdrawn", "yellow-dust"],
)
def test_every_conversion_renders_valid_cap12_and_parses_back(warning: KmaWarning, xsd: Path) -> None:
    alert = kma_to_cap(warning, references=[own_reference(line())])
    xml = render_cap(alert)
    assert validate_cap12(xml, xsd) == []
    assert parse_cap(xml) == alert
