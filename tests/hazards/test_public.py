"""What the public sees of reports: Open311 (one and the list, JSON and XML, tokens) and the incident map.

App reports are private unless their reporter chose ``public``; Open311's requests are public. Public text
has no phone numbers or e-mail addresses; a public app report shows on the ~50 m grid, without its address.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import asyncpg
import msgspec
import pytest
from litestar import Litestar

from api.hazards import service
from api.hazards.schemas import HazardReportCreate
from api.platform.auth.tokens import Role, Scope
from api.platform.redact import EMAIL_MARK, PHONE_MARK
from api.platform.settings import Settings
from tests.conftest import bearer, problem
from tests.hazards import CITY_HALL, hazards_app, make_citizen, north_of, report_body

BASE = "/open311/v2"
WORDS = "보도가 꺼졌어요. 010-1234-5678 또는 kim.js@example.com 으로 연락 주세요"
REDACTED = f"보도가 꺼졌어요. {PHONE_MARK} 또는 {EMAIL_MARK} 으로 연락 주세요"
# A reporter's exact point, and the node of the public grid it snaps to.
DOORSTEP = (37.56634, 126.97791)
ON_GRID = (37.5665, 126.978)
PRIVATE_BITS = ("010-1234-5678", "kim.js@example.com", "세종대로", "37.56634", "126.97791")


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return hazards_app(settings)


@pytest.fixture
def citizen(settings: Settings, token_for):  # type: ignore[no-untyped-def]
    async def make(phone: str) -> dict[str, str]:
        conn = await asyncpg.connect(settings.db.url)
        try:
            citizen_id = await make_citizen(conn, phone)
        finally:
            await conn.close()
        return bearer(token_for(Role.citizen, subject=f"citizen:{citizen_id}"))

    return make


async def reported(client, headers, **body) -> dict:  # type: ignore[no-untyped-def]
    point = body.pop("point", DOORSTEP)
    response = await client.post(
        "/v1/hazard-reports", json=report_body(point, description=WORDS, **body), headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def xml_requests(response) -> dict[str, ET.Element]:  # type: ignore[no-untyped-def]
    root = ET.fromstring(response.content)  # noqa: S314 - our own response, the thing under test
    return {r.findtext("service_request_id") or "": r for r in root.findall("request")}


async def public_views(client, report_id: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Every public answer that could hold the report, by what was asked."""
    answers = {}
    for fmt in ("json", "xml"):
        answers[f"one.{fmt}"] = await client.get(f"{BASE}/requests/{report_id}.{fmt}")
        answers[f"list.{fmt}"] = await client.get(f"{BASE}/requests.{fmt}")
        answers[f"by_id.{fmt}"] = await client.get(f"{BASE}/requests.{fmt}?service_request_id={report_id}")
        answers[f"token.{fmt}"] = await client.get(f"{BASE}/tokens/{report_id}.{fmt}")
    answers["map"] = await client.get("/v1/incidents")
    return answers


async def test_a_private_app_report_is_on_no_public_surface_but_its_reporter_sees_it_all(client, citizen):
    kim = await citizen("+821033330101")
    report = await reported(client, kim)
    assert report["public"] is False  # the default
    answers = await public_views(client, report["id"])
    for name in ("one.json", "one.xml", "token.json", "token.xml"):
        assert answers[name].status_code == 404, name
    for name in ("list.json", "by_id.json"):
        assert answers[name].json() == [], name
    for name in ("list.xml", "by_id.xml"):
        assert xml_requests(answers[name]) == {}, name
    assert answers["map"].json()["features"] == []
    for name, answer in answers.items():
        assert not any(bit in answer.text for bit in PRIVATE_BITS), name

    mine = (await client.get(f"/v1/hazard-reports/{report['id']}", headers=kim)).json()
    assert mine["description"] == WORDS
    assert mine["location"] == {"lat": DOORSTEP[0], "lon": DOORSTEP[1], "address": "서울 중구 세종대로 110"}


