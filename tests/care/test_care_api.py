"""Care through the real app: enrolment and its bad input, app check-ins, help, sensors, SMS, districts."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
import pytest
from twilio.request_validator import RequestValidator

from api.platform.auth.tokens import Role, Scope
from api.platform.settings import TwilioSettings
from care.slots import SEOUL
from tests.conftest import bearer, problem, sign_in

PERSON = "010-2468-1357"

PLAN = {"times": ["09:00", "19:00"], "window_minutes": 120}


def body(**overrides):  # type: ignore[no-untyped-def]
    return {
        "name": "박영희",
        "phone": PERSON,
        "district": "11110",
        "address": "서울 종로구 삼일대로 1",
        "guardians": [{"name": "박철수", "phone": "010-1357-2468", "relation": "아들"}],
        "plan": PLAN,
        **overrides,
    }


@pytest.fixture
def worker(token_for):  # type: ignore[no-untyped-def]
    return bearer(token_for(Role.social_worker, districts=("11110",)))


async def enrolled(client, worker, **overrides) -> dict:  # type: ignore[no-untyped-def]
    response = await client.post("/v1/care/recipients", json=body(**overrides), headers=worker)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_social_worker_enrols_a_person_with_a_plan_and_guardians(client, worker):
    person = await enrolled(client, worker)
    assert person["phone"] == "+821024681357"
    assert person["guardians"][0]["phone"] == "+821013572468"
    assert person["plan"]["times"] == ["09:00", "19:00"]
    unsaid = {"first_ask": None, "ask_again": None, "guardian": None, "urgent": None}
    assert person["plan"]["ladder"] == {
        "guardian_after_minutes": 30,
        "case_after_minutes": 30,
        "urgent_after_minutes": 120,
        "steps": unsaid,
        "steps_in_effect": {"first_ask": "message", "ask_again": "message", "guardian": "message", "urgent": "message"},
    }
    assert person["plan"]["next_check_in"] is not None
    again = await client.post("/v1/care/recipients", json=body(), headers=worker)
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"plan": {"times": []}}, "times"),
        ({"plan": {"times": ["09:00", "10:00"], "window_minutes": 120}}, "longer than the 60 minutes"),
        ({"district": "99999"}, "district"),
        ({"guardians": [{"name": "x", "phone": "010-12", "relation": "딸"}]}, "phone"),
        ({"plan": {"times": ["25:00"]}}, "times"),
        ({"home": {"lat": 37.57}}, "both lat and lon"),
        ({"home": {"lat": 37.57, "lon": 126.98, "dong": "11110101"}}, "not both"),
        ({"home": {"dong": "11110999"}}, "no dong 11110999"),
        ({"home": {"dong": "1111010"}}, "home.dong"),
        ({"birth_date": "1941-02-30"}, "birth_date"),
    ],
)
async def test_bad_enrolments_are_refused_with_the_reason(client, worker, overrides, reason):
    response = await client.post("/v1/care/recipients", json=body(**overrides), headers=worker)
    assert response.status_code == 400
    assert reason in response.text


async def test_a_birth_date_and_a_home_point_are_kept_and_read_back(client, worker):
    person = await enrolled(client, worker, birth_date="1941-03-05", home={"lat": 37.574, "lon": 126.985})
    # With the dong the point lies in, as the boundaries say.
    home = {"lat": 37.574, "lon": 126.985, "dong": "11110128", "dong_name_ko": "관훈동", "dong_name_en": "Gwanhun-dong"}
    assert (person["birth_date"], person["home"]) == ("1941-03-05", home)
    read = (await client.get(f"/v1/care/recipients/{person['id']}", headers=worker)).json()
    assert (read["birth_date"], read["home"]) == (person["birth_date"], person["home"])
    # Neither given: both read back as null, not left out.
    other = await enrolled(client, worker, phone="010-2468-0000")
    assert (other["birth_date"], other["home"]) == (None, None)


async def test_a_home_picked_as_a_dong_is_kept_without_a_point(client, worker):
    person = await enrolled(client, worker, home={"dong": "11110101"})
    assert person["home"] == {
        "lat": None,
        "lon": None,
        "dong": "11110101",
        "dong_name_ko": "청운동",
        "dong_name_en": "Cheongun-dong",
    }
    read = (await client.get(f"/v1/care/recipients/{person['id']}", headers=worker)).json()
    assert read["home"] == person["home"]


def _seoul_days_from_today(days: int) -> str:
    return (datetime.now(SEOUL).date() + timedelta(days=days)).isoformat()


# Tomorrow in Seoul, read when the test runs: taken when the tests are collected, a run that crosses Seoul's
# midnight (15:00 UTC) sent the new day as "tomorrow", and it was rightly taken.
TOMORROW = "tomorrow in Seoul"


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"birth_date": "1899-12-31"}, "birth_date_out_of_range", "birth_date"),
        ({"birth_date": TOMORROW}, "birth_date_out_of_range", "birth_date"),
        ({"birth_date": "2999-01-01"}, "birth_date_out_of_range", "birth_date"),
        ({"home": {"lat": 35.1796, "lon": 129.0756}}, "home_outside_seoul", "home"),  # Busan
        ({"home": {"lat": 0, "lon": 0}}, "home_outside_seoul", "home"),
        # Inside the box round Seoul, but 과천, over the city line: the true boundary decides.
        ({"home": {"lat": 37.429, "lon": 126.988}}, "home_outside_seoul", "home"),
    ],
)
async def test_a_birth_date_not_yet_come_or_before_1900_and_a_home_outside_seoul_are_422(
    client, worker, settings, overrides, code, field
):
    overrides = {k: _seoul_days_from_today(1) if v == TOMORROW else v for k, v in overrides.items()}
    response = await client.post("/v1/care/recipients", json=body(**overrides), headers=worker)
    assert response.status_code == 422, response.text
    refused = problem(response)
    assert (refused["code"], refused["field"]) == (code, field)
    assert f"`{field}`" in refused["detail"]
    conn = await asyncpg.connect(settings.db.url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM care_recipients") == 0
    finally:
        await conn.close()


async def test_a_birth_date_of_today_is_taken(client, worker):
    person = await enrolled(client, worker, birth_date=_seoul_days_from_today(0))
    assert person["birth_date"] == _seoul_days_from_today(0)


async def test_staff_of_another_district_cannot_enrol_or_read(client, worker, token_for):
    other = bearer(token_for(Role.social_worker, districts=("11680",), subject="social_worker:other"))
    refused = await client.post("/v1/care/recipients", json=body(), headers=other)
    assert refused.status_code == 403
    assert problem(refused)["code"] == "district_not_served"
    person = await enrolled(client, worker)
    assert (await client.get(f"/v1/care/recipients/{person['id']}", headers=other)).status_code == 404
    assert (await client.get(f"/v1/care/recipients/{person['id']}", headers=worker)).status_code == 200


async def test_the_person_checks_in_from_the_app_and_asks_for_help(client, worker):
    await enrolled(client, worker)
    token = await sign_in(client, PERSON)
    checkin = await client.post("/v1/care/checkins", headers=bearer(token))
    assert checkin.status_code == 201
    assert checkin.json()["counted"] is True

    helped = await client.post("/v1/care/help", headers=bearer(token))
    assert helped.status_code == 201
    assert helped.json()["new_case"] is True
    cases = await client.get("/v1/care/cases", headers=worker)
    [case] = cases.json()
    assert (case["reason"], case["priority"]) == ("help_request", "urgent")


async def test_someone_not_enrolled_cannot_check_in(client, worker):
    await enrolled(client, worker)
    stranger = await sign_in(client, "010-1111-9999")
    response = await client.post("/v1/care/checkins", headers=bearer(stranger))
    assert response.status_code == 404
    assert problem(response)["code"] == "not_enrolled"


async def test_a_home_sensor_counts_only_where_the_plan_allows(client, worker, token_for):
    sensors = bearer(token_for(Role.service, subject="service:sensors", scopes=(Scope.sensors_write,)))
    allows = await enrolled(client, worker)
    refuses = await enrolled(client, worker, phone="010-2468-0000", plan={**PLAN, "accept_signals": False})
    for person, counted in ((allows, True), (refuses, False)):
        signal = {"recipient_id": person["id"], "device_id": f"motion-kitchen-{person['id']}", "kind": "motion"}
        response = await client.post("/v1/care/signals", json=signal, headers=sensors)
        assert response.status_code == 201
        assert response.json()["counted"] is counted
    citizen = await client.post(
        "/v1/care/signals", json=signal, headers=bearer(token_for(Role.citizen, subject="citizen:1"))
    )
    assert citizen.status_code == 403


async def test_only_a_sensors_token_may_post_signs_of_life(client, worker, token_for, settings):
    person = await enrolled(client, worker)
    signal = {"recipient_id": person["id"], "device_id": "motion-kitchen", "kind": "motion"}
    for scopes in ((), (Scope.open311_submit,), (Scope.chatbot, Scope.alerts_publish)):
        other = bearer(token_for(Role.service, subject="service:other", scopes=scopes))
        response = await client.post("/v1/care/signals", json=signal, headers=other)
        assert response.status_code == 403
        assert problem(response)["scope"] == "sensors:write"
    conn = await asyncpg.connect(settings.db.url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM checkins") == 0
    finally:
        await conn.close()


async def test_a_plan_is_paused_with_a_reason_and_replaced(client, worker):
    person = await enrolled(client, worker)
    paused = await client.post(
        f"/v1/care/recipients/{person['id']}/pause",
        json={"reason": "입원", "until": "2099-01-01T00:00:00+09:00"},
        headers=worker,
    )
    assert paused.status_code == 200
    assert paused.json()["plan"]["pause_reason"] == "입원"
    past = await client.post(
        f"/v1/care/recipients/{person['id']}/pause",
        json={"reason": "x", "until": "2000-01-01T00:00:00Z"},
        headers=worker,
    )
    assert past.status_code == 422
    replaced = await client.put(f"/v1/care/recipients/{person['id']}/plan", json={"times": ["08:00"]}, headers=worker)
    assert replaced.status_code == 200
    assert replaced.json()["plan"]["times"] == ["08:00"]


async def test_staff_reads_are_audited(client, worker, settings):
    import asyncpg

    person = await enrolled(client, worker)
    await client.get(f"/v1/care/recipients/{person['id']}", headers=worker)
    conn = await asyncpg.connect(settings.db.url)
    try:
        actions = [r["action"] for r in await conn.fetch("SELECT action FROM audit_log ORDER BY id")]
    finally:
        await conn.close()
    assert actions == ["recipient.enroll", "recipient.read"]


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    import msgspec

    from api.platform.settings import NotifySettings

    return msgspec.structs.replace(
        settings,
        twilio=TwilioSettings(auth_token="care-test-token"),
        notify=NotifySettings(public_url="http://safecity.test"),
    )


async def test_an_sms_reply_from_an_enrolled_number_is_a_check_in(client, worker, settings):
    await enrolled(client, worker)
    params = {"MessageSid": "SM" + "9" * 32, "From": "+821024681357", "To": "+15005550006", "Body": "괜찮아요"}
    url = "http://safecity.test/webhooks/twilio/sms"
    signature = RequestValidator("care-test-token").compute_signature(url, params)
    response = await client.post("/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    import asyncpg

    conn = await asyncpg.connect(settings.db.url)
    try:
        row = await conn.fetchrow("SELECT channel, kind, body FROM checkins")
        handled = await conn.fetchval("SELECT handled_by FROM sms_inbound")
    finally:
        await conn.close()
    assert (row["channel"], row["kind"], row["body"]) == ("sms", "checkin", "괜찮아요")
    assert handled == "care.checkin"
