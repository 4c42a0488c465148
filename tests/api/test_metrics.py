"""Prometheus metrics as an operator's Prometheus reads them: from the API, from several API processes, a worker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.platform.auth.tokens import Role, Scope
from notifications.schemas import Priority
from notifications.service import Outgoing
from tests.conftest import JWT_SECRET, bearer, sign_in
from tests.live_api import live_api

PERSON = "010-2468-1357"
PERSON_NAME = "박영희"
GUARDIAN = "010-1357-2468"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and sorted labels (which also proves the text parses)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_requests_are_counted_by_route_template_and_no_label_names_a_person(client, token_for):
    worker = bearer(token_for(Role.social_worker, districts=("11110",)))
    help_route = ("route", "/v1/care/help")
    help_201 = ("safecity_http_requests_total", (("method", "POST"), help_route, ("status", "201")))
    # The counters live for the process: another test in it may have counted a help request already.
    before = samples((await client.get("/metrics")).text).get(help_201, 0)
    enrolment = {
        "name": PERSON_NAME,
        "phone": PERSON,
        "district": "11110",
        "address": "서울 종로구 삼일대로 1",
        "guardians": [{"name": "박철수", "phone": GUARDIAN, "relation": "아들"}],
        "plan": {"times": ["09:00"], "window_minutes": 60},
    }
    assert (await client.post("/v1/care/recipients", json=enrolment, headers=worker)).status_code == 201
    token = await sign_in(client, PERSON)
    assert (await client.post("/v1/care/help", headers=bearer(token))).status_code == 201
    bot = bearer(token_for(Role.service, scopes=(Scope.chatbot,)))
    await client.get("/v1/bot/people/+821024681357", headers=bot)
    await client.get("/no/such/page")

    text = (await client.get("/metrics")).text
    found = samples(text)
    # The help request opened an urgent case in 종로구 (11110), and told its guardians by SMS, urgently.
    assert found[("safecity_cases_open_urgent", (("district", "11110"),))] == 1
    assert found[("safecity_outbox_messages", (("channel", "sms"), ("state", "pending")))] >= 1
    assert found[help_201] - before == 1
    assert ("safecity_http_request_duration_seconds_count", (("method", "POST"), help_route)) in found
    # A path holding a phone number is counted under its template; a path no route took, as unmatched.
    bot_route = ("route", "/v1/bot/people/{sender}")
    assert any(bot_route in labels for _, labels in found)
    assert any(("route", "unmatched") in labels for _, labels in found)
    # Nothing personal anywhere in the text but the numbers measured (a time's digits may spell anything): not the
    # phone in any spelling, not the name, in no metric's name, help or label.
    words = "\n".join(line.rsplit(" ", 1)[0] if not line.startswith("#") else line for line in text.splitlines())
    for personal in ("2468", "1357", "+8210", PERSON_NAME, "박철수", "/no/such/page"):
        assert personal not in words


async def test_the_oldest_due_urgent_message_and_dead_letters_are_measured(client, app, pool):
    notifier = app.state.notifier
    now = datetime.now(UTC)

    def sms(key: str, priority: Priority) -> Outgoing:
        return Outgoing(
            dedupe_key=key, template="notice.test", params={"text": "x"}, phone="+821099990000", priority=priority
        )

    async with pool.acquire() as conn, conn.transaction():
        await notifier.enqueue_many(conn, items=[sms("late", Priority.urgent)], now=now - timedelta(minutes=2))
        await notifier.enqueue_many(conn, items=[sms("dead", Priority.urgent)], now=now - timedelta(minutes=9))
        await notifier.enqueue_many(conn, items=[sms("routine", Priority.routine)], now=now - timedelta(minutes=30))
        await conn.execute(
            "UPDATE outbox SET state = 'failed' FROM notices n WHERE n.id = notice_id AND n.dedupe_key = 'dead'"
        )

    found = samples((await client.get("/metrics")).text)
    # The urgent message due 2 minutes ago is the oldest waiting (a routine one waits longer, but is not urgent);
    # the one that failed for good is a dead letter, and waits no more.
    assert found[("safecity_outbox_oldest_due_urgent_seconds", (("channel", "sms"),))] >= 115
    assert found[("safecity_outbox_dead_letters", (("channel", "sms"),))] == 1
    assert found[("safecity_outbox_messages", (("channel", "sms"), ("state", "pending")))] == 2


def test_several_api_processes_answer_with_the_sum_of_their_counts(pg_server, tmp_path):
    with live_api(pg_server, tmp_path / "var", WEB_CONCURRENCY="2") as api:
        for _ in range(40):  # a new connection each, so that both processes take some
            assert httpx.get(f"{api.base_url}/health").status_code == 200
        found = samples(httpx.get(f"{api.base_url}/metrics").text)
    route = (("method", "GET"), ("route", "/health"), ("status", "200"))
    assert found[("safecity_http_requests_total", route)] == 40


def test_a_worker_serves_its_job_runs(database_url, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        unused_port = s.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "SAFECITY_VAR_DIR": str(tmp_path / "var"),
        "WORKER_METRICS_PORT": str(unused_port),
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker", "--no-dispatch"], env=env, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                text = httpx.get(f"http://127.0.0.1:{unused_port}/metrics", timeout=2).text
                if "safecity_job_runs_total{" in text and 'job="care.sweep"' in text:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("the worker served no job run in 90 s")
            time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    found = samples(text)
    # The care sweep runs every minute; its first run here was this worker's (no other worker shares the database).
    assert found[("safecity_job_runs_total", (("job", "care.sweep"), ("outcome", "ran")))] >= 1
    assert ("safecity_job_lag_seconds", (("job", "care.sweep"),)) in found
