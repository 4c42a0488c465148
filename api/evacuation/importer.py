"""Reading Seoul's official shelter CSV files: encoding, kind, columns, and a check of every row. No I/O here.

The files come from the Seoul Open Data Plaza (data.seoul.go.kr) with Korean headers, in UTF-8 (often with a
BOM) or CP949. Each lists one kind of shelter. A row that cannot be trusted (no coordinates, coordinates
outside Seoul, bytes that are not text) is rejected with a reason rather than loaded.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from api.evacuation.schemas import Rejection, ShelterKind, ShelterRow
from api.platform.districts import DISTRICTS
from api.platform.geo import SEOUL_BOUNDS

KIND_NAMES_KO: dict[ShelterKind, str] = {
    ShelterKind.heat_wave: "무더위쉼터",
    ShelterKind.cold_wave: "한파쉼터",
    ShelterKind.earthquake_outdoor: "지진옥외대피장소",
    ShelterKind.earthquake_indoor: "지진실내구호소",
    ShelterKind.temporary_housing: "이재민임시주거시설",
    ShelterKind.civil_defense: "민방위대피시설",
}
_KIND_BY_NAME_KO = {name: kind for kind, name in KIND_NAMES_KO.items()}

# What each field is called in the files we know, first match wins. Files of other publishers (civil-defense
# shelters, say) use some of these names; a file with none of them for name or coordinates is refused whole.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "source_id": ("피난처 ID", "시설번호", "관리번호", "시설ID", "번호"),
    "name": ("쉼터명칭", "수용시설명", "시설명", "대피시설명", "시설명(건물명)", "대피소명"),
    "address": ("도로명주소", "도로명전체주소", "상세주소", "소재지전체주소", "지번주소", "주소"),
    "lot_address": ("지번주소", "소재지전체주소"),
    "lat": ("위도",),
    "lon": ("경도",),
    "area_m2": ("시설면적", "시설면적(㎡)", "면적"),
    "capacity_people": ("이용가능인원", "최대수용인원", "수용인원", "수용가능인원"),
    "opening_notes": ("비고", "운영시간"),
    "contact": ("관리부서", "전화번호", "연락처"),
    "district_name": ("시군구명",),
    "area_code": ("위치코드", "지역코드"),
    "type1": ("시설구분1", "시설구분명", "시설구분"),
    "type2": ("시설구분2",),
    "wheelchair": ("장애인이용가능여부", "장애인편의시설"),
    "kind_name": ("구분명",),
}

# Header signatures of the official files: (columns present, columns absent, the kinds it may be). Heat- and
# cold-wave shelter files share one layout, so for them the file name decides, or --kind.
_SIGNATURES: tuple[tuple[frozenset[str], frozenset[str], tuple[ShelterKind, ...]], ...] = (
    (frozenset({"피난처 ID", "구분명"}), frozenset(), (ShelterKind.earthquake_indoor,)),
    (frozenset({"쉼터명칭"}), frozenset(), (ShelterKind.heat_wave, ShelterKind.cold_wave)),
    (frozenset({"수용시설명", "도로명주소코드"}), frozenset(), (ShelterKind.temporary_housing,)),
    (frozenset({"수용시설명"}), frozenset({"도로명주소코드"}), (ShelterKind.earthquake_outdoor,)),
)

_NAME_HINTS: dict[ShelterKind, tuple[str, ...]] = {
    ShelterKind.heat_wave: ("heat", "무더위", "폭염"),
    ShelterKind.cold_wave: ("cold", "한파"),
    ShelterKind.earthquake_outdoor: ("outdoor", "옥외"),
    ShelterKind.earthquake_indoor: ("indoor", "실내구호"),
    ShelterKind.temporary_housing: ("temp_housing", "temporary", "임시주거", "이재민"),
    ShelterKind.civil_defense: ("civil", "민방위"),
}

_DISTRICT_BY_NAME = {d.name_ko: d.code for d in DISTRICTS.values()}
_SPACES = re.compile(r"\s+")
_REPLACEMENT = "\ufffd"
_YES = {"y", "yes", "예", "가능", "유", "있음", "true", "1"}
_NO = {"n", "no", "아니오", "불가", "불가능", "무", "없음", "false", "0"}


class UnreadableFile(ValueError):
    """The file as a whole cannot be imported; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class ParsedFile:
    kind: ShelterKind
    encoding: str
    rows: list[ShelterRow]
    rejections: list[Rejection]
    total: int
    # Every source id the file names, rejected rows included: a shelter whose new row is broken keeps its
    # last good version rather than being taken as gone.
    source_ids: set[str] = field(default_factory=set)


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was in: UTF-8 (with or without BOM) or CP949.

    When neither fits the whole file, the one that leaves fewer undecodable bytes wins; those bytes become
    U+FFFD and their rows are rejected.
    """
    for label, codec in (("utf-8", "utf-8-sig"), ("cp949", "cp949")):
        try:
            return data.decode(codec), label
        except UnicodeDecodeError:
            continue
    utf8 = data.decode("utf-8-sig", errors="replace")
    cp949 = data.decode("cp949", errors="replace")
    if utf8.count(_REPLACEMENT) <= cp949.count(_REPLACEMENT):
        return utf8, "utf-8"
    return cp949, "cp949"


def recognise_kind(header: Iterable[str], filename: str = "") -> ShelterKind:
    """The kind of shelter a file lists, from its header, else from its name; UnreadableFile if unsure."""
    columns = set(header)
    for present, absent, kinds in _SIGNATURES:
        if present <= columns and not absent & columns:
            if len(kinds) == 1:
                return kinds[0]
            hinted = [k for k in kinds if _hinted(k, filename)]
            if len(hinted) == 1:
                return hinted[0]
            raise UnreadableFile(
                f"{filename or 'the file'} has the layout of {' and '.join(KIND_NAMES_KO[k] for k in kinds)} "
                f"files alike; say which with --kind ({' or '.join(kinds)})"
            )
    hinted = [k for k in ShelterKind if _hinted(k, filename)]
    if len(hinted) == 1:
        return hinted[0]
    raise UnreadableFile(
        f"cannot tell which kind of shelter {filename or 'the file'} lists from its header; "
        f"give --kind ({', '.join(ShelterKind)})"
    )


def _hinted(kind: ShelterKind, filename: str) -> bool:
    name = filename.lower()
    return any(hint in name for hint in _NAME_HINTS[kind])


def parse(data: bytes, *, kind: ShelterKind | None = None, filename: str = "") -> ParsedFile:
    """Read a shelter CSV file: its kind (given, or recognised), the rows to load, and the rows rejected."""
    text, encoding = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [column.strip().lstrip("\ufeff") for column in next(reader, [])]
    if not any(header):
        raise UnreadableFile(f"{filename or 'the file'} is empty")
    if any(_REPLACEMENT in column for column in header):
        raise UnreadableFile(f"the header of {filename or 'the file'} is neither UTF-8 nor CP949 text")
    kind = kind or recognise_kind(header, filename)
    columns = _locate(header, filename)

    rows: list[ShelterRow] = []
    rejections: list[Rejection] = []
    first_line: dict[str, int] = {}
    total = 0
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        total += 1
        line = reader.line_num
        if len(values) != len(header):
            rejections.append(Rejection(line=line, source_id=None, reason=_width(len(values), len(header))))
            continue
        record = dict(zip(header, values, strict=True))
        source_id = _source_id(record, columns)
        if source_id is not None and source_id in first_line:
            reason = f"the same source id as line {first_line[source_id]}"
            rejections.append(Rejection(line=line, source_id=source_id, reason=reason))
            continue
        if source_id is not None:
            first_line[source_id] = line
        try:
            rows.append(_row(record, columns, kind=kind, source_id=source_id))
        except ValueError as exc:
            rejections.append(Rejection(line=line, source_id=source_id, reason=str(exc)))
    return ParsedFile(kind, encoding, rows, rejections, total, set(first_line))


def _width(got: int, expected: int) -> str:
    return f"{got} fields where the header has {expected}"


def _locate(header: list[str], filename: str) -> dict[str, str]:
    """The column that holds each field, for the fields this file has."""
    present = set(header)
    columns = {
        name: next(alias for alias in aliases if alias in present)
        for name, aliases in _COLUMNS.items()
        if any(alias in present for alias in aliases)
    }
    for needed, ko in (("name", "시설명"), ("lat", "위도"), ("lon", "경도")):
        if needed not in columns:
            raise UnreadableFile(
                f"{filename or 'the file'} has no {ko} column ({', '.join(_COLUMNS[needed])}); "
                f"its columns are {', '.join(header)}"
            )
    return columns


def _get(record: dict[str, str], columns: dict[str, str], name: str) -> str | None:
    column = columns.get(name)
    if column is None:
        return None
    return _SPACES.sub(" ", record[column]).strip() or None


def _source_id(record: dict[str, str], columns: dict[str, str]) -> str | None:
    if "source_id" in columns:
        return _get(record, columns, "source_id")
    # Heat- and cold-wave files carry no id; a shelter there is its name at its lot address.
    name = _get(record, columns, "name")
    where = _get(record, columns, "lot_address") or _get(record, columns, "address")
    return f"{name}|{where}" if name and where else None


def _row(record: dict[str, str], columns: dict[str, str], *, kind: ShelterKind, source_id: str | None) -> ShelterRow:
    if any(_REPLACEMENT in value for value in record.values()):
        raise ValueError("bad encoding: the row holds bytes that are neither UTF-8 nor CP949 text")
    stated = _get(record, columns, "kind_name")
    if stated is not None and _KIND_BY_NAME_KO.get(stated) != kind:
        raise ValueError(f"the row is a {stated}, not a {KIND_NAMES_KO[kind]}")
    if source_id is None:
        raise ValueError("no source id (nor a name and address to make one from)")
    name = _get(record, columns, "name")
    if name is None:
        raise ValueError("no name")
    if len(name) > 200:
        raise ValueError("a name longer than 200 characters")
    lat, lon = _coordinates(_get(record, columns, "lat"), _get(record, columns, "lon"))
    address = _get(record, columns, "address")
    if address is not None and len(address) > 300:
        raise ValueError("an address longer than 300 characters")
    return ShelterRow(
        kind=kind,
        source_id=source_id,
        name=name,
        address=address,
        district=_district(record, columns, address),
        lat=lat,
        lon=lon,
        capacity_people=_count(_get(record, columns, "capacity_people")),
        area_m2=_area(_get(record, columns, "area_m2")),
        facility_type=_facility_type(record, columns),
        opening_notes=_get(record, columns, "opening_notes"),
        contact=_get(record, columns, "contact"),
        wheelchair_accessible=_flag(_get(record, columns, "wheelchair")),
    )


def _coordinates(lat_text: str | None, lon_text: str | None) -> tuple[float, float]:
    if lat_text is None or lon_text is None:
        raise ValueError("missing coordinates (위도/경도)")
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        raise ValueError(f"coordinates are not numbers: 위도 {lat_text!r}, 경도 {lon_text!r}") from None
    if SEOUL_BOUNDS.contains(lon, lat):
        raise ValueError(f"latitude and longitude are swapped: 위도 {lat_text}, 경도 {lon_text}")
    if not SEOUL_BOUNDS.contains(lat, lon):
        raise ValueError(f"outside Seoul: {lat_text}, {lon_text} is not within {SEOUL_BOUNDS.describe()}")
    return lat, lon


def _district(record: dict[str, str], columns: dict[str, str], address: str | None) -> str | None:
    code = (_get(record, columns, "area_code") or "")[:5]
    if code in DISTRICTS:
        return code
    name = _get(record, columns, "district_name")
    if name in _DISTRICT_BY_NAME:
        return _DISTRICT_BY_NAME[name]
    # Some rows carry a city-wide code (11000…); the address still names the district.
    for word in (address or _get(record, columns, "lot_address") or "").split()[:3]:
        if word in _DISTRICT_BY_NAME:
            return _DISTRICT_BY_NAME[word]
    return None


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        return None
    return value if value >= 0 and value == value and value != float("inf") else None


def _count(text: str | None) -> int | None:
    value = _number(text)
    return round(value) if value is not None and value < 2**31 else None


def _area(text: str | None) -> float | None:
    value = _number(text)
    return round(value, 2) if value is not None else None


def _facility_type(record: dict[str, str], columns: dict[str, str]) -> str | None:
    parts = [p for p in (_get(record, columns, "type1"), _get(record, columns, "type2")) if p]
    # The heat-wave file lost its middle dots upstream ("복지?문화?체육시설"); no facility type has a "?".
    return " / ".join(parts).replace("?", "·") if parts else None


def _flag(text: str | None) -> bool | None:
    if text is None:
        return None
    lowered = text.lower()
    return True if lowered in _YES else False if lowered in _NO else None
