"""KMA weather warnings: parsing getPwnCd, Seoul's warning areas, and the client against a fake KMA."""

from __future__ import annotations

import re
import socket
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.alerts.kma import (
    KST,
    Command,
    KmaClient,
    KmaError,
    KmaUnavailable,
    WarningKind,
    WarningLevel,
    parse_pwn_cd,
)
from api.alerts.kma_areas import (
    KMA_AREA_DISTRICTS,
    SEOUL_KMA_AREAS,
    SEOUL_LEGACY,
    SOUTH_EAST,
    SOUTH_WEST,
    districts_for_kma_area,
    kma_area_for_district,
)
from api.platform.districts import DISTRICTS
from fakes.kma import FakeKma


def _item(**overrides: object) -> dict[str, object]:
    item: dict[str, object] = {
        "allEndTime": 0,
        "areaCode": "L1100100",
        "areaName": "서울동남권",
        "cancel": 0,
        "command": 1,
        "endTime": 0,
        "startTime": 202307151100,
        "stnId": "109",
        "tmFc": 202307151040,
        "tmSeq": 38,
        "warnStress": 0,
        "warnVar": 2,
    }
    item.update(overrides)
    return item


def _answer(items: object, *, total: int | None = None, page: int = 1, rows: int = 10) -> dict[str, object]:
    return {
        "response": {
            "header": {"resultCode": "00", "resultMsg": "NORMAL_SERVICE"},
            "body": {"dataType": "JSON", "items": items, "pageNo": page, "numOfRows": rows, "totalCount": total},
        }
    }


# -- parsing --------------------------------------------------------------------------------------------------------


def test_a_list_of_items_is_parsed_with_kst_times_in_utc() -> None:
    page = parse_pwn_cd(_answer({"item": [_item(), _item(areaCode="L1100300", warnVar=12, warnStress=1)]}, total=2))
    assert [w.area_code for w in page.items] == ["L1100100", "L1100300"]
    first = page.items[0]
    assert (first.kind, first.level, first.command) == (WarningKind.heavy_rain, WarningLevel.advisory, Command.issue)
    assert first.announced_at == datetime(2023, 7, 15, 1, 40, tzinfo=UTC)
    assert first.announced_at.utcoffset() == timedelta(0)
    assert first.start_at == datetime(2023, 7, 15, 2, 0, tzinfo=UTC)
    assert first.effective_at == first.start_at
    assert (first.end_at, first.all_end_at, first.cancelled, first.seq) == (None, None, False, 38)
    assert (page.items[1].kind, page.items[1].level) == (WarningKind.heat_wave, WarningLevel.warning)
    assert not page.has_more


def test_a_single_item_arrives_as_an_object_not_a_list() -> None:
    page = parse_pwn_cd(_answer({"item": _item(command=2, startTime=0, endTime=202307160600)}, total=1))
    assert len(page.items) == 1
    lift = page.items[0]
    assert lift.command is Command.lift
    assert lift.start_at is None
    assert lift.effective_at == lift.end_at == datetime(2023, 7, 15, 21, 0, tzinfo=UTC)


def test_string_fields_as_in_the_guides_xml_example_parse_the_same() -> None:
    strings = {k: str(v) for k, v in _item(startTime="", endTime="", allEndTime="").items()}
    numbers = _item(startTime=0)
    parsed_strings = parse_pwn_cd(_answer({"item": strings}, total=1)).items[0]
    parsed_numbers = parse_pwn_cd(_answer({"item": numbers}, total=1)).items[0]
    assert parsed_strings.id == parsed_numbers.id
    assert parsed_strings.announced_at == parsed_numbers.announced_at
    assert parsed_strings.start_at is None


@pytest.mark.parametrize(
    "payload",
    [
        {"response": {"header": {"resultCode": "03", "resultMsg": "NO_DATA"}}},
        {"response": {"header": {"resultCode": "3", "resultMsg": "NODATA_ERROR"}, "body": {"items": ""}}},
        _answer("", total=0),
        _answer({}, total=0),
    ],
)
def test_no_data_is_an_empty_page_not_an_error(payload: dict[str, object]) -> None:
    page = parse_pwn_cd(payload)
    assert page.items == []
    assert not page.has_more


