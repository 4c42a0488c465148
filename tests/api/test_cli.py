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


def test_token_prints_the_token_alone_and_the_api_accepts_it(safecity, client_sync, settings):
    safecity("staff", "add", "--email", "ops@seoul.go.kr", "--name", "Ops", "--role", "operator")
    result = safecity("token", "--role", "operator", "--staff", "ops@seoul.go.kr")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    assert token.count(".") == 2
    # The jti, which `token revoke` takes, is told on stderr.
    assert f"jti {TokenIssuer(settings).verify(token).token_id} " in result.stderr
    assert client_sync.get("/v1/admin/staff", headers=bearer(token)).status_code == 200


def test_a_token_past_its_roles_cap_is_refused_at_minting(safecity):
    century = str(100 * 365 * 24 * 3600)
    citizen = safecity("token", "--role", "citizen", "--phone", "010-1111-2222", "--ttl", century)
    service = safecity("token", "--role", "service", "--subject", "gw", "--scope", "sensors:write", "--ttl", century)
    for refused in (citizen, service):
        assert refused.returncode != 0
        assert refused.stdout == ""
        assert "lives at most" in refused.stderr
    assert "2592000 seconds (30 days)" in citizen.stderr
    assert "7776000 seconds (90 days)" in service.stderr


def test_a_revoked_token_is_refused_on_its_next_request_and_others_still_work(safecity, client_sync, settings):
    safecity("staff", "add", "--email", "kim@seoul.go.kr", "--name", "김", "--role", "operator")
    too_long = safecity("token", "--role", "operator", "--staff", "kim@seoul.go.kr", "--ttl", "43201")
    assert "at most 43200 seconds (12 hours)" in too_long.stderr
    assert too_long.stdout == ""
    revoked, kept = (safecity("token", "--staff", "kim@seoul.go.kr") for _ in range(2))
    assert client_sync.get("/v1/admin/staff", headers=bearer(revoked.stdout.strip())).status_code == 200

    jti = TokenIssuer(settings).verify(revoked.stdout.strip()).token_id
    assert jti is not None
    done = safecity("token", "revoke", jti, "--reason", "laptop lost")
    assert done.returncode == 0, done.stderr
    assert "already" in safecity("token", "revoke", jti).stderr

    refused = client_sync.get("/v1/admin/staff", headers=bearer(revoked.stdout.strip()))
    assert refused.status_code == 401
    assert "This token was revoked" in refused.json()["detail"]
    assert client_sync.get("/v1/admin/staff", headers=bearer(kept.stdout.strip())).status_code == 200
    assert "32 hex digits" in safecity("token", "revoke", "not-a-jti").stderr


def test_a_citizen_token_registers_the_phone(safecity, client_sync):
    result = safecity("token", "--role", "citizen", "--phone", "010-1111-2222")
    assert result.returncode == 0, result.stderr
    me = client_sync.get("/v1/me", headers=bearer(result.stdout.strip()))
    assert me.json()["phone"] == "+821011112222"


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
        (["--role", "social_worker"], "needs --staff"),
        (["--role", "operator"], "needs --staff"),
        (["--role", "operator", "--staff", "nobody@seoul.go.kr"], "nobody@seoul.go.kr"),
        ([], "Missing option '--role'"),
        (["--role", "service", "--staff", "a@b", "--scope", "chatbot"], "--staff is for social_worker and operator"),
        (["--role", "citizen"], "needs --phone"),
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
    assert set(ran["result"]) == {
        "otp_challenges",
        "idempotency_keys",
        "job_runs",
        "revoked_tokens",
        "signin_budget_alerts",
    }


def test_jobs_run_refuses_an_unknown_job_and_a_bad_time(safecity):
    assert "no job named" in safecity("jobs", "run", "nope").stderr
    assert "not an ISO-8601 time" in safecity("jobs", "run", "platform.purge-expired", "--now", "9am").stderr


def test_migrate_on_a_current_schema_does_nothing(safecity):
    result = safecity("migrate")
    assert result.returncode == 0
    assert "0 migration(s) applied" in result.stderr
