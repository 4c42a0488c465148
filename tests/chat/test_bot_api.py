"""The endpoints the bot's actions call, and the place search, through the real app on a real database."""

from __future__ import annotations

import pytest

from api.platform.auth.tokens import Role
from tests.chat.conftest import PERSON, enrol, fetch
from tests.conftest import bearer, problem, sign_in

BOT = "/v1/bot/people"


async def test_the_profile_of_someone_in_care_typed_as_people_type_numbers(client, service, worker, talking):
    await enrol(client, worker, language="en", home=True)
    await talking(f"sms-{PERSON}")
    response = await client.get(f"{BOT}/sms-010-2468-1357", headers=service)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "sender": "sms-010-2468-1357",
        "citizen_id": None,
        "language": "en",
        "district": "11110",
        "in_care": True,
        "has_home": True,
    }


async def test_the_profile_of_an_app_user_and_of_a_stranger(client, service, talking):
    token = await sign_in(client, "010-5555-0001")
    me = (await client.get("/v1/me", headers=bearer(token))).json()
    await talking(f"citizen-{me['id']}", "sms-+821077778888")
    response = await client.get(f"{BOT}/citizen-{me['id']}", headers=service)
    assert response.json()["citizen_id"] == me["id"]
    assert response.json()["in_care"] is False
    stranger = (await client.get(f"{BOT}/sms-+821077778888", headers=service)).json()
    assert stranger == {
        "sender": "sms-+821077778888",
        "citizen_id": None,
        "language": "ko",
        "district": None,
        "in_care": False,
        "has_home": False,
    }


@pytest.mark.parametrize(
    ("sender", "status"), [("bob", 400), ("sms-12", 400), ("citizen-x", 400), ("citizen-999", 404)]
)
async def test_a_sender_that_is_not_one_is_refused(client, service, talking, sender, status):
    await talking("citizen-999")
    response = await client.get(f"{BOT}/{sender}", headers=service)
    assert response.status_code == status
    assert problem(response)["code"] in ("bad_sender", "unknown_sender")


async def test_only_the_service_role_may_call_the_bot_endpoints(client, token_for):
    citizen = bearer(token_for(Role.citizen, subject="citizen:1"))
    assert (await client.get(f"{BOT}/sms-{PERSON}", headers=citizen)).status_code == 403
    assert (await client.get(f"{BOT}/sms-{PERSON}")).status_code == 401
    assert (await client.post(f"{BOT}/sms-{PERSON}/help", json={}, headers=citizen)).status_code == 403


async def test_a_check_in_through_the_bot_is_recorded_for_someone_in_care(client, service, worker, settings, talking):
    await enrol(client, worker)
    await talking(f"sms-{PERSON}", "sms-+821099990000")
    response = await client.post(f"{BOT}/sms-{PERSON}/checkins", json={"body": "잘 지내요"}, headers=service)
    assert response.status_code == 200
    assert response.json() == {"in_care": True, "recorded": True}
    rows = await fetch(settings.db.url, "SELECT channel, kind, body FROM checkins")
    assert [tuple(r) for r in rows] == [("chat", "checkin", "잘 지내요")]
    other = await client.post(f"{BOT}/sms-01099990000/checkins", json={}, headers=service)
    assert other.json() == {"in_care": False, "recorded": False}


async def test_help_through_the_bot_opens_an_urgent_case_once(client, service, worker, settings, talking):
    await enrol(client, worker)
    await talking(f"sms-{PERSON}")
    first = await client.post(f"{BOT}/sms-{PERSON}/help", json={"body": "넘어졌어요"}, headers=service)
    assert first.status_code == 201, first.text
    assert first.json()["new_case"] is True
    again = await client.post(f"{BOT}/sms-{PERSON}/help", json={}, headers=service)
    assert again.json() == {"case_id": first.json()["case_id"], "new_case": False}
    cases = await fetch(settings.db.url, "SELECT reason, priority FROM cases")
    assert [tuple(r) for r in cases] == [("help_request", "urgent")]


async def test_help_for_someone_not_in_care_is_a_404_not_in_care(client, service, settings, talking):
    await talking("sms-+821099990000")
    response = await client.post(f"{BOT}/sms-01099990000/help", json={}, headers=service)
    assert response.status_code == 404
    assert problem(response)["code"] == "not_in_care"
    assert await fetch(settings.db.url, "SELECT id FROM cases") == []


async def test_a_hazard_report_at_a_known_place_gives_a_texter_an_account(client, service, settings, talking):
    await talking("sms-+821033334444")
    data = {"category": "sinkhole", "place": "강남역 앞", "description": "도로에 구멍"}
    response = await client.post(f"{BOT}/sms-010-3333-4444/hazard-reports", json=data, headers=service)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["place"] == {
        "name": "강남역",
        "name_en": "Gangnam Station",
        "lat": 37.4979,
        "lon": 127.0276,
        "district": "11680",
    }
    [report] = await fetch(
        settings.db.url,
        "SELECT r.id, r.incident_id, r.source, r.submitted_by, r.address, c.phone FROM hazard_reports r "
        "JOIN citizens c ON c.id = r.citizen_id",
    )
    assert (report["id"], report["incident_id"]) == (body["report_id"], body["incident_id"])
    assert (report["source"], report["submitted_by"], report["address"]) == ("chat", "service:actions", "강남역")
    assert report["phone"] == "+821033334444"


async def test_a_hazard_report_at_an_unknown_place_changes_nothing(client, service, settings, talking):
    await talking("sms-+821033334444")
    data = {"category": "sinkhole", "place": "어딘지 모르는 곳"}
    response = await client.post(f"{BOT}/sms-010-3333-4444/hazard-reports", json=data, headers=service)
    assert response.status_code == 422
    assert problem(response)["code"] == "place_unknown"
    assert await fetch(settings.db.url, "SELECT id FROM citizens") == []
    bad = await client.post(
        f"{BOT}/sms-010-3333-4444/hazard-reports", json={**data, "category": "ufo"}, headers=service
    )
    assert bad.status_code == 400


async def test_opting_out_through_the_bot(client, service, settings, talking):
    await talking("sms-+821033334444")
    response = await client.post(f"{BOT}/sms-010-3333-4444/opt-out", headers=service)
    assert response.json() == {"channel": "sms", "opted_out": True}
    token = await sign_in(client, "010-5555-0002")
    me = (await client.get("/v1/me", headers=bearer(token))).json()
    await talking(f"citizen-{me['id']}")
    app_user = await client.post(f"{BOT}/citizen-{me['id']}/opt-out", headers=service)
    assert app_user.json() == {"channel": "app", "opted_out": False}
    rows = await fetch(settings.db.url, "SELECT phone FROM sms_opt_outs")
    assert [r["phone"] for r in rows] == ["+821033334444"]


@pytest.mark.parametrize(
    ("q", "first"),
    [
        ("강남역", "강남역"),
        ("강남 역", "강남역"),
        ("Gangnam Station", "강남역"),
        ("gangnam  STATION", "강남역"),
        ("종로구", "종로구청"),
        ("Jongno-gu Office", "종로구청"),
        ("홍대입구역 근처", "홍대입구역"),
        ("N Seoul Tower", "남산서울타워"),
    ],
)
async def test_places_by_korean_or_english_name_with_any_spacing(client, q, first):
    response = await client.get("/v1/places", params={"q": q})
    assert response.status_code == 200
    assert response.json()[0]["name"] == first


async def test_places_unknown_or_empty(client):
    assert (await client.get("/v1/places", params={"q": "Atlantis"})).json() == []
    assert (await client.get("/v1/places", params={"q": ""})).status_code == 400
