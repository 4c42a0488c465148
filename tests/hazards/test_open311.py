"""Open311 GeoReport v2: the documents have the shape of the spec's examples, in JSON and in XML."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import asyncpg
import pytest
from litestar import Litestar

from api.platform.auth.tokens import Role, Scope
from api.platform.settings import Settings
from tests.conftest import bearer
from tests.hazards import CITY_HALL, JPEG, hazards_app, make_citizen, north_of, report_body

BASE = "/open311/v2"
W3 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")

# The elements of each document, in the order of the spec's examples (GeoReport v2).
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
CREATED_FIELDS = ["service_request_id", "service_notice", "account_id"]


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return hazards_app(settings)


@pytest.fixture
def service_key(token_for) -> str:  # type: ignore[no-untyped-def]
    return token_for(Role.service, subject="service:open311-gateway", scopes=(Scope.open311_submit,))


def form(point=CITY_HALL, **fields) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "service_code": "sinkhole",
        "lat": str(point[0]),
        "long": str(point[1]),
        "address_string": "세종대로 110, 중구, 서울",
        "description": "A large sinkhole is opening in the pavement",
        "email": "someone@example.com",
        "first_name": "Jisoo",
        "phone": "010-1234-5678",
        "device_id": "tt222111",
        "attribute[blocking_road]": "no",
        "jurisdiction_id": "seoul.go.kr",
        **fields,
    }


def xml(response) -> ET.Element:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(response.content)  # noqa: S314 - our own response, the thing under test


def errors_of(response) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """The (code, description) pairs of an error response, JSON or XML."""
    if response.headers["content-type"].startswith("application/json"):
        return [(str(e["code"]), e["description"]) for e in response.json()]
    root = xml(response)
    assert root.tag == "errors"
    return [(e.findtext("code") or "", e.findtext("description") or "") for e in root.findall("error")]


async def created(client, key: str, **fields) -> int:  # type: ignore[no-untyped-def]
    response = await client.post(f"{BASE}/requests.json", data=form(api_key=key, **fields))
    assert response.status_code == 200, response.text
    [item] = response.json()
    assert list(item) == CREATED_FIELDS
    return item["service_request_id"]


async def test_discovery_names_this_endpoint_and_its_formats(client):
    doc = (await client.get(f"{BASE}/discovery.json")).json()
    [endpoint] = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://safecity.test/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert W3.match(doc["changeset"])
    root = xml(await client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]
    assert root.findtext("endpoints/endpoint/type") == "production"


async def test_services_list_the_categories_in_both_formats(client):
    response = await client.get(f"{BASE}/services.json?lang=en")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    services = response.json()
    assert len(services) == 11
    assert all(list(s) == SERVICE_FIELDS for s in services)
    sinkhole = next(s for s in services if s["service_code"] == "sinkhole")
    assert (sinkhole["service_name"], sinkhole["metadata"], sinkhole["type"]) == ("Sinkhole", True, "realtime")
    streetlight = next(s for s in services if s["service_code"] == "broken_streetlight")
    assert streetlight["metadata"] is False  # it asks nothing besides the description

    root = xml(await client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    items = root.findall("service")
    assert [[c.tag for c in s] for s in items] == [SERVICE_FIELDS] * 11
    assert items[0].findtext("service_name") == "싱크홀(땅꺼짐)"  # Korean unless lang=en
    assert items[0].findtext("metadata") == "true"


async def test_a_service_definition_lists_its_attributes(client):
    assert (await client.get(f"{BASE}/services/other.json")).json() == {"service_code": "other", "attributes": []}
    [blocking] = (await client.get(f"{BASE}/services/icy_road.json?locale=en")).json()["attributes"]
    assert blocking == {
        "variable": True,
        "code": "blocking_road",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": None,
        "order": 1,
        "description": "Is it blocking the road or pavement?",
        "values": [{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}],
    }
    root = xml(await client.get(f"{BASE}/services/icy_road.xml"))
    assert (root.tag, root.findtext("service_code")) == ("service_definition", "icy_road")
    assert root.findtext("attributes/attribute/description") == "도로나 보도를 막고 있나요?"
    assert [v.findtext("key") for v in root.findall("attributes/attribute/values/value")] == ["yes", "no"]
    missing = await client.get(f"{BASE}/services/volcano.xml")
    assert missing.status_code == 404
    assert errors_of(missing)[0][0] == "404"


async def test_a_service_token_posts_a_form_and_the_request_reads_back_as_in_the_spec(client, service_key):
    request_id = await created(client, service_key)

    [item] = (await client.get(f"{BASE}/requests/{request_id}.json?lang=en")).json()
    assert list(item) == REQUEST_FIELDS
    assert item["service_request_id"] == request_id
    assert (item["status"], item["status_notes"]) == ("open", None)
    assert (item["service_code"], item["service_name"]) == ("sinkhole", "Sinkhole")
    assert (item["lat"], item["long"]) == CITY_HALL
    assert item["address"] == "세종대로 110, 중구, 서울"
    assert W3.match(item["requested_datetime"]) and W3.match(item["updated_datetime"])
    assert item["requested_datetime"].endswith("+09:00")

    root = xml(await client.get(f"{BASE}/requests/{request_id}.xml"))
    assert root.tag == "service_requests"
    [request] = root.findall("request")
    assert [c.tag for c in request] == REQUEST_FIELDS
    assert request.findtext("service_request_id") == str(request_id)
    assert float(request.findtext("lat") or 0) == CITY_HALL[0]
    assert request.findtext("status_notes") == ""  # an empty element, as in the spec's example


async def test_nothing_personal_is_kept_or_shown(client, settings, service_key):
    request_id = await created(client, service_key)
    listing = (await client.get(f"{BASE}/requests.json")).text
    for personal in ("someone@example.com", "Jisoo", "010-1234-5678", "tt222111"):
        assert personal not in listing
    conn = await asyncpg.connect(settings.db.url)
    try:
        row = await conn.fetchrow("SELECT * FROM hazard_reports WHERE id = $1", request_id)
    finally:
        await conn.close()
    assert row["citizen_id"] is None and row["submitted_by"] == "service:open311-gateway"
    assert "someone@example.com" not in str(dict(row))


async def test_a_citizen_key_joins_the_incident_and_follows_it_in_the_app(client, settings, service_key, token_for):
    conn = await asyncpg.connect(settings.db.url)
    try:
        citizen_id = await make_citizen(conn, "+821033330001")
    finally:
        await conn.close()
    citizen = token_for(Role.citizen, subject=f"citizen:{citizen_id}")
    await created(client, service_key)
    # The bearer header is an api_key too.
    response = await client.post(f"{BASE}/requests.xml", data=form(north_of(CITY_HALL, 20)), headers=bearer(citizen))
    assert response.status_code == 200, response.text
    request = xml(response).find("request")
    assert [c.tag for c in request] == CREATED_FIELDS
    assert "1" in (request.findtext("service_notice") or "")
    mine = await client.get(f"/v1/hazard-reports/{request.findtext('service_request_id')}", headers=bearer(citizen))
    assert mine.json()["incident"]["report_count"] == 2


async def test_status_maps_to_open_and_closed_with_the_notes(client, service_key, token_for):
    open_id = await created(client, service_key)
    closed_id = await created(client, service_key, service_code="icy_road")
    operator = bearer(token_for(Role.operator))
    incident = (await client.get(f"/v1/hazard-reports/{closed_id}", headers=operator)).json()["incident"]["id"]
    body = {"status": "rejected", "reason": "Already gritted"}
    assert (await client.post(f"/v1/admin/incidents/{incident}/status", json=body, headers=operator)).status_code == 200

    listing = (await client.get(f"{BASE}/requests.json")).json()
    assert {r["service_request_id"]: r["status"] for r in listing} == {open_id: "open", closed_id: "closed"}
    closed = (await client.get(f"{BASE}/requests.json?status=closed")).json()
    assert [(r["service_request_id"], r["status_notes"]) for r in closed] == [(closed_id, "Already gritted")]
    assert [r["service_request_id"] for r in (await client.get(f"{BASE}/requests.json?status=open")).json()] == [
        open_id
    ]
    by_code = xml(await client.get(f"{BASE}/requests.xml?service_code=icy_road"))
    assert [r.findtext("service_request_id") for r in by_code.findall("request")] == [str(closed_id)]
    by_id = (await client.get(f"{BASE}/requests.json?service_request_id={open_id},{closed_id}&status=open")).json()
    assert len(by_id) == 2  # service_request_id overrides every other argument
    old = await client.get(f"{BASE}/requests.json?start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00Z")
    assert old.json() == []


async def test_tokens_answer_for_request_ids(client, service_key):
    request_id = await created(client, service_key)
    assert (await client.get(f"{BASE}/tokens/{request_id}.json")).json() == [
        {"service_request_id": request_id, "token": str(request_id)}
    ]
    root = xml(await client.get(f"{BASE}/tokens/{request_id}.xml"))
    assert [c.tag for c in root.find("request")] == ["service_request_id", "token"]
    assert (await client.get(f"{BASE}/tokens/999999.xml")).status_code == 404


@pytest.mark.parametrize(
    ("fields", "status", "reason"),
    [
        ({"lat": "", "long": ""}, 400, "lat and long are required"),
        ({"lat": "37.56"} | {"long": ""}, 400, "lat and long are required"),
        ({"lat": "north", "long": "east"}, 400, "decimal degrees"),
        ({"lat": "35.1796", "long": "129.0756"}, 400, "outside Seoul"),
        ({"service_code": ""}, 400, "service_code is required"),
        ({"service_code": "volcano"}, 404, "not found"),
        ({"description": "x" * 4001}, 400, "4000"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_bad_requests_are_refused_in_the_open311_error_format(client, service_key, fields, status, reason, fmt):
    response = await client.post(f"{BASE}/requests.{fmt}", data=form(api_key=service_key, **fields))
    assert response.status_code == status, response.text
    [(code, description)] = errors_of(response)
    assert code == str(status)
    assert reason in description


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_creating_needs_a_citizen_or_service_key(client, token_for, fmt):
    url = f"{BASE}/requests.{fmt}"
    for key in (None, "not-a-token", token_for(Role.operator), token_for(Role.citizen, subject="citizen:x")):
        data = form() | ({"api_key": key} if key else {})
        response = await client.post(url, data=data)
        assert response.status_code == 403, response.text
        assert errors_of(response)[0][0] == "403"


async def test_a_service_key_without_the_open311_scope_creates_nothing(client, token_for, settings):
    for scopes in ((), (Scope.chatbot, Scope.alerts_publish, Scope.sensors_write)):
        key = token_for(Role.service, subject="service:other", scopes=scopes)
        response = await client.post(f"{BASE}/requests.json", data=form(api_key=key))
        assert response.status_code == 403, response.text
        assert "open311:submit" in errors_of(response)[0][1]
    conn = await asyncpg.connect(settings.db.url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM hazard_reports") == 0
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("requests.json?start_date=yesterday", "start_date"),
        ("requests.xml?start_date=2026-01-01T00:00:00", "zone"),
        ("requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", "90 days"),
        ("requests.json?status=pending", "status"),
        ("requests.xml?service_code=volcano", "volcano"),
        ("requests.json?service_request_id=1,abc", "service_request_id"),
        ("requests/12", ".json or .xml"),
    ],
)
async def test_bad_queries_are_400_in_the_open311_error_format(client, path, reason):
    response = await client.get(f"{BASE}/{path}")
    assert response.status_code == 400
    [(code, description)] = errors_of(response)
    assert (code, reason in description) == ("400", True)


async def test_an_unknown_request_is_404(client):
    for fmt in ("json", "xml"):
        response = await client.get(f"{BASE}/requests/424242.{fmt}")
        assert response.status_code == 404
        assert errors_of(response)[0][0] == "404"


async def test_a_json_body_is_taken_with_attributes_and_the_request_says_who_acts_by_when(client, service_key):
    body = {
        "api_key": service_key,
        "service_code": "flooding",
        "lat": CITY_HALL[0],
        "long": CITY_HALL[1],
        "description": "지하도가 잠겼어요",
        "attribute": {"blocking_road": "yes", "water_depth": "knee"},
    }
    response = await client.post(f"{BASE}/requests.json?locale=en", json=body)
    assert response.status_code == 200, response.text
    [created_item] = response.json()
    assert "Jung-gu Flood Control Division aims to deal with it by" in created_item["service_notice"]
    request_id = created_item["service_request_id"]
    [item] = (await client.get(f"{BASE}/requests/{request_id}.json")).json()
    assert item["agency_responsible"] == "중구 치수과"
    assert item["service_notice"].startswith("중구 치수과에서 ") and W3.match(item["expected_datetime"])
    assert item["media_url"] is None

    flat = await client.post(
        f"{BASE}/requests.json", json={**body, "attribute": None, "attribute[water_depth]": "ocean"}
    )
    assert flat.status_code == 400
    assert "ankle, knee, waist" in flat.json()[0]["description"]
    unasked = await client.post(f"{BASE}/requests.json", data=form(api_key=service_key, **{"attribute[colour]": "red"}))
    assert unasked.status_code == 400
    assert "blocking_road" in unasked.json()[0]["description"]
    assert (
        await client.post(f"{BASE}/requests.json", content=b"[1]", headers={"content-type": "application/json"})
    ).status_code == 400


async def test_a_public_photo_is_the_requests_media_url(client, token_for, settings):
    conn = await asyncpg.connect(settings.db.url)
    try:
        citizen_id = await make_citizen(conn, "+821033330009")
    finally:
        await conn.close()
    kim = bearer(token_for(Role.citizen, subject=f"citizen:{citizen_id}"))
    report = (await client.post("/v1/hazard-reports", json=report_body(public=True), headers=kim)).json()
    await client.post(
        f"/v1/hazard-reports/{report['id']}/photos", files={"photo": ("p", JPEG, "image/jpeg")}, headers=kim
    )
    [item] = (await client.get(f"{BASE}/requests/{report['id']}.json")).json()
    assert item["media_url"].startswith("http://safecity.test/v1/hazard-photos/")
    photo = await client.get(item["media_url"].removeprefix("http://safecity.test"))
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