@pytest.mark.parametrize(
    ("code", "message", "expected", "transient"),
    [
        ("30", "SERVICE_KEY_IS_NOT_REGISTERED_ERROR", "30", False),
        ("22", "LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR", "22", True),
        ("10", "INVALID_REQUEST_PARAMETER_ERROR", "10", False),
        ("1", "APPLICATION_ERROR", "01", True),
    ],
)
def test_error_result_codes_raise(code: str, message: str, expected: str, transient: bool) -> None:
    with pytest.raises(KmaError) as raised:
        parse_pwn_cd({"response": {"header": {"resultCode": code, "resultMsg": message}}})
    assert (raised.value.code, raised.value.message, raised.value.transient) == (expected, message, transient)


@pytest.mark.parametrize(
    "bad",
    [{"warnVar": 10}, {"command": 4}, {"warnStress": 2}, {"tmFc": "2023071510"}, {"tmFc": 202302301040}, {"tmFc": 0}],
)
def test_items_with_codes_outside_the_guide_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(KmaError, match="99"):
        parse_pwn_cd(_answer({"item": _item(**bad)}, total=1))


def test_paging_fields_say_whether_more_pages_follow() -> None:
    items = {"item": [_item(tmSeq=n) for n in range(1, 4)]}
    assert parse_pwn_cd(_answer(items, total=7, page=1, rows=3)).has_more
    assert parse_pwn_cd(_answer(items, total=7, page=2, rows=3)).has_more
    assert not parse_pwn_cd(_answer({"item": _item()}, total=7, page=3, rows=3)).has_more


def test_ids_are_stable_and_tell_lines_of_one_announcement_apart() -> None:
    issue = parse_pwn_cd(_answer({"item": _item()}, total=1)).items[0]
    again = parse_pwn_cd(_answer({"item": _item()}, total=1)).items[0]
    other_area = parse_pwn_cd(_answer({"item": _item(areaCode="L1100200")}, total=1)).items[0]
    upgraded = parse_pwn_cd(_answer({"item": _item(warnStress=1, command=7)}, total=1)).items[0]
    assert issue.id == again.id
    assert len({issue.id, other_area.id, upgraded.id}) == 3


# -- Seoul's warning areas ------------------------------------------------------------------------------------------


def test_the_four_areas_cover_all_25_districts_exactly_once() -> None:
    covered = [d for area in SEOUL_KMA_AREAS for d in districts_for_kma_area(area)]
    assert sorted(covered) == sorted(DISTRICTS)
    assert districts_for_kma_area(SOUTH_EAST) == {"11680", "11650", "11710", "11740"}
    assert "11590" in districts_for_kma_area(SOUTH_WEST)  # 동작구, where KMA itself sits
    assert districts_for_kma_area(SEOUL_LEGACY) == set(DISTRICTS)
    assert districts_for_kma_area("L1010200") == set()  # 광명, outside Seoul
    assert districts_for_kma_area("nonsense") == set()
    assert all(kma_area_for_district(d) in SEOUL_KMA_AREAS for d in DISTRICTS)


def test_the_area_codes_are_those_of_kmas_area_sheet(shared_data: Path) -> None:
    with zipfile.ZipFile(shared_data / "kma" / "kma_warning_area_codes_210715.xlsx") as sheet:
        strings = sheet.read("xl/sharedStrings.xml").decode()
    names = dict(zip(re.findall(r">(L1100\d00)<", strings), re.findall(r">서울\((\w+)\)<", strings), strict=True))
    assert names == {"L1100100": "동남권", "L1100200": "동북권", "L1100300": "서남권", "L1100400": "서북권"}
    assert set(names) | {SEOUL_LEGACY} == set(KMA_AREA_DISTRICTS)


# -- the client against the fake KMA --------------------------------------------------------------------------------

AT = datetime(2023, 7, 15, 10, 40, tzinfo=KST)


@pytest.fixture
def fake() -> Iterator[FakeKma]:
    fake = FakeKma()
    with fake.serve():
        yield fake


def _client(fake: FakeKma, **kwargs: object) -> KmaClient:
    assert fake.url is not None
    return KmaClient(fake.url, fake.service_key, **kwargs)  # type: ignore[arg-type]


