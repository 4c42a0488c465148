"""The ``safecity`` command as an operator runs it: a real process against a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from api.platform.auth.tokens import Scope, TokenIssuer
from tests.conftest import JWT_SECRET, bearer


@pytest.fixture
def safecity(database_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET, "SAFECITY_VAR_DIR": str(tmp_path)}

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "api.cli", *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
        )

    return run


def test_token_prints_the_token_alone_and_the_api_accepts_it(safecity, client_sync):
    result = safecity("token", "--role", "operator")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    assert token.count(".") == 2
    assert client_sync.get("/v1/admin/staff", headers=bearer(token)).status_code == 200


def test_a_citizen_token_registers_the_phone(safecity, client_sync):
    result = safecity("token", "--role", "citizen", "--phone", "010-1111-2222")
    assert result.returncode == 0, result.stderr
    me = client_sync.get("/v1/me", headers=bearer(result.stdout.strip()))
    assert me.json()["phone"] == "+821011112222"


def test_a_social_worker_token_is_bound_to_its_districts(safecity, client_sync):
    token = safecity("token", "--role", "social_worker", "--district", "11680").stdout.strip()
    assert client_sync.get("/v1/districts/11680/summary", headers=bearer(token)).status_code == 200
    assert client_sync.get("/v1/districts/11110/summary", headers=bearer(token)).status_code == 403


def test_a_service_token_carries_the_scopes_and_senders_asked_for(safecity, settings):
    result = safecity(
        "token", "--role", "service", "--subject", "partner",
        "--scope", "alerts:publish", "--scope", "open311:submit",
        "--sender", "alerts@partner.example", "--sender", "ops@partner.example",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    principal = TokenIssuer(settings).verify(result.stdout.strip())
    assert principal.subject == "service:partner"
    assert principal.scopes == (Scope.alerts_publish, Scope.open311_submit)
    assert principal.cap_senders == ("alerts@partner.example", "ops@partner.example")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "social_worker"], "needs --district"),
        (["--role", "citizen"], "needs --phone"),
        (["--role", "social_worker", "--district", "99999"], "not one of Seoul's 25"),
        (["--role", "citizen", "--phone", "12"], "not a"),
        (["--role", "service", "--subject", "open311-partner"], "needs --scope"),
        (["--role", "service", "--scope", "alerts:publish"], "needs --sender"),
        (["--role", "service", "--scope", "chatbot", "--sender", "a@b"], "--sender is for --scope alerts:publish"),
        (["--role", "service", "--scope", "alerts:publish", "--sender", "a b"], "no spaces or commas"),
        (["--role", "service", "--scope", "everything"], "Invalid value for '--scope'"),
        (["--role", "operator", "--scope", "chatbot"], "for service tokens only"),
        (["--role", "citizen", "--phone", "010-1111-2222", "--sender", "a@b"], "for service tokens only"),
    ],
)
def test_token_refuses_what_it_cannot_mint_and_prints_no_token(safecity, args, message):
    result = safecity("token", *args)
    assert result.returncode != 0
    assert result.stdout == ""
    assert message in result.stderr


def test_staff_add_creates_an_account_a_token_can_be_minted_for(safecity, client_sync):
    added = safecity(
        "staff",
        "add",
        "--email",
        "han@seoul.go.kr",
        "--name",
        "한지민",
        "--role",
        "social_worker",
        "--district",
        "11740",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    account = json.loads(added.stdout)
    assert (account["districts"], account["has_password"]) == (["11740"], True)

    token = safecity("token", "--role", "social_worker", "--staff", "han@seoul.go.kr").stdout.strip()
    assert client_sync.get("/v1/districts/11740/summary", headers=bearer(token)).status_code == 200
    assert client_sync.get("/v1/districts/11680/summary", headers=bearer(token)).status_code == 403

    again = safecity("staff", "add", "--email", "HAN@seoul.go.kr", "--name", "X", "--role", "operator")
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_a_deactivated_staff_accounts_token_stops_working_at_once(safecity, client_sync):
    safecity("staff", "add", "--email", "yoon@seoul.go.kr", "--name", "윤", "--role", "operator")
    token = safecity("token", "--role", "operator", "--staff", "yoon@seoul.go.kr").stdout.strip()
    assert client_sync.get("/v1/admin/staff", headers=bearer(token)).status_code == 200

    assert safecity("staff", "deactivate", "yoon@seoul.go.kr").returncode == 0

    refused = client_sync.get("/v1/admin/staff", headers=bearer(token))
    assert refused.status_code == 401
    assert "deactivated" in refused.json()["detail"]


def test_jobs_run_as_of_a_given_time_runs_each_slot_once(safecity):
    assert "platform.purge-expired" in safecity("jobs", "list").stdout

    first = safecity("jobs", "run", "platform.purge-expired", "--now", "2026-11-24T09:30")
    second = safecity("jobs", "run", "platform.purge-expired", "--now", "2026-11-24T09:59:59+09:00")
    assert first.returncode == second.returncode == 0, first.stderr
    ran, skipped = json.loads(first.stdout), json.loads(second.stdout)
    # 09:30 in Seoul is 00:30 UTC; the hourly slot starts at 00:00 UTC.
    assert ran["slot"] == skipped["slot"] == "2026-11-24T00:00:00Z"
    assert (ran["ran"], skipped["ran"]) == (True, False)
    assert set(ran["result"]) == {"otp_challenges", "idempotency_keys", "job_runs"}


def test_jobs_run_refuses_an_unknown_job_and_a_bad_time(safecity):
    assert "no job named" in safecity("jobs", "run", "nope").stderr
    assert "not an ISO-8601 time" in safecity("jobs", "run", "platform.purge-expired", "--now", "9am").stderr


def test_migrate_on_a_current_schema_does_nothing(safecity):
    result = safecity("migrate")
    assert result.returncode == 0
    assert "0 migration(s) applied" in result.stderr
