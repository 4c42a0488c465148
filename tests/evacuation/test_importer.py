"""Reading the official CSV files: encodings, kinds, columns, and the rows rejected with their reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.evacuation.importer import UnreadableFile, decode, parse, recognise_kind
from api.evacuation.schemas import ShelterKind
from tests.evacuation.conftest import FILES

OUTDOOR = "seoul_earthquake_outdoor_evacuation.utf8.csv"
HEAT = "seoul_heat_shelters_2025.utf8.csv"
HOUSING = "seoul_temp_housing_quake_dual.utf8.csv"
INDOOR = "seoul_earthquake_indoor_relief.utf8.csv"


def head(path: Path, rows: int) -> str:
    """The header and the first ``rows`` rows of a real file, as text."""
    return "\n".join(path.read_text(encoding="utf-8-sig").splitlines()[: rows + 1]) + "\n"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        (HEAT, ShelterKind.heat_wave),
        (OUTDOOR, ShelterKind.earthquake_outdoor),
        (INDOOR, ShelterKind.earthquake_indoor),
        (HOUSING, ShelterKind.temporary_housing),
    ],
)
def test_each_real_file_is_read_whole_and_its_kind_recognised(parsed_files, name, kind):
    parsed = parsed_files[name]
    assert (parsed.kind, parsed.encoding, parsed.total) == (kind, "utf-8", FILES[name])
    assert len(parsed.rows) + len(parsed.rejections) == FILES[name]
    assert len({r.source_id for r in parsed.rows}) == len(parsed.rows)
    assert all(r.district is not None for r in parsed.rows)


def test_only_the_two_broken_temporary_housing_rows_are_rejected_for_lying_outside_seoul(parsed_files):
    rejected = [(r.source_id, r.reason) for name in FILES for r in parsed_files[name].rejections]
    assert rejected == [
        ("551", "outside Seoul: 37.551596, 129.912131 is not within latitude 37.41–37.73, longitude 126.75–127.20"),
        ("1654", "outside Seoul: 36.146513, 121.169846 is not within latitude 37.41–37.73, longitude 126.75–127.20"),
    ]
    assert [r.line for r in parsed_files[HOUSING].rejections] == [55, 355]


def test_a_heat_wave_row_keeps_what_a_citizen_needs(parsed_files):
    row = next(r for r in parsed_files[HEAT].rows if r.name == "백합경로당")
    assert row.source_id == "백합경로당|서울특별시 마포구 성산동 595"
    assert row.address == "서울특별시 마포구 월드컵로 215"
    assert (row.district, row.lat, row.lon) == ("11440", 37.5645129, 126.9011031)
    assert (row.capacity_people, row.area_m2) == (36, 122.0)
    assert row.facility_type == "특정계층이용시설 / 회원이용시설"
    assert row.wheelchair_accessible is None


def test_the_lost_middle_dots_of_facility_types_are_restored(parsed_files):
    types = {r.facility_type for r in parsed_files[HEAT].rows}
    assert "공공시설 / 복지·문화·체육시설" in types
    assert not any("?" in t for t in types if t)


def test_opening_notes_and_contacts_come_through(parsed_files):
    notes = [r.opening_notes for r in parsed_files[HEAT].rows if r.opening_notes]
    assert "폭염특보 발효시 평일 18시~21시, 주말 10시~17시 운영" in notes
    indoor = next(r for r in parsed_files[INDOOR].rows if r.source_id == "1")
    assert (indoor.name, indoor.contact, indoor.area_m2) == ("동작고등학교 운동장", "070-4629-6407", 3246.0)
    outdoor = next(r for r in parsed_files[OUTDOOR].rows if r.source_id == "185")
    assert (outdoor.district, outdoor.capacity_people, outdoor.area_m2) == ("11650", None, 1184.0)


def test_a_row_with_a_city_wide_code_takes_its_district_from_the_address(parsed_files):
    text = (
        '"시설년도","위치코드","쉼터명칭","지번주소","경도","위도"\n'
        '"2025","1100000000","서울시청 무더위쉼터","서울특별시 중구 태평로1가 31","126.9779","37.5663"\n'
    )
    [row] = parse(text.encode(), filename="heat.csv").rows
    assert row.district == "11140"


def test_a_cp949_file_reads_as_its_utf8_original(shelter_dir, tmp_path):
    text = head(shelter_dir / OUTDOOR, 5)
    (tmp_path / "outdoor.csv").write_bytes(text.encode("cp949"))
    from_cp949 = parse((tmp_path / "outdoor.csv").read_bytes(), filename="outdoor.csv")
    from_utf8 = parse(text.encode(), filename="outdoor.csv")
    assert (from_cp949.encoding, from_utf8.encoding) == ("cp949", "utf-8")
    assert from_cp949.rows == from_utf8.rows
    assert len(from_cp949.rows) == 5 and from_cp949.rows[0].name == "서울지방조달청 테니스장"


def test_a_row_in_neither_encoding_is_rejected_and_the_rest_load(shelter_dir, tmp_path):
    lines = head(shelter_dir / OUTDOOR, 4).encode("cp949").split(b"\n")
    lines[2] = lines[2].replace("사우촌".encode("cp949"), b"\xff\xfe\xff")
    parsed = parse(b"\n".join(lines), filename="outdoor.csv")
    assert parsed.encoding == "cp949"
    assert [r.source_id for r in parsed.rows] == ["185", "187", "188"]
    [rejection] = parsed.rejections
    assert (rejection.line, rejection.source_id) == (3, "186")
    assert rejection.reason.startswith("bad encoding")


def test_a_utf8_file_with_one_broken_row_keeps_its_other_rows(shelter_dir):
    data = head(shelter_dir / OUTDOOR, 3).encode()
    broken = data.replace("태양어린이공원".encode(), "태양".encode() + b"\xc0\xaf" + "공원".encode())
    parsed = parse(broken, filename="outdoor.csv")
    assert parsed.encoding == "utf-8"
    assert [r.source_id for r in parsed.rows] == ["185", "186"]
    assert [(r.source_id, r.reason.split(":")[0]) for r in parsed.rejections] == [("187", "bad encoding")]


HEADER = '"시설번호","시군구명","수용시설명","상세주소","시설면적","경도","위도"\n'
SEOUL = "is not within latitude 37.41–37.73, longitude 126.75–127.20"


def csv_row(*, source_id: str = "1", name: str = "A", lon: str = "126.97", lat: str = "37.57") -> str:
    return f'"{source_id}","종로구","{name}","서울 종로구 1","10","{lon}","{lat}"'


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (csv_row(lon="", lat=""), "missing coordinates (위도/경도)"),
        (csv_row(lat=""), "missing coordinates (위도/경도)"),
        (csv_row(lon="east", lat="north"), "coordinates are not numbers: 위도 'north', 경도 'east'"),
        (csv_row(lon="37.57", lat="126.97"), "latitude and longitude are swapped: 위도 126.97, 경도 37.57"),
        (csv_row(lon="127.5"), f"outside Seoul: 37.57, 127.5 {SEOUL}"),
        (csv_row(lon="0", lat="0"), f"outside Seoul: 0, 0 {SEOUL}"),
        (csv_row(name=""), "no name"),
        (csv_row(source_id=""), "no source id (nor a name and address to make one from)"),
        ('"1","종로구","A","10","126.97","37.57"', "6 fields where the header has 7"),
    ],
)
def test_a_broken_row_is_rejected_with_its_reason(row, reason):
    parsed = parse((HEADER + row + "\n").encode(), kind=ShelterKind.civil_defense)
    assert parsed.rows == []
    assert [(r.line, r.reason) for r in parsed.rejections] == [(2, reason)]


def test_a_repeated_source_id_is_rejected_naming_the_first_line():
    rows = '"7","종로구","A","서울","1","126.97","37.57"\n"7","종로구","B","서울","1","126.98","37.58"\n'
    parsed = parse((HEADER + rows).encode(), kind=ShelterKind.civil_defense)
    assert [r.name for r in parsed.rows] == ["A"]
    assert [(r.line, r.source_id, r.reason) for r in parsed.rejections] == [(3, "7", "the same source id as line 2")]


def test_optional_numbers_that_are_not_numbers_are_left_unknown():
    rows = '"7","종로구","A","서울","넓음","126.97","37.57"\n'
    [row] = parse((HEADER + rows).encode(), kind=ShelterKind.civil_defense).rows
    assert row.area_m2 is None and row.district == "11110"


def test_a_row_of_another_kind_in_an_indoor_relief_file_is_rejected(shelter_dir):
    text = head(shelter_dir / INDOOR, 2).replace('"1","지진실내구호소"', '"1","한파쉼터"', 1)
    parsed = parse(text.encode(), filename=INDOOR)
    assert [(r.source_id, r.reason) for r in parsed.rejections] == [
        ("1", "the row is a 한파쉼터, not a 지진실내구호소")
    ]


def test_heat_and_cold_wave_files_share_a_layout_so_the_name_or_kind_decides(shelter_dir):
    data = head(shelter_dir / HEAT, 2).encode()
    assert parse(data, filename="seoul_cold_shelters.csv").kind is ShelterKind.cold_wave
    assert parse(data, filename="한파쉼터_2025.csv").kind is ShelterKind.cold_wave
    assert parse(data, filename="무더위쉼터.csv").kind is ShelterKind.heat_wave
    assert parse(data, filename="shelters.csv", kind=ShelterKind.cold_wave).kind is ShelterKind.cold_wave
    with pytest.raises(UnreadableFile, match="--kind"):
        parse(data, filename="shelters.csv")


def test_the_kind_comes_from_the_header_whatever_the_file_is_called():
    assert recognise_kind(["시설번호", "수용시설명", "도로명주소코드", "경도", "위도"], "x.csv") is (
        ShelterKind.temporary_housing
    )
    assert recognise_kind(["시설번호", "수용시설명", "경도", "위도"], "x.csv") is ShelterKind.earthquake_outdoor
    assert recognise_kind(["피난처 ID", "구분명", "시설명", "경도", "위도"], "x.csv") is ShelterKind.earthquake_indoor
    assert recognise_kind(["시설명", "경도", "위도"], "민방위대피시설.csv") is ShelterKind.civil_defense
    with pytest.raises(UnreadableFile, match="give --kind"):
        recognise_kind(["시설명", "경도", "위도"], "x.csv")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"\xff\xfe\xfa\n1,2\n", "neither UTF-8 nor CP949"),
        ("이름,주소\n가,나\n".encode(), "no 시설명 column"),
        ('"시설명","경도"\n"A","127"\n'.encode(), "no 위도 column"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(data, message):
    with pytest.raises(UnreadableFile, match=message):
        parse(data, kind=ShelterKind.civil_defense, filename="f.csv")


def test_decode_prefers_utf8_and_strips_the_bom():
    assert decode("\ufeff가".encode()) == ("가", "utf-8")
    assert decode("가".encode("cp949")) == ("가", "cp949")
