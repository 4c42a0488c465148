"""The social workers' case queue, and the case SQL the escalation sweep uses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from api.platform.auth.tokens import Role
from care.cases import repository
from tests.conftest import bearer, problem

# Cases are opened in the recent past: the routes judge "overdue" by the real clock.
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
SLA = timedelta(minutes=30)
HOUR = timedelta(hours=1)
CASES = "/v1/care/cases"

MakeRecipient = Callable[..., Awaitable[int]]


@pytest.fixture
def make_recipient(pool: asyncpg.Pool) -> MakeRecipient:
    """Enrol a person living alone; their id."""
    counter = iter(range(10_000_000))

    async def make(*, district: str = "11110", name: str | None = None) -> int:
        n = next(counter)
        return await pool.fetchval(
            """
            INSERT INTO care_recipients (name, phone, language, district, address, contact_by,
                                         consent_by, consent_at, consent_scope, enrolled_by)
            VALUES ($1, $2, 'ko', $3, $4, 'sms', $1, $5, 'check-ins and escalation to social workers', 'staff:1')
            RETURNING id
            """,
            name or f"김영희{n}",
            f"+8210{7000_0000 + n:08d}",
            district,
            f"서울 {district} {n}번지",
            T0 - timedelta(days=30),
        )

    return make


async def open_case(
    pool: asyncpg.Pool, recipient_id: int, *, slot_at: datetime, priority: str = "high", now: datetime | None = None
) -> int:
    async with pool.acquire() as conn:
        [row] = await repository.open_missed_cases(
            conn, rows=[(recipient_id, slot_at)], priority=priority, now=now or slot_at, sla=SLA
        )
    return row["id"]


async def audit_rows(pool: asyncpg.Pool, action: str | None = None) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT actor, action, recipient_id, case_id, detail FROM audit_log WHERE $1::text IS NULL OR action = $1"
        " ORDER BY id",
        action,
    )


@pytest.fixture
def jongno(token_for) -> dict[str, str]:
    """A social worker of Jongno-gu (11110)."""
    return bearer(token_for(Role.social_worker, districts=("11110",), subject="worker:kim"))


@pytest.fixture
def operator(token_for) -> dict[str, str]:
    return bearer(token_for(Role.operator, subject="operator:lee"))


@pytest.fixture
async def queue(pool, make_recipient) -> dict[str, int]:
    """Cases in Jongno-gu (11110) and one in Jung-gu (11140)."""
    a, b, c = [await make_recipient() for _ in range(3)]
    d = await make_recipient(district="11140")
    return {
        "old_normal": await open_case(pool, a, slot_at=T0, priority="normal"),
        "new_urgent": await open_case(pool, b, slot_at=T0 + 2 * HOUR, priority="urgent"),
        "old_urgent": await open_case(pool, c, slot_at=T0 + HOUR, priority="urgent"),
        "newer_high": await open_case(pool, a, slot_at=T0 + 3 * HOUR, priority="high"),
        "jung": await open_case(pool, d, slot_at=T0, priority="urgent"),
    }


async def test_a_social_worker_sees_only_their_districts_urgent_first_then_oldest(client, jongno, queue):
    response = await client.get(CASES, headers=jongno)
    assert response.status_code == 200, response.text
    ids = [c["id"] for c in response.json()]
    assert ids == [queue["old_urgent"], queue["new_urgent"], queue["newer_high"], queue["old_normal"]]


async def test_a_listed_case_shows_the_person_and_its_deadline(client, jongno, queue, pool):
    case = next(c for c in (await client.get(CASES, headers=jongno)).json() if c["id"] == queue["old_normal"])
    recipient = await pool.fetchrow("SELECT * FROM care_recipients WHERE id = $1", case["recipient"]["id"])
    assert case["recipient"] == {
        "id": recipient["id"],
        "name": recipient["name"],
        "district": "11110",
        "phone": recipient["phone"],
        "address": recipient["address"],
    }
    assert (case["reason"], case["priority"], case["state"], case["district"]) == (
        "missed_checkin",
        "normal",
        "open",
        "11110",
    )
    assert datetime.fromisoformat(case["slot_at"]) == T0
    assert datetime.fromisoformat(case["sla_due_at"]) == T0 + SLA
    assert case["overdue"] is True
    assert case["all_clear_at"] is None and case["outcome"] is None and case["acknowledged_by"] is None


async def test_a_case_not_yet_due_is_not_overdue(client, jongno, pool, make_recipient):
    now = datetime.now(UTC)
    case_id = await open_case(pool, await make_recipient(), slot_at=now - HOUR, now=now)
    [case] = (await client.get(CASES, headers=jongno)).json()
    assert (case["id"], case["overdue"]) == (case_id, False)


async def test_an_operator_sees_every_district_and_may_pick_one(client, operator, queue):
    assert len((await client.get(CASES, headers=operator)).json()) == 5
    response = await client.get(CASES, params={"district": "11140"}, headers=operator)
    assert [c["id"] for c in response.json()] == [queue["jung"]]


async def test_a_social_worker_may_pick_only_their_own_district(client, token_for, queue):
    both = bearer(token_for(Role.social_worker, districts=("11110", "11140"), subject="worker:park"))
    assert len((await client.get(CASES, headers=both)).json()) == 5
    assert [c["id"] for c in (await client.get(CASES, params={"district": "11140"}, headers=both)).json()] == [
        queue["jung"]
    ]

    jongno_only = bearer(token_for(Role.social_worker, districts=("11110",), subject="worker:kim"))
    response = await client.get(CASES, params={"district": "11140"}, headers=jongno_only)
    assert response.status_code == 403
    assert problem(response)["code"] == "district_not_served"


async def test_the_list_is_limited(client, operator, queue):
    assert len((await client.get(CASES, params={"limit": 2}, headers=operator)).json()) == 2
    assert (await client.get(CASES, params={"limit": 0}, headers=operator)).status_code == 400
    assert (await client.get(CASES, params={"limit": 201}, headers=operator)).status_code == 400


async def test_citizens_and_services_may_not_see_cases(client, token_for, queue):
    for role in (Role.citizen, Role.service):
        response = await client.get(CASES, headers=bearer(token_for(role)))
        assert response.status_code == 403
        problem(response)


async def test_open_cases_come_before_acknowledged_and_resolved_ones_are_hidden(client, jongno, queue):
    await client.post(f"{CASES}/{queue['old_urgent']}/acknowledge", headers=jongno)
    await client.post(f"{CASES}/{queue['old_normal']}/resolve", json={"outcome": "visited"}, headers=jongno)

    ids = [c["id"] for c in (await client.get(CASES, headers=jongno)).json()]
    assert ids == [queue["new_urgent"], queue["newer_high"], queue["old_urgent"]]

    resolved = (await client.get(CASES, params={"state": "resolved"}, headers=jongno)).json()
    assert [c["id"] for c in resolved] == [queue["old_normal"]]
    assert (resolved[0]["outcome"], resolved[0]["resolved_by"]) == ("visited", "worker:kim")
    acknowledged = (await client.get(CASES, params={"state": "acknowledged"}, headers=jongno)).json()
    assert [c["id"] for c in acknowledged] == [queue["old_urgent"]]
    assert (await client.get(CASES, params={"state": "closed"}, headers=jongno)).status_code == 400


async def test_another_districts_case_is_not_found_whatever_is_asked(client, jongno, queue, pool):
    jung = queue["jung"]
    for response in (
        await client.get(f"{CASES}/{jung}", headers=jongno),
        await client.post(f"{CASES}/{jung}/acknowledge", headers=jongno),
        await client.post(f"{CASES}/{jung}/notes", json={"body": "전화 드림"}, headers=jongno),
        await client.post(f"{CASES}/{jung}/resolve", json={"outcome": "visited"}, headers=jongno),
        await client.get(f"{CASES}/999999", headers=jongno),
    ):
        assert response.status_code == 404, response.text
        assert problem(response)["code"] == "case_not_found"
    assert await pool.fetchval("SELECT state FROM cases WHERE id = $1", jung) == "open"
    assert await pool.fetchval("SELECT count(*) FROM case_notes") == 0
    assert await audit_rows(pool) == []


async def test_a_case_reads_with_its_notes_and_the_last_ten_checkins(client, jongno, queue, pool):
    case_id = queue["old_normal"]
    recipient_id = await pool.fetchval("SELECT recipient_id FROM cases WHERE id = $1", case_id)
    await pool.executemany(
        "INSERT INTO checkins (recipient_id, channel, kind, body, at) VALUES ($1, 'sms', 'message', $2, $3)",
        [(recipient_id, f"잘 지내요 {i}", T0 - timedelta(days=i)) for i in range(12)],
    )
    await client.post(f"{CASES}/{case_id}/notes", json={"body": "첫 통화: 받지 않음"}, headers=jongno)
    await client.post(f"{CASES}/{case_id}/notes", json={"body": "방문 예정"}, headers=jongno)

    response = await client.get(f"{CASES}/{case_id}", headers=jongno)
    assert response.status_code == 200, response.text
    case = response.json()
    assert case["id"] == case_id and case["recipient"]["id"] == recipient_id
    assert [(n["author"], n["body"]) for n in case["notes"]] == [
        ("worker:kim", "첫 통화: 받지 않음"),
        ("worker:kim", "방문 예정"),
    ]
    assert [c["body"] for c in case["checkins"]] == [f"잘 지내요 {i}" for i in range(10)]
    assert set(case["checkins"][0]) == {"channel", "kind", "body", "at"}


async def test_acknowledging_takes_the_case_and_again_changes_nothing(client, jongno, queue, token_for):
    case_id = queue["old_urgent"]
    first = await client.post(f"{CASES}/{case_id}/acknowledge", headers=jongno)
    assert first.status_code == 200, first.text
    assert (first.json()["state"], first.json()["acknowledged_by"], first.json()["overdue"]) == (
        "acknowledged",
        "worker:kim",
        False,
    )

    colleague = bearer(token_for(Role.social_worker, districts=("11110",), subject="worker:choi"))
    again = await client.post(f"{CASES}/{case_id}/acknowledge", headers=colleague)
    assert again.status_code == 200
    assert again.json() == first.json()


async def test_a_resolved_case_cannot_be_acknowledged_or_resolved_again(client, jongno, queue):
    case_id = queue["new_urgent"]
    resolved = await client.post(
        f"{CASES}/{case_id}/resolve", json={"outcome": "reached_by_phone", "note": "통화함: 괜찮으심"}, headers=jongno
    )
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["state"], body["outcome"], body["resolved_by"]) == ("resolved", "reached_by_phone", "worker:kim")
    assert body["resolved_at"] is not None

    for response in (
        await client.post(f"{CASES}/{case_id}/acknowledge", headers=jongno),
        await client.post(f"{CASES}/{case_id}/resolve", json={"outcome": "visited"}, headers=jongno),
    ):
        assert response.status_code == 409
        assert problem(response)["code"] == "case_resolved"
    case = (await client.get(f"{CASES}/{case_id}", headers=jongno)).json()
    assert case["outcome"] == "reached_by_phone"
    assert [n["body"] for n in case["notes"]] == ["통화함: 괜찮으심"]


async def test_a_note_is_created(client, jongno, queue):
    response = await client.post(f"{CASES}/{queue['old_normal']}/notes", json={"body": "보호자와 통화"}, headers=jongno)
    assert response.status_code == 201, response.text
    note = response.json()
    assert (note["case_id"], note["author"], note["body"]) == (queue["old_normal"], "worker:kim", "보호자와 통화")


@pytest.mark.parametrize("body", [{"body": ""}, {"body": "   "}, {"body": "x" * 4001}, {"text": "hi"}, {}])
async def test_a_bad_note_is_refused(client, jongno, queue, body):
    response = await client.post(f"{CASES}/{queue['old_normal']}/notes", json=body, headers=jongno)
    assert response.status_code == 400
    problem(response)


async def test_a_bad_outcome_names_the_field(client, jongno, queue, pool):
    response = await client.post(f"{CASES}/{queue['old_normal']}/resolve", json={"outcome": "fine"}, headers=jongno)
    assert response.status_code == 400
    body = problem(response)
    assert body["errors"][0]["field"] == "outcome"
    assert "Invalid enum value 'fine'" in body["detail"]
    assert await pool.fetchval("SELECT state FROM cases WHERE id = $1", queue["old_normal"]) == "open"


async def test_every_look_and_change_is_audited(client, jongno, queue, pool):
    case_id = queue["old_normal"]
    recipient_id = await pool.fetchval("SELECT recipient_id FROM cases WHERE id = $1", case_id)
    listed = [c["id"] for c in (await client.get(CASES, headers=jongno)).json()]
    await client.get(f"{CASES}/{case_id}", headers=jongno)
    await client.post(f"{CASES}/{case_id}/acknowledge", headers=jongno)
    note_id = (await client.post(f"{CASES}/{case_id}/notes", json={"body": "방문"}, headers=jongno)).json()["id"]
    await client.post(f"{CASES}/{case_id}/resolve", json={"outcome": "false_alarm"}, headers=jongno)

    rows = [dict(r) for r in await audit_rows(pool)]
    assert rows[0] == {
        "actor": "worker:kim",
        "action": "case.list",
        "recipient_id": None,
        "case_id": None,
        "detail": {"case_ids": listed},
    }
    assert [(r["action"], r["actor"], r["recipient_id"], r["case_id"]) for r in rows[1:]] == [
        (action, "worker:kim", recipient_id, case_id)
        for action in ("case.read", "case.acknowledge", "case.note", "case.resolve")
    ]
    assert rows[3]["detail"] == {"note_id": note_id}
    assert rows[4]["detail"] == {"outcome": "false_alarm"}


async def test_an_operator_works_any_districts_case(client, operator, queue):
    response = await client.post(f"{CASES}/{queue['jung']}/acknowledge", headers=operator)
    assert response.status_code == 200
    assert response.json()["acknowledged_by"] == "operator:lee"


async def test_missed_cases_open_once_per_slot(pool, make_recipient):
    a, b = await make_recipient(), await make_recipient(district="11140")
    async with pool.acquire() as conn:
        first = await repository.open_missed_cases(
            conn, rows=[(a, T0), (b, T0), (a, T0)], priority="high", now=T0 + HOUR, sla=SLA
        )
        again = await repository.open_missed_cases(
            conn, rows=[(a, T0), (b, T0 + HOUR)], priority="high", now=T0 + 2 * HOUR, sla=SLA
        )
        assert await repository.open_missed_cases(conn, rows=[], priority="high", now=T0, sla=SLA) == []
    assert sorted((r["recipient_id"], r["district"], r["slot_at"]) for r in first) == [
        (a, "11110", T0),
        (b, "11140", T0),
    ]
    assert [(r["recipient_id"], r["slot_at"]) for r in again] == [(b, T0 + HOUR)]
    rows = await pool.fetch("SELECT reason, priority, opened_at, sla_due_at FROM cases WHERE recipient_id = $1", a)
    assert [tuple(r) for r in rows] == [("missed_checkin", "high", T0 + HOUR, T0 + HOUR + SLA)]


async def test_unresolved_missed_cases_become_urgent_and_no_later_due(pool, make_recipient):
    a, b = await make_recipient(), await make_recipient()
    early = await open_case(pool, a, slot_at=T0, now=T0)
    late = await open_case(pool, b, slot_at=T0, now=T0)
    await pool.execute("UPDATE cases SET state = 'resolved', outcome = 'visited' WHERE id = $1", late)
    async with pool.acquire() as conn:
        raised = await repository.make_urgent(conn, rows=[(a, T0), (b, T0), (a, T0 + HOUR)], now=T0 + HOUR, sla=SLA)
    assert [(r["id"], r["recipient_id"], r["district"]) for r in raised] == [(early, a, "11110")]
    # Already due at T0 + SLA: making it urgent must not push the deadline later.
    row = await pool.fetchrow("SELECT priority, sla_due_at FROM cases WHERE id = $1", early)
    assert tuple(row) == ("urgent", T0 + SLA)

    async with pool.acquire() as conn:
        await repository.make_urgent(conn, rows=[(a, T0)], now=T0 - HOUR, sla=SLA)
    assert await pool.fetchval("SELECT sla_due_at FROM cases WHERE id = $1", early) == T0 - HOUR + SLA


async def test_a_call_for_help_joins_the_open_help_case(pool, make_recipient):
    a = await make_recipient()
    async with pool.acquire() as conn:
        first = await repository.open_help_case(conn, recipient_id=a, now=T0, sla=SLA)
        second = await repository.open_help_case(conn, recipient_id=a, now=T0 + HOUR, sla=SLA)
    assert first[1] is True
    assert second == (first[0], False)
    row = await pool.fetchrow(
        "SELECT reason, priority, district, slot_at, sla_due_at FROM cases WHERE id = $1", first[0]
    )
    assert tuple(row) == ("help_request", "urgent", "11110", None, T0 + SLA)

    await pool.execute("UPDATE cases SET state = 'resolved', outcome = 'false_alarm' WHERE id = $1", first[0])
    async with pool.acquire() as conn:
        third = await repository.open_help_case(conn, recipient_id=a, now=T0 + 2 * HOUR, sla=SLA)
        with pytest.raises(LookupError):
            await repository.open_help_case(conn, recipient_id=999_999, now=T0, sla=SLA)
    assert third[1] is True and third[0] != first[0]


async def test_clear_missed_marks_every_missed_check_in_once_and_gives_all_their_slots(pool, make_recipient):
    a = await make_recipient()
    morning = await open_case(pool, a, slot_at=T0)
    evening = await open_case(pool, a, slot_at=T0 + 2 * HOUR)
    async with pool.acquire() as conn:
        help_case, _ = await repository.open_help_case(conn, recipient_id=a, now=T0, sla=SLA)
        cleared = await repository.clear_missed(conn, recipient_id=a, now=T0 + 3 * HOUR, note="앱으로 응답")
        again = await repository.clear_missed(conn, recipient_id=a, now=T0 + 4 * HOUR, note="문자로 응답")
    assert cleared == repository.MissedCleared(open_slots=[T0, T0 + 2 * HOUR], cleared=[morning, evening])
    # Still open, so their ladders are still quieted, but the second sign of life notes nothing more.
    assert again == repository.MissedCleared(open_slots=[T0, T0 + 2 * HOUR], cleared=[])
    assert await pool.fetchval("SELECT all_clear_at FROM cases WHERE id = $1", morning) == T0 + 3 * HOUR
    notes = await pool.fetch("SELECT case_id, author, body, created_at FROM case_notes ORDER BY case_id")
    assert [tuple(n) for n in notes] == [
        (morning, "system", "앱으로 응답", T0 + 3 * HOUR),
        (evening, "system", "앱으로 응답", T0 + 3 * HOUR),
    ]
    # A help request is not a missed check-in: a sign of life does not clear it.
    assert await pool.fetchval("SELECT all_clear_at FROM cases WHERE id = $1", help_case) is None


async def test_add_note_returns_the_note(pool, make_recipient):
    case_id = await open_case(pool, await make_recipient(), slot_at=T0)
    async with pool.acquire() as conn:
        note = await repository.add_note(conn, case_id=case_id, author="system", body="보호자에게 알림", now=T0)
    assert (note["case_id"], note["author"], note["body"], note["created_at"]) == (
        case_id,
        "system",
        "보호자에게 알림",
        T0,
    )
