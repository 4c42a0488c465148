"""Operators' work on incidents: the status workflow and the messages it sends, merging and splitting."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from litestar import Litestar

from api.platform.auth.tokens import Role
from api.platform.settings import Settings
from tests.conftest import bearer, problem
from tests.hazards import CITY_HALL, hazards_app, make_citizen, north_of, report_body

ADMIN = "/v1/admin/incidents"


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return hazards_app(settings)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(settings.db.url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def operator(token_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return bearer(token_for(Role.operator))


@pytest.fixture
def citizen(db, token_for):  # type: ignore[no-untyped-def]
    async def make(phone: str, language: str = "ko") -> dict[str, str]:
        citizen_id = await make_citizen(db, phone, language=language)
        return bearer(token_for(Role.citizen, subject=f"citizen:{citizen_id}"))

    return make


async def reported(client, headers, point=CITY_HALL, **overrides) -> dict:  # type: ignore[no-untyped-def]
    response = await client.post("/v1/hazard-reports", json=report_body(point, **overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def set_status(client, operator, incident_id, status, reason=None):  # type: ignore[no-untyped-def]
    body = {"status": status} | ({"reason": reason} if reason else {})
    return await client.post(f"{ADMIN}/{incident_id}/status", json=body, headers=operator)


async def outbox(db: asyncpg.Connection, template: str) -> list[asyncpg.Record]:
    return await db.fetch(
        """
        SELECT o.channel, o.recipient, o.citizen_id, o.language, o.title, o.body, n.dedupe_key
        FROM outbox o JOIN notices n ON n.id = o.notice_id
        WHERE o.template = $1 ORDER BY o.citizen_id, o.channel
        """,
        template,
    )


async def test_every_status_change_tells_every_reporter_once_in_their_language(client, db, citizen, operator):
    kim = await citizen("+821022220001", "ko")
    amy = await citizen("+821022220002", "en")
    park = await citizen("+821022220003", "ko")
    first = await reported(client, kim)
    await reported(client, kim, north_of(CITY_HALL, 5))  # Kim twice: still one message for Kim
    amys = await reported(client, amy, north_of(CITY_HALL, 10))
    await reported(client, park, north_of(CITY_HALL, 15))
    park_id = await db.fetchval("SELECT id FROM citizens WHERE phone = '+821022220003'")
    await db.execute(
        "INSERT INTO devices (citizen_id, platform, fcm_token) VALUES ($1, 'android', $2)", park_id, "f" * 40
    )
    incident = first["incident"]["id"]

    for status in ("acknowledged", "in_progress", "resolved"):
        response = await set_status(client, operator, incident, status)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
        rows = await outbox(db, f"hazards.{status}")
        # Kim and Amy have no app: an SMS each; Park has the app: a push.
        assert [(r["channel"], r["recipient"], r["language"]) for r in rows] == [
            ("sms", "+821022220001", "ko"),
            ("sms", "+821022220002", "en"),
            ("push", "f" * 40, "ko"),
        ]
        # Each cites the reporter's own (first) report number, not the incident's.
        assert "싱크홀" in rows[0]["body"] and f"신고번호 {first['id']}" in rows[0]["body"]
        assert "Sinkhole" in rows[1]["body"] and f"report #{amys['id']}" in rows[1]["body"]
        assert len({r["dedupe_key"] for r in rows}) == 3
        assert all(r["dedupe_key"].startswith(f"hazard-status:{incident}:") for r in rows)

    mine = await client.get(f"/v1/hazard-reports/{first['id']}", headers=kim)
    assert mine.json()["incident"]["status"] == "resolved"


async def test_a_rejection_needs_a_reason_and_sends_it(client, db, citizen, operator):
    amy = await citizen("+821022220004", "en")
    incident = (await reported(client, amy))["incident"]["id"]
    missing = await set_status(client, operator, incident, "rejected")
    assert missing.status_code == 400
    assert "reason" in problem(missing)["detail"]
    assert await outbox(db, "hazards.rejected") == []

    response = await set_status(client, operator, incident, "rejected", "A utility company's planned works")
    assert response.status_code == 200
    assert response.json()["status_reason"] == "A utility company's planned works"
    [row] = await outbox(db, "hazards.rejected")
    assert row["language"] == "en"
    assert "Reason: A utility company's planned works" in row["body"]


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], "in_progress"),
        ([], "resolved"),
        (["acknowledged"], "resolved"),
        (["acknowledged"], "acknowledged"),
        (["acknowledged", "in_progress", "resolved"], "in_progress"),
        (["rejected"], "acknowledged"),
    ],
)
async def test_illegal_transitions_are_409_and_send_nothing(client, db, citizen, operator, path, illegal):
    kim = await citizen("+821022220005")
    incident = (await reported(client, kim))["incident"]["id"]
    for status in path:
        assert (await set_status(client, operator, incident, status, "reason")).status_code == 200
    sent = await db.fetchval("SELECT count(*) FROM outbox")
    response = await set_status(client, operator, incident, illegal, "reason")
    assert response.status_code == 409
    assert problem(response)["code"] == "illegal_status_transition"
    assert await db.fetchval("SELECT count(*) FROM outbox") == sent


@pytest.mark.parametrize("status", ["submitted", "merged", "done"])
async def test_statuses_an_operator_cannot_set_are_400(client, citizen, operator, status):
    incident = (await reported(client, await citizen("+821022220006")))["incident"]["id"]
    assert (await set_status(client, operator, incident, status)).status_code == 400


async def test_only_operators_work_incidents(client, citizen, token_for):
    kim = await citizen("+821022220007")
    incident = (await reported(client, kim))["incident"]["id"]
    worker = bearer(token_for(Role.social_worker, districts=("11140",)))
    for who in (kim, worker):
        assert (await set_status(client, who, incident, "acknowledged")).status_code == 403
    assert (await set_status(client, bearer(token_for(Role.operator)), 999999, "acknowledged")).status_code == 404


async def test_merging_moves_the_reports_and_closes_the_source(client, db, citizen, operator):
    kim, lee = await citizen("+821022220008"), await citizen("+821022220009")
    a = await reported(client, kim, public=True)
    b = await reported(client, lee, north_of(CITY_HALL, 300), public=True)
    source, target = a["incident"]["id"], b["incident"]["id"]
    response = await client.post(f"{ADMIN}/{source}/merge", json={"into": target}, headers=operator)
    assert response.status_code == 200, response.text
    merged = response.json()
    assert (merged["id"], merged["report_count"]) == (target, 2)
    assert sorted(r["id"] for r in merged["reports"]) == sorted([a["id"], b["id"]])
    gone = (await client.get(f"{ADMIN}/{source}", headers=operator)).json()
    assert (gone["status"], gone["merged_into"], gone["report_count"]) == ("merged", target, 0)
    # Kim now follows the merged incident, and hears of it.
    assert (await client.get(f"/v1/hazard-reports/{a['id']}", headers=kim)).json()["incident"]["id"] == target
    await set_status(client, operator, target, "acknowledged")
    assert len(await outbox(db, "hazards.acknowledged")) == 2
    # The public map no longer shows the merged one, but the one it went into.
    shown = [f["id"] for f in (await client.get("/v1/incidents")).json()["features"]]
    assert source not in shown and target in shown

    again = await client.post(f"{ADMIN}/{source}/merge", json={"into": target}, headers=operator)
    assert again.status_code == 409
    itself = await client.post(f"{ADMIN}/{target}/merge", json={"into": target}, headers=operator)
    assert itself.status_code == 400


async def test_splitting_moves_reports_to_a_new_incident(client, citizen, operator):
    kim, lee, choi = [await citizen(f"+82102222001{n}") for n in range(3)]
    a = await reported(client, kim)
    b = await reported(client, lee, north_of(CITY_HALL, 30))
    c = await reported(client, choi, north_of(CITY_HALL, 40))
    incident = a["incident"]["id"]
    assert b["incident"]["id"] == c["incident"]["id"] == incident

    url = f"{ADMIN}/{incident}/split"
    response = await client.post(url, json={"report_ids": [c["id"], b["id"]]}, headers=operator)
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["id"] != incident
    assert (new["status"], new["report_count"]) == ("submitted", 2)
    assert (new["lat"], new["lon"]) == (b["location"]["lat"], b["location"]["lon"])  # the earliest moved report
    left = (await client.get(f"{ADMIN}/{incident}", headers=operator)).json()
    assert [r["id"] for r in left["reports"]] == [a["id"]]

    taking_all = await client.post(url, json={"report_ids": [a["id"]]}, headers=operator)
    assert taking_all.status_code == 409
    strangers = await client.post(url, json={"report_ids": [b["id"]]}, headers=operator)
    assert strangers.status_code == 400
    assert str(b["id"]) in problem(strangers)["detail"]
    assert (await client.post(url, json={"report_ids": []}, headers=operator)).status_code == 400