async def test_a_public_app_report_shows_without_contacts_on_the_grid_and_without_its_address(client, citizen):
    kim = await citizen("+821033330102")
    report = await reported(client, kim, public=True)
    assert report["public"] is True
    rid = report["id"]
    answers = await public_views(client, rid)

    [one] = answers["one.json"].json()
    assert (one["description"], one["lat"], one["long"], one["address"]) == (REDACTED, *ON_GRID, None)
    assert [r for r in answers["list.json"].json() if r["service_request_id"] == rid] == [one]
    for name in ("one.xml", "list.xml"):
        request = xml_requests(answers[name])[str(rid)]
        assert request.findtext("description") == REDACTED
        assert (float(request.findtext("lat") or 0), float(request.findtext("long") or 0)) == ON_GRID
        assert request.findtext("address") == ""
    assert answers["token.json"].json() == [{"service_request_id": rid, "token": str(rid)}]
    [feature] = answers["map"].json()["features"]
    assert feature["id"] == report["incident"]["id"]
    assert feature["geometry"]["coordinates"] == [ON_GRID[1], ON_GRID[0]]
    for name, answer in answers.items():
        assert not any(bit in answer.text for bit in PRIVATE_BITS), name

    # Its reporter still sees what they wrote, where they stood.
    mine = (await client.get("/v1/hazard-reports/mine", headers=kim)).json()["items"][0]
    assert (mine["description"], mine["location"]["lat"], mine["location"]["lon"]) == (WORDS, *DOORSTEP)


async def test_an_open311_request_is_public_where_it_was_put_with_its_address_but_no_contacts(client, token_for):
    key = token_for(Role.service, subject="service:open311-gateway", scopes=(Scope.open311_submit,))
    form = {
        "api_key": key,
        "service_code": "sinkhole",
        "lat": str(CITY_HALL[0]),
        "long": str(CITY_HALL[1]),
        "address_string": "세종대로 110, 중구, 서울",
        "description": "Sinkhole; call me on +82 10 9999 8888 or mail lee@example.org",
    }
    created = await client.post(f"{BASE}/requests.json", data=form)
    assert created.status_code == 200, created.text
    rid = created.json()[0]["service_request_id"]
    [one] = (await client.get(f"{BASE}/requests/{rid}.json")).json()
    assert one["description"] == f"Sinkhole; call me on {PHONE_MARK} or mail {EMAIL_MARK}"
    assert (one["lat"], one["long"], one["address"]) == (*CITY_HALL, "세종대로 110, 중구, 서울")
    request = xml_requests(await client.get(f"{BASE}/requests.xml"))[str(rid)]
    assert request.findtext("description") == one["description"]
    # The map shows its incident, on the grid as every incident.
    [feature] = (await client.get("/v1/incidents")).json()["features"]
    assert feature["geometry"]["coordinates"] == [126.978, 37.5665]


async def test_the_map_counts_and_dates_only_public_reports(client, citizen):
    kim, lee = await citizen("+821033330103"), await citizen("+821033330104")
    private = await reported(client, kim)
    public = await reported(client, lee, point=north_of(DOORSTEP, 20), public=True)
    assert public["incident"]["id"] == private["incident"]["id"]
    assert public["incident"]["report_count"] == 2  # its reporter is told of the other, as before
    [feature] = (await client.get("/v1/incidents")).json()["features"]
    props = feature["properties"]
    assert props["report_count"] == 1
    first = datetime.fromisoformat(props["first_reported_at"])
    assert first == datetime.fromisoformat(public["reported_at"]) > datetime.fromisoformat(private["reported_at"])
    # The incident stands where the private report was, so the map puts it on the grid.
    assert feature["geometry"]["coordinates"] == [ON_GRID[1], ON_GRID[0]]


async def test_an_operators_status_notes_are_shown_without_contacts(client, citizen, token_for):
    kim = await citizen("+821033330105")
    report = await reported(client, kim, public=True)
    operator = bearer(token_for(Role.operator))
    body = {"status": "rejected", "reason": "중복 신고입니다. 문의: 02-2133-1234"}
    url = f"/v1/admin/incidents/{report['incident']['id']}/status"
    assert (await client.post(url, json=body, headers=operator)).status_code == 200
    [one] = (await client.get(f"{BASE}/requests/{report['id']}.json")).json()
    assert one["status_notes"] == f"중복 신고입니다. 문의: {PHONE_MARK}"
    [feature] = (await client.get("/v1/incidents?status=rejected")).json()["features"]
    assert feature["properties"]["status_notes"] == one["status_notes"]


async def test_public_must_be_true_or_false(client, citizen):
    kim = await citizen("+821033330106")
    body = report_body(public="yes")
    response = await client.post("/v1/hazard-reports", json=body, headers=kim)
    assert response.status_code == 400
    [error] = problem(response)["errors"]
    assert (error["field"], error["message"]) == ("public", "Expected `bool`, got `str`")


async def test_a_chatbot_report_stays_private_whatever_it_asks(pool):
    async with pool.acquire() as conn:
        citizen_id = await make_citizen(conn, "+821033330107")
        data = msgspec.convert(report_body(public=True), HazardReportCreate)
        reporter = service.Reporter(subject="service:rasa-actions", citizen_id=citizen_id, source="chat")
        read = await service.report(conn, reporter=reporter, data=data, now=datetime.now(UTC))
    assert read.public is False
