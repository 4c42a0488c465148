"""The console's pages through the HTTP client: district isolation, actions and their CSRF, audit, forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from api.alerts.cap import parse_cap
from api.alerts.service import ingest
from api.platform.jobs.runner import run_job
from api.worker import JOBS
from care.cases import repository as cases_repository
from tests.alerts import cap_xml
from tests.console.conftest import csrf_of, enroll, sign_in

NOW = datetime.now(UTC).replace(microsecond=0)


async def open_case(pool: asyncpg.Pool, recipient_id: int, *, ago: timedelta, priority: str = "high") -> int:
    async with pool.acquire() as conn:
        [row] = await cases_repository.open_missed_cases(
            conn, rows=[(recipient_id, NOW - ago)], priority=priority, now=NOW - ago, sla=timedelta(hours=1)
        )
    return row["id"]


def case_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-case-id="(\d+)"', html)]


@pytest.fixture
async def cases(pool) -> dict[str, int]:
    """Three cases in Jongno-gu (11110), one in Jung-gu (11140)."""
    a = await enroll(pool, phone="010-1111-0001", name="김하나")
    b = await enroll(pool, phone="010-1111-0002", name="이두리")
    c = await enroll(pool, phone="010-1111-0003", name="박세리")
    d = await enroll(pool, phone="010-1111-0004", name="최중구", district="11140")
    return {
        "old_high": await open_case(pool, a, ago=timedelta(hours=3)),
        "new_urgent": await open_case(pool, b, ago=timedelta(minutes=5), priority="urgent"),
        "new_normal": await open_case(pool, c, ago=timedelta(minutes=10), priority="normal"),
        "jung": await open_case(pool, d, ago=timedelta(hours=1), priority="urgent"),
    }


async def test_the_queue_shows_the_districts_cases_urgent_first_then_oldest_with_the_sla(client, make_staff, cases):
    await make_staff("kim@seoul.go.kr")
    await sign_in(client, "kim@seoul.go.kr")
    page = await client.get("/console/queue")
    assert page.status_code == 200
    assert case_ids(page.text) == [cases["new_urgent"], cases["old_high"], cases["new_normal"]]
    assert "최중구" not in page.text
    # Opened three hours ago with an hour's SLA: overdue, and marked so.
    row = re.search(rf'<tr class="([^"]+)"\s+data-case-id="{cases["old_high"]}"', page.text)
    assert row and "overdue" in row.group(1)
    assert "기한 초과" in page.text


async def test_the_queue_filters_by_priority_state_and_district(client, make_staff, cases, pool):
    await make_staff("kim@seoul.go.kr", districts=("11110", "11140"))
    await sign_in(client, "kim@seoul.go.kr")
    assert case_ids((await client.get("/console/queue?priority=urgent")).text) == [cases["jung"], cases["new_urgent"]]
    assert case_ids((await client.get("/console/queue?district=11140")).text) == [cases["jung"]]
    await pool.execute("UPDATE cases SET state = 'acknowledged' WHERE id = $1", cases["old_high"])
    assert case_ids((await client.get("/console/queue?state=acknowledged")).text) == [cases["old_high"]]
    # A district not served is not a way in: it shows the worker's own.
    await make_staff("lee@seoul.go.kr", districts=("11140",))
    await sign_in(client, "lee@seoul.go.kr")
    assert case_ids((await client.get("/console/queue?district=11110")).text) == [cases["jung"]]


async def test_a_social_worker_of_another_district_sees_nothing_of_a_case(client, make_staff, cases, pool):
    await make_staff("park@seoul.go.kr", districts=("11170",))
    await sign_in(client, "park@seoul.go.kr")
    assert case_ids((await client.get("/console/queue")).text) == []
    page = await client.get(f"/console/cases/{cases['old_high']}")
    assert page.status_code == 404 and "김하나" not in page.text
    people = await client.get("/console/people")
    assert "김하나" not in people.text and "최중구" not in people.text
    form = await client.get("/console/queue")
    token = csrf_of(form.text)
    refused = await client.post(f"/console/cases/{cases['old_high']}/acknowledge", data={"csrf": token})
    assert refused.status_code == 404
    assert await pool.fetchval("SELECT state FROM cases WHERE id = $1", cases["old_high"]) == "open"


async def test_working_a_case_acknowledge_note_call_resolve_each_audited(client, make_staff, cases, pool):
    staff_id = await make_staff("kim@seoul.go.kr")
    await sign_in(client, "kim@seoul.go.kr")
    case_id = cases["old_high"]
    page = await client.get(f"/console/cases/{case_id}")
    assert page.status_code == 200
    assert "김하나" in page.text and "김민수" in page.text and "서울 종로구 세종대로 1" in page.text
    token = csrf_of(page.text)
    url = f"/console/cases/{case_id}"

    assert (await client.post(f"{url}/acknowledge", data={"csrf": token}, follow_redirects=False)).status_code == 303
    note = await client.post(f"{url}/notes", data={"csrf": token, "body": "보호자와 통화 예정"}, follow_redirects=False)
    assert note.status_code == 303
    call = await client.post(
        f"{url}/calls",
        data={
            "csrf": token,
            "callee": "guardian",
            "call_phone": "010-9876-0000",
            "result": "reached",
            "call_note": "곧 방문",
        },
        follow_redirects=False,
    )
    assert call.status_code == 303
    done = await client.post(
        f"{url}/resolve", data={"csrf": token, "outcome": "visited", "note": "방문, 건강함"}, follow_redirects=False
    )
    assert done.status_code == 303

    page = await client.get(url)
    assert "보호자와 통화 예정" in page.text and "곧 방문" in page.text and "방문 확인" in page.text
    row = await pool.fetchrow("SELECT state, outcome, acknowledged_by FROM cases WHERE id = $1", case_id)
    assert (row["state"], row["outcome"], row["acknowledged_by"]) == ("resolved", "visited", f"staff:{staff_id}")
    recipient_id = await pool.fetchval("SELECT recipient_id FROM cases WHERE id = $1", case_id)
    audited = await pool.fetch(
        "SELECT action, recipient_id FROM audit_log WHERE action <> 'recipient.enroll' ORDER BY id"
    )
    assert {r["recipient_id"] for r in audited} == {recipient_id}
    actions = [r["action"] for r in audited]
    assert actions[:2] == ["case.read", "recipient.read"], actions
    for action in ("case.acknowledge", "case.note", "case.call", "case.resolve"):
        assert action in actions
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'case.list'") == 0


async def test_every_view_of_personal_data_is_audited_but_the_live_fingerprint_is_not(client, make_staff, cases, pool):
    staff_id = await make_staff("kim@seoul.go.kr")
    await sign_in(client, "kim@seoul.go.kr")
    await client.get("/console/queue")
    await client.get("/console/queue/rows")
    await client.get("/console/queue/version", headers={"X-Console-Poll": "1"})
    await client.get("/console/people?q=김")
    rows = await pool.fetch(
        "SELECT actor, action, detail FROM audit_log WHERE action <> 'recipient.enroll' ORDER BY id"
    )
    assert [r["action"] for r in rows] == ["case.list", "case.list", "recipient.list"]
    assert all(r["actor"] == f"staff:{staff_id}" for r in rows)
    assert sorted(rows[0]["detail"]["case_ids"]) == sorted(
        [cases["old_high"], cases["new_urgent"], cases["new_normal"]]
    )


async def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(client, make_staff, cases, pool):
    await make_staff("kim@seoul.go.kr")
    await sign_in(client, "kim@seoul.go.kr")
    case_id = cases["old_high"]
    recipient_id = await pool.fetchval("SELECT recipient_id FROM cases WHERE id = $1", case_id)
    posts = [
        (f"/console/cases/{case_id}/acknowledge", {}),
        (f"/console/cases/{case_id}/notes", {"body": "x"}),
        (f"/console/cases/{case_id}/calls", {"callee": "person", "result": "busy"}),
        (f"/console/cases/{case_id}/resolve", {"outcome": "visited"}),
        ("/console/people", {"name": "x"}),
        (f"/console/people/{recipient_id}/plan", {"times": "10:00"}),
        (f"/console/people/{recipient_id}/pause", {"reason": "x", "until": "2099-01-01"}),
        (f"/console/people/{recipient_id}/resume", {}),
        (f"/console/people/{recipient_id}/edit", {"name": "x", "address": "y"}),
        ("/console/sign-out", {}),
    ]
    for url, data in posts:
        for token in (None, "forged-token-forged-token-forged-token"):
            body = {**data, **({"csrf": token} if token else {})}
            response = await client.post(url, data=body, follow_redirects=False)
            assert response.status_code == 403, (url, response.status_code)
    assert await pool.fetchval("SELECT state FROM cases WHERE id = $1", case_id) == "open"
    assert await pool.fetchval("SELECT count(*) FROM case_notes") == 0
    assert await pool.fetchval("SELECT count(*) FROM console_sessions") == 1


async def test_the_live_fingerprint_changes_when_a_case_opens(client, make_staff, cases, pool):
    await make_staff("kim@seoul.go.kr")
    await sign_in(client, "kim@seoul.go.kr")
    poll = {"X-Console-Poll": "1"}
    before = (await client.get("/console/queue/version", headers=poll)).json()["version"]
    assert (await client.get("/console/queue/version", headers=poll)).json()["version"] == before
    other = await enroll(pool, phone="010-1111-0009", district="11140")
    await open_case(pool, other, ago=timedelta(minutes=1))
    assert (await client.get("/console/queue/version", headers=poll)).json()["version"] == before
    mine = await enroll(pool, phone="010-1111-0010", name="정새롬")
    new = await open_case(pool, mine, ago=timedelta(minutes=1))
    assert (await client.get("/console/queue/version", headers=poll)).json()["version"] != before
    rows = await client.get("/console/queue/rows", headers=poll)
    assert new in case_ids(rows.text) and rows.text.lstrip().startswith("<tbody")


async def test_a_resolved_case_refuses_a_second_resolution_with_a_message(client, make_staff, cases):
    await make_staff("kim@seoul.go.kr")
    await sign_in(client, "kim@seoul.go.kr")
    url = f"/console/cases/{cases['old_high']}"
    token = csrf_of((await client.get(url)).text)
    await client.post(f"{url}/resolve", data={"csrf": token, "outcome": "false_alarm"})
    again = await client.post(f"{url}/resolve", data={"csrf": token, "outcome": "visited"})
    assert again.status_code == 409 and "이미 종결된 사례입니다" in again.text


async def test_a_blank_note_or_no_outcome_is_told_beside_the_field(client, make_staff, cases, pool):
    await make_staff("kim@seoul.go.kr")
    await sign_in(client, "kim@seoul.go.kr")
    url = f"/console/cases/{cases['old_high']}"
    token = csrf_of((await client.get(url)).text)
    blank = await client.post(f"{url}/notes", data={"csrf": token, "body": "   "})
    assert blank.status_code == 400
    assert re.search(r'<span class="error" id="e-body" data-field="body">필수 항목입니다.</span>', blank.text)
    none = await client.post(f"{url}/resolve", data={"csrf": token, "outcome": ""})
    assert none.status_code == 400 and 'data-field="outcome"' in none.text
    assert await pool.fetchval("SELECT state FROM cases WHERE id = $1", cases["old_high"]) == "open"


async def test_operators_see_delivery_health_and_social_workers_may_not(client, make_staff, pool):
    await make_staff("kim@seoul.go.kr")
    await make_staff("ops@seoul.go.kr", role="operator")
    await sign_in(client, "kim@seoul.go.kr")
    assert (await client.get("/console/operators")).status_code == 403
    await enroll(pool, phone="010-1111-0001")
    await pool.execute(
        """
        INSERT INTO notices (dedupe_key, template) VALUES ('k1', 'care.reminder');
        INSERT INTO outbox (notice_id, channel, recipient, template, language, body, priority, max_attempts, state)
        SELECT id, 'sms', '+821011110001', 'care.reminder', 'ko', 'hi', 1, 3, s
        FROM notices, unnest(ARRAY['delivered', 'failed', 'failed']) AS s;
        """
    )
    await sign_in(client, "ops@seoul.go.kr")
    page = await client.get("/console/operators")
    assert page.status_code == 200 and 'id="delivery-health"' in page.text
    assert re.search(r'<td class="alarm">2</td>', page.text)
    assert "운영 현황" in (await client.get("/console/queue")).text  # the operators' link


def test_every_console_post_but_sign_in_checks_the_csrf_token(app):
    """Structurally: a POST route added later cannot forget the token, which the ``form`` dependency checks."""
    posts = [
        (route.path, handler)
        for route in app.routes
        if route.path.startswith("/console")
        for handler in getattr(route, "route_handlers", [])
        if "POST" in handler.http_methods
    ]
    assert len(posts) >= 10
    for path, handler in posts:
        if path == "/console/sign-in":
            continue  # no session yet: a double-submit cookie, tested in test_sign_in
        assert "form" in handler.parsed_fn_signature.parameters, path


async def test_operators_see_the_warnings_in_force(client, make_staff, pool):
    await make_staff("ops@seoul.go.kr", role="operator")
    async with pool.acquire() as conn:
        await ingest(
            conn,
            parse_cap(cap_xml("ops-rain")),
            source="post",
            notifier=client.app.state.notifier,
            now=datetime.now(UTC),
        )
    await sign_in(client, "ops@seoul.go.kr")
    page = await client.get("/console/operators")
    assert 'id="alerts-in-force"' in page.text
    assert "서울 동남권 호우경보" in page.text and "강남구" in page.text


async def test_a_safety_check_case_shows_its_warning_and_the_questions_asked(client, make_staff, pool, settings):
    await make_staff("kim@seoul.go.kr")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    await enroll(pool, phone="010-1111-0009", at=t0 - timedelta(days=1))
    async with pool.acquire() as conn:
        await ingest(
            conn,
            parse_cap(cap_xml("case-rain", sent=t0, geocodes=("11110",))),
            source="post",
            notifier=client.app.state.notifier,
            now=t0,
        )
    for minutes in (15, 45, 75):
        await run_job(pool, JOBS["care.safety-sweep"], now=t0 + timedelta(minutes=minutes), settings=settings)
    case_id = await pool.fetchval("SELECT id FROM cases WHERE reason = 'safety_check'")
    await sign_in(client, "kim@seoul.go.kr")
    page = await client.get(f"/console/cases/{case_id}")
    assert page.status_code == 200
    assert 'id="safety-check"' in page.text and "서울 동남권 호우경보" in page.text
    assert "특보 중 안전 확인 무응답" in page.text
    # The questions the person was asked and the guardian's alert, in the order they went out.
    sent = re.findall(r"특보: 안전 확인 질문|안전 확인 재질문|보호자에게 무응답 알림", page.text)
    assert sent == ["특보: 안전 확인 질문", "안전 확인 재질문", "보호자에게 무응답 알림"]


async def test_operators_see_the_sign_in_code_budgets_spent(client, make_staff, pool):
    await make_staff("ops@seoul.go.kr", role="operator")
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO signin_budget_alerts (budget, prefix, hour, first_at, last_at, refused)"
            " VALUES ('prefix', '+82102345', date_trunc('hour', $1::timestamptz), $1, $1, 11)",
            now,
        )
    await sign_in(client, "ops@seoul.go.kr")
    page = await client.get("/console/operators")
    assert 'id="sign-in-budgets"' in page.text
    assert "+82102345…" in page.text and "<td>11</td>" in page.text


async def test_operators_see_how_fast_urgent_cases_were_acknowledged_beside_the_tsa_standard(client, make_staff, pool):
    staff_id = await make_staff("ops@seoul.go.kr", role="operator")
    recipient = await enroll(pool, phone="010-5555-1234")
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        for n, ack_after in enumerate([20, 40, 300]):
            case_id = await open_case(pool, recipient, ago=timedelta(hours=n + 1), priority="urgent")
            told_at = now - timedelta(hours=n + 1)
            await conn.execute(
                "UPDATE cases SET state = 'acknowledged', acknowledged_at = $2 WHERE id = $1",
                case_id,
                told_at + timedelta(seconds=ack_after),
            )
            await conn.execute(
                "INSERT INTO case_escalations (case_id, step, staff_id, phone, notified_at)"
                " VALUES ($1, 0, $2, '+821070001100', $3)",
                case_id,
                staff_id,
                told_at,
            )
    await sign_in(client, "ops@seoul.go.kr")
    page = (await client.get("/console/operators")).text
    section = page[page.index('id="time-to-acknowledge"') :]
    assert "97.5 %" in section  # the standard, beside the figures
    assert "<td>3</td>" in section and "<td>40 s</td>" in section  # three cases; the median took 40 s
    assert "66.7 %" in section  # two of the three within 60 s, short of the standard
