"""The reporter's word: the operator's reason reaches reporters, who choose how often they hear; "fixed?" after
a resolve (a "no" within 14 days reopens, later it is only recorded, a stranger gets 403); "me too"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar

from api.hazards.schemas import Status
from api.hazards.word import REOPEN_WINDOW, why_not_reopened
from api.platform.auth.tokens import Role
from api.platform.settings import Settings
from notifications import korean_text
from tests.conftest import bearer, problem
from tests.hazards import CITY_HALL, hazards_app, make_citizen, north_of, report_body

ADMIN = "/v1/admin/incidents"


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return hazards_app(settings)


@pytest.fixture
def operator(token_for):  # type: ignore[no-untyped-def]
    return bearer(token_for(Role.operator))


@pytest.fixture
def citizen(pool, token_for):  # type: ignore[no-untyped-def]
    async def make(phone: str, language: str = "ko") -> tuple[int, dict[str, str]]:
        citizen_id = await make_citizen(pool, phone, language=language)
        return citizen_id, bearer(token_for(Role.citizen, subject=f"citizen:{citizen_id}"))

    return make


async def reported(client, headers, point=CITY_HALL, **overrides) -> dict:  # type: ignore[no-untyped-def]
    response = await client.post("/v1/hazard-reports", json=report_body(point, **overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def move(client, operator, incident, *statuses, reason=None):  # type: ignore[no-untyped-def]
    for status in statuses:
        body = {"status": status} | ({"reason": reason} if reason else {})
        response = await client.post(f"{ADMIN}/{incident}/status", json=body, headers=operator)
        assert response.status_code == 200, response.text


async def bodies(pool, citizen_id: int) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    rows = await pool.fetch("SELECT template, body FROM outbox WHERE citizen_id = $1 ORDER BY id", citizen_id)
    return [(r["template"], r["body"]) for r in rows]


async def test_the_reason_reaches_reporters_who_hear_as_often_as_they_chose(client, pool, citizen, operator):
    kim_id, kim = await citizen("+821044440001", "ko")
    amy_id, amy = await citizen("+821044440002", "en")
    kims = await reported(client, kim)
    amys = await reported(client, amy, north_of(CITY_HALL, 10), updates="end")
    assert amys["updates"] == "end"
    incident = kims["incident"]["id"]
    await move(client, operator, incident, "acknowledged", reason="구청 도로과가 현장을 확인합니다")
    await move(client, operator, incident, "in_progress", "resolved", reason="응급 복구를 마쳤습니다")

    kim_hears = await bodies(pool, kim_id)
    assert [t for t, _ in kim_hears] == ["hazards.acknowledged", "hazards.in_progress", "hazards.resolved"]
    assert "사유: 구청 도로과가 현장을 확인합니다" in kim_hears[0][1]
    assert f"신고번호 {kims['id']}" in kim_hears[0][1] and f"{incident}" not in kim_hears[0][1].split("신고번호")[0]
    assert "고쳐졌나요?" in kim_hears[2][1]
    # Amy chose only the end: one message, in English, citing her own report number.
    [(template, body)] = await bodies(pool, amy_id)
    assert template == "hazards.resolved"
    assert f"report #{amys['id']}" in body and "Reason: 응급 복구를 마쳤습니다" in body and "Is it fixed?" in body
    # Korean SMS carry only EUC-KR characters.
    for _, text in kim_hears:
        assert korean_text.encodable(text)

    # A reporter may change their mind afterwards; someone else's report is not theirs to change.
    changed = await client.patch(f"/v1/hazard-reports/{kims['id']}", json={"updates": "end"}, headers=kim)
    assert changed.status_code == 200 and changed.json()["updates"] == "end"
    assert (
        await client.patch(f"/v1/hazard-reports/{kims['id']}", json={"updates": "end"}, headers=amy)
    ).status_code == 404
    bad = await client.patch(f"/v1/hazard-reports/{kims['id']}", json={"updates": "weekly"}, headers=kim)
    assert bad.status_code == 400 and "every" in problem(bad)["detail"] and "end" in problem(bad)["detail"]


async def test_a_no_within_14_days_reopens_with_the_note(client, pool, citizen, operator):
    kim_id, kim = await citizen("+821044440003")
    lee_id, lee = await citizen("+821044440004")
    _, stranger = await citizen("+821044440005")
    incident = (await reported(client, kim))["incident"]["id"]
    await reported(client, lee, north_of(CITY_HALL, 10))
    url = f"/v1/incidents/{incident}/feedback"

    early = await client.post(url, json={"fixed": False}, headers=kim)
    assert early.status_code == 409  # not resolved yet: nothing to answer
    await move(client, operator, incident, "acknowledged", "in_progress", "resolved")

    refused = await client.post(url, json={"fixed": False, "note": "still there"}, headers=stranger)
    assert refused.status_code == 403 and problem(refused)["code"] == "not_a_reporter"

    answer = await client.post(url, json={"fixed": False, "note": "아직 구멍이 있어요"}, headers=kim)
    assert answer.status_code == 200, answer.text
    assert answer.json() | {"answered_at": None} == {
        "incident_id": incident,
        "fixed": False,
        "note": "아직 구멍이 있어요",
        "answered_at": None,
        "reopened": True,
        "not_reopened_because": None,
        "status": "acknowledged",
    }
    detail = (await client.get(f"{ADMIN}/{incident}", headers=operator)).json()
    assert (detail["status"], detail["status_reason"], detail["handled_at"]) == (
        "acknowledged",
        "아직 구멍이 있어요",
        None,
    )
    # Lee, who hears of every change, is told it was reopened; Kim, who said so, is not told again.
    assert [t for t, _ in await bodies(pool, lee_id)][-1] == "hazards.reopened"
    assert [t for t, _ in await bodies(pool, kim_id)][-1] == "hazards.resolved"

    again = await client.post(url, json={"fixed": False, "note": "아직 구멍이 있어요"}, headers=kim)
    assert again.status_code == 200 and again.json()["reopened"] is True  # the same answer, not a second reopen
    assert await pool.fetchval("SELECT count(*) FROM hazard_incident_events WHERE kind = 'reopen'") == 1


async def test_a_no_after_14_days_is_recorded_and_reopens_nothing(client, pool, citizen, operator):
    _, kim = await citizen("+821044440006")
    incident = (await reported(client, kim))["incident"]["id"]
    await move(client, operator, incident, "acknowledged", "in_progress", "resolved")
    await pool.execute(
        "UPDATE hazard_incident_events SET at = at - interval '15 days'"
        " WHERE incident_id = $1 AND to_status = 'resolved'",
        incident,
    )
    answer = await client.post(
        f"/v1/incidents/{incident}/feedback", json={"fixed": False, "note": "여전해요"}, headers=kim
    )
    assert answer.status_code == 200
    assert (answer.json()["reopened"], answer.json()["not_reopened_because"], answer.json()["status"]) == (
        False,
        "after_14_days",
        "resolved",
    )
    assert await pool.fetchval("SELECT note FROM hazard_feedback WHERE incident_id = $1", incident) == "여전해요"


async def test_me_too_adds_weight_not_a_report_and_hears_the_end(client, pool, citizen, operator):
    _, kim = await citizen("+821044440007")
    park_id, park = await citizen("+821044440008", "en")
    report = await reported(client, kim)
    incident = report["incident"]["id"]
    for _ in range(2):  # following again changes nothing
        followed = await client.put(f"/v1/incidents/{incident}/follow", headers=park)
        assert followed.status_code == 200, followed.text
        assert (followed.json()["followers"], followed.json()["weight"]) == (1, 2)
    # Kim following her own incident adds no one.
    assert (await client.put(f"/v1/incidents/{incident}/follow", headers=kim)).json()["weight"] == 2
    detail = (await client.get(f"{ADMIN}/{incident}", headers=operator)).json()
    assert (detail["report_count"], detail["weight"]) == (1, 2)

    await move(client, operator, incident, "acknowledged", "in_progress")
    assert await bodies(pool, park_id) == []  # followers hear of the end
    await move(client, operator, incident, "resolved", reason="Filled and paved")
    [(template, body)] = await bodies(pool, park_id)
    assert template == "hazards.followed_resolved" and f"incident #{incident}" in body and "Filled and paved" in body

    closed = await client.put(f"/v1/incidents/{incident}/follow", headers=park)
    assert closed.status_code == 409
    assert (await client.put("/v1/incidents/999999/follow", headers=park)).status_code == 404
    # A follower is not a reporter: their "no" is refused.
    assert (
        await client.post(f"/v1/incidents/{incident}/feedback", json={"fixed": False}, headers=park)
    ).status_code == 403


NOW = datetime(2026, 12, 1, tzinfo=UTC)


@given(
    fixed=st.booleans(),
    status=st.sampled_from([s.value for s in Status]),
    age=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
)
def test_the_reopen_rule(fixed: bool, status: str, age: timedelta) -> None:
    """Invariant: an answer reopens exactly when it is a "no", the incident is resolved now, and it was resolved
    at most 14 days ago; a "yes" never reopens; nothing reopens after 14 days."""
    because = why_not_reopened(fixed=fixed, status=status, resolved_at=NOW - age, now=NOW)
    reopens = because is None
    assert reopens == ((not fixed) and status == "resolved" and age <= REOPEN_WINDOW)
    if age > REOPEN_WINDOW:
        assert not reopens
