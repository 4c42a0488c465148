"""The API fuzzed against its own OpenAPI document, as each kind of caller, on a running ``safecity api``.

schemathesis generates requests for every operation the document describes (bodies included: JSON, forms,
multipart, XML), valid and invalid, and sends them with each role's token. Two things must hold for every one:

- the server never answers 5xx: whatever a caller sends, the answer is a 2xx or a 4xx problem they can act on;
- every answer matches what the document promises for its status (its schema and its media type), so a client
  generated from the document reads every answer it is given.

The run is bounded (``SAFECITY_FUZZ_EXAMPLES`` cases per operation and role, 8 unless set), so that it fits in
``make test``; a long run is the same test with a larger number.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.live_api import live_api

EXAMPLES = int(os.environ.get("SAFECITY_FUZZ_EXAMPLES", "8"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
SERVICE_SCOPES = ("alerts:publish", "open311:submit", "chatbot", "sensors:write")
ROLES = ("anonymous", "citizen", "social_worker", "operator", *(f"service:{s}" for s in SERVICE_SCOPES))


@pytest.fixture(scope="module")
def api(pg_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """``safecity api`` on a database of its own, and a token for each role minted by ``safecity token``."""
    with live_api(pg_server, tmp_path_factory.mktemp("var"), LOG_LEVEL="ERROR") as api:
        api.cli("staff", "add", "--email=sw@fuzz.test", "--name=복지사", "--role=social_worker", "--district=11110")
        api.cli("staff", "add", "--email=op@fuzz.test", "--name=운영자", "--role=operator")
        tokens = {
            "citizen": api.cli("token", "--role", "citizen", "--phone", "010-5555-0101"),
            "social_worker": api.cli("token", "--role", "social_worker", "--staff", "sw@fuzz.test"),
            "operator": api.cli("token", "--role", "operator", "--staff", "op@fuzz.test"),
        }
        for scope in SERVICE_SCOPES:
            senders = ("--sender", "fuzz@safecity.test") if scope == "alerts:publish" else ()
            mint = ("token", "--role", "service", "--subject", "fuzz", "--scope", scope, *senders)
            tokens[f"service:{scope}"] = api.cli(*mint)
        yield api.base_url, tokens


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_as_documented_whatever_it_is_sent(api, role: str) -> None:
    base, tokens = api
    schema = schemathesis.openapi.from_url(f"{base}/schema/openapi.json")
    headers = {"Authorization": f"Bearer {tokens[role]}"} if role in tokens else {}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,  # the same cases on every run: a failure here is reproducible, not luck
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=base, headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # every operation is tried; the failures are reported together
            failures.append(f"{operation.label}: {exc}")
    assert operations > 60, f"the document describes only {operations} operations"
    assert not failures, f"{len(failures)} of {operations} operations failed as {role}:\n\n" + "\n\n".join(failures)