async def test_an_issue_extend_lift_sequence_reads_in_order(fake: FakeKma) -> None:
    fake.issue(SOUTH_EAST, WarningKind.heavy_rain, WarningLevel.advisory, Command.issue, AT)
    fake.issue(SOUTH_EAST, WarningKind.heavy_rain, WarningLevel.advisory, Command.extend, AT + timedelta(hours=3))
    fake.issue(SOUTH_EAST, WarningKind.heavy_rain, WarningLevel.advisory, Command.lift, AT + timedelta(hours=9))
    fake.issue("L1010200", WarningKind.heavy_rain, WarningLevel.advisory, Command.issue, AT)  # 광명: not asked

    found = await _client(fake).warnings(since=AT - timedelta(hours=1), now=AT + timedelta(hours=10))

    assert [w.command for w in found] == [Command.issue, Command.extend, Command.lift]
    assert {w.area_code for w in found} == {SOUTH_EAST}
    assert found[0].start_at == AT
    assert found[2].end_at == found[2].effective_at == AT + timedelta(hours=9)
    query = fake.queries[0]
    assert query["dataType"] == "JSON"
    assert (query["fromTmFc"], query["toTmFc"]) == ("20230715", "20230715")
    assert [q["areaCode"] for q in fake.queries] == list(SEOUL_KMA_AREAS)


async def test_the_window_is_applied_to_the_minute(fake: FakeKma) -> None:
    for hours in (0, 2, 4):
        fake.issue(SOUTH_WEST, WarningKind.heat_wave, WarningLevel.advisory, Command.issue, AT + timedelta(hours=hours))
    found = await _client(fake).warnings(since=AT + timedelta(hours=1), now=AT + timedelta(hours=2))
    assert [w.announced_at for w in found] == [AT + timedelta(hours=2)]


async def test_every_page_is_read(fake: FakeKma) -> None:
    for minutes in range(7):
        fake.issue(
            SOUTH_EAST, WarningKind.strong_wind, WarningLevel.advisory, Command.issue, AT + timedelta(minutes=minutes)
        )
    fake.issue(SOUTH_WEST, WarningKind.strong_wind, WarningLevel.advisory, Command.issue, AT)

    found = await _client(fake, page_size=3).warnings(
        since=AT, now=AT + timedelta(hours=1), areas=[SOUTH_EAST, SOUTH_WEST]
    )

    assert len(found) == 8
    assert [w.announced_at for w in found] == sorted(w.announced_at for w in found)
    pages = [(q["areaCode"], q["pageNo"]) for q in fake.queries]
    # The third south-east page holds one item: the single-object quirk on the way.
    assert pages == [(SOUTH_EAST, "1"), (SOUTH_EAST, "2"), (SOUTH_EAST, "3"), (SOUTH_WEST, "1")]


async def test_nothing_announced_is_an_empty_list(fake: FakeKma) -> None:
    assert await _client(fake).warnings(since=AT, now=AT + timedelta(hours=1)) == []


async def test_a_kma_error_code_in_a_200_body_raises_kma_error(fake: FakeKma) -> None:
    fake.issue(SOUTH_EAST, WarningKind.dry, WarningLevel.advisory, Command.issue, AT)
    fake.fail_next(1, "22")
    with pytest.raises(KmaError) as raised:
        await _client(fake).warnings(since=AT, now=AT + timedelta(hours=1))
    assert raised.value.code == "22"
    assert raised.value.transient
    assert len(await _client(fake).warnings(since=AT, now=AT + timedelta(hours=1))) == 1


async def test_a_bad_key_raises_the_gateways_error(fake: FakeKma) -> None:
    assert fake.url is not None
    with pytest.raises(KmaError) as raised:
        await KmaClient(fake.url, "wrong-key").warnings(since=AT, now=AT)
    assert (raised.value.code, raised.value.message) == ("30", "SERVICE_KEY_IS_NOT_REGISTERED_ERROR")
    assert not raised.value.transient


async def test_kma_down_raises_unavailable(fake: FakeKma) -> None:
    fake.down()
    with pytest.raises(KmaUnavailable, match="503"):
        await _client(fake).warnings(since=AT, now=AT)


async def test_a_timeout_raises_unavailable(fake: FakeKma) -> None:
    fake.delay(0.5)
    with pytest.raises(KmaUnavailable, match="Timeout"):
        await _client(fake, timeout_s=0.1).warnings(since=AT, now=AT)


async def test_nobody_listening_raises_unavailable() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago, with nothing listening on it now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(KmaUnavailable):
        await KmaClient(f"http://127.0.0.1:{port}", "key", timeout_s=2).warnings(since=AT, now=AT)


async def test_naive_datetimes_are_refused(fake: FakeKma) -> None:
    with pytest.raises(ValueError, match="aware"):
        await _client(fake).warnings(since=datetime(2023, 7, 15), now=AT)
