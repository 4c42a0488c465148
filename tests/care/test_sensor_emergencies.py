"""Sensor emergencies: fire, smoke, gas and falls open an urgent case at once, tell the person on duty as a call for
help does, and the case says "119 신고 필요" until a worker records, in one click, that 119 was called."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.platform.auth.tokens import Role, Scope
from tests.care.test_on_duty import add_staff, phones, set_rota
from tests.conftest import bearer, problem


@pytest.fixture
def sensors(token_for):  # type: ignore[no-untyped-def]
    return bearer(token_for(Role.service, subject="service:sensors", scopes=(Scope.sensors_write,)))


@pytest.fixture
def worker(token_for):  # type: ignore[no-untyped-def]
    return bearer(token_for(Role.social_worker, districts=("11110",)))


@pytest.fixture
def operator(token_for):  # type: ignore[no-untyped-def]
    return bearer(token_for(Role.operator))


async def enrol(client, worker, phone: str = "010-2468-1111") -> int:  # type: ignore[no-untyped-def]
    body = {
        "name": "박영희",
        "phone": phone,
        "district": "11110",
        "address": "서울 종로구 삼일대로 1",
        "guardians": [{"name": "박민수", "phone": "010-9876-1111", "relation": "아들"}],
        "plan": {"times": ["09:00"]},
    }
    response = await client.post("/v1/care/recipients", json=body, headers=worker)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def event(person: int, kind: str = "smoke", device: str = "smoke-kitchen", **extra):  # type: ignore[no-untyped-def]
    return {"recipient_id": person, "device_id": device, "kind": kind, **extra}


async def outbox(pool, template: str) -> list[str]:  # type: ignore[no-untyped-def]
    rows = await pool.fetch("SELECT recipient FROM outbox WHERE template = $1 ORDER BY id", template)
    return [r["recipient"] for r in rows]


async def test_smoke_opens_an_urgent_case_at_once_tells_the_one_on_duty_and_asks_for_119(
    client, sensors, worker, operator, pool
):
    staff = await add_staff(client, operator, 1)
    await set_rota(client, operator, "11110", [("mon 00:00", "mon 00:00", staff)])
    person = await enrol(client, worker)

    response = await client.post("/v1/care/sensor-events", json=event(person), headers=sensors)
    assert response.status_code == 201, response.text
    read = response.json()
    assert (read["new_case"], read["duplicate"], read["needs_119"]) == (True, False, True)

    case = (await client.get(f"/v1/care/cases/{read['case_id']}", headers=worker)).json()
    assert (case["reason"], case["priority"], case["rule"], case["device_id"]) == (
        "sensor_emergency",
        "urgent",
        "smoke",
        "smoke-kitchen",
    )
    assert case["needs_119"] is True and case["called_119_at"] is None
    # The same path as a call for help: the person on duty at once, every guardian, the person.
    assert await outbox(pool, "care.on_duty") == await phones(pool, staff)
    assert await outbox(pool, "sensor.emergency_guardian") == ["+821098761111"]
    assert await outbox(pool, "sensor.emergency_person") == ["+821024681111"]


async def test_recording_that_119_was_called_is_one_click_kept_once_audited_and_acknowledges(
    client, sensors, worker, pool
):
    person = await enrol(client, worker)
    case_id = (await client.post("/v1/care/sensor-events", json=event(person, "gas"), headers=sensors)).json()[
        "case_id"
    ]

    first = await client.post(f"/v1/care/cases/{case_id}/called-119", json={"note": "구급대 출동"}, headers=worker)
    assert first.status_code == 200, first.text
    assert first.json()["called_119_by"] == "social_worker:test"
    assert first.json()["state"] == "acknowledged"  # whoever called 119 has the case; the on-duty chain stops
    again = await client.post(f"/v1/care/cases/{case_id}/called-119", json={}, headers=worker)
    assert again.json()["called_119_at"] == first.json()["called_119_at"]

    audit = await pool.fetch("SELECT detail FROM audit_log WHERE action = 'case.called_119' ORDER BY id")
    assert [a["detail"]["recorded"] for a in audit] == [True, False]
    notes = await pool.fetch("SELECT body FROM case_notes WHERE case_id = $1", case_id)
    assert [n["body"] for n in notes] == ["119 신고함 (119 called): 구급대 출동"]


async def test_a_resent_event_is_a_duplicate_a_new_one_adds_to_the_open_case_another_kind_is_its_own(
    client, sensors, worker, pool
):
    person = await enrol(client, worker)
    at = (datetime.now(UTC) - timedelta(minutes=3)).isoformat()
    first = (await client.post("/v1/care/sensor-events", json=event(person, at=at), headers=sensors)).json()
    resent = (await client.post("/v1/care/sensor-events", json=event(person, at=at), headers=sensors)).json()
    assert (resent["case_id"], resent["duplicate"], resent["new_case"]) == (first["case_id"], True, False)

    later = (await client.post("/v1/care/sensor-events", json=event(person), headers=sensors)).json()
    assert (later["case_id"], later["duplicate"], later["new_case"]) == (first["case_id"], False, False)
    fall = (
        await client.post("/v1/care/sensor-events", json=event(person, "fall", "fall-bath"), headers=sensors)
    ).json()
    assert fall["new_case"] and fall["case_id"] != first["case_id"]

    assert await pool.fetchval("SELECT count(*) FROM sensor_events") == 3
    assert len(await outbox(pool, "sensor.emergency_guardian")) == 2  # one per case, not per event
    notes = await pool.fetch("SELECT body FROM case_notes WHERE case_id = $1", first["case_id"])
    assert len(notes) == 1 and "다시 감지: 연기" in notes[0]["body"]


async def test_bad_events_are_refused_saying_why(client, sensors, worker, token_for):
    person = await enrol(client, worker)
    other = await enrol(client, worker, phone="010-2468-2222")
    assert (await client.post("/v1/care/sensor-events", json=event(person), headers=sensors)).status_code == 201

    taken = await client.post("/v1/care/sensor-events", json=event(other), headers=sensors)
    assert taken.status_code == 409
    assert problem(taken)["code"] == "device_other_recipient"
    unknown = await client.post("/v1/care/sensor-events", json=event(person, "flood"), headers=sensors)
    assert unknown.status_code == 400 and "fire" in problem(unknown)["detail"]
    nobody = await client.post("/v1/care/sensor-events", json=event(99999, device="x"), headers=sensors)
    assert nobody.status_code == 404
    old = await client.post("/v1/care/sensor-events", json=event(person, at="1970-01-01T00:00:00Z"), headers=sensors)
    assert old.status_code == 422 and problem(old)["code"] == "signal_time_out_of_range"
    chatbot = bearer(token_for(Role.service, subject="service:bot", scopes=(Scope.chatbot,)))
    refused = await client.post("/v1/care/sensor-events", json=event(person), headers=chatbot)
    assert refused.status_code == 403 and problem(refused)["scope"] == "sensors:write"
