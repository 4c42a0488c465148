"""Liveness, readiness and the published schema."""

from __future__ import annotations

from pathlib import Path

import msgspec
from litestar.testing import AsyncTestClient

from api.app import create_app
from tests.conftest import MIGRATIONS, problem


async def test_health_answers_without_a_database(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_the_database_is_migrated(client):
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["migrations_applied"] == len(list(MIGRATIONS.glob("*.sql")))


async def test_not_ready_while_a_migration_is_pending(settings, tmp_path: Path):
    pending_dir = tmp_path / "migrations"
    pending_dir.mkdir()
    for path in MIGRATIONS.glob("*.sql"):
        (pending_dir / path.name).write_text(path.read_text())
    (pending_dir / "0999_not_yet.sql").write_text("SELECT 1;")
    app = create_app(
        msgspec.structs.replace(
            settings, paths=msgspec.structs.replace(settings.paths, migrations_dir=str(pending_dir))
        )
    )

    async with AsyncTestClient(app=app) as client:
        response = await client.get("/ready")

    assert response.status_code == 503
    body = problem(response)
    assert body["code"] == "migrations_pending"
    assert body["pending"] == ["0999_not_yet.sql"]


async def test_not_ready_when_an_applied_migration_was_edited(settings, tmp_path: Path):
    edited = tmp_path / "migrations"
    edited.mkdir()
    for path in MIGRATIONS.glob("*.sql"):
        (edited / path.name).write_text(path.read_text())
    first = sorted(edited.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after it was applied\n")
    paths = msgspec.structs.replace(settings.paths, migrations_dir=str(edited))

    async with AsyncTestClient(app=create_app(msgspec.structs.replace(settings, paths=paths))) as client:
        response = await client.get("/ready")

    assert response.status_code == 503
    assert problem(response)["changed"] == [first.name]


async def test_not_ready_while_the_database_is_unreachable(settings):
    unreachable = msgspec.structs.replace(settings.db, url="postgresql://nobody@127.0.0.1:9/safecity")
    app = create_app(msgspec.structs.replace(settings, db=unreachable))

    async with AsyncTestClient(app=app) as client:
        response = await client.get("/ready")
        assert (await client.get("/health")).status_code == 200

    assert response.status_code == 503
    assert problem(response)["code"] == "database_unreachable"


async def test_openapi_schema_is_public_and_describes_the_api(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert "/v1/auth/otp" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert not [p for p in spec["paths"] if p.startswith("/schema")], "the document's own renderers are not the API"


async def test_the_schema_describes_the_bodies_routes_read_themselves_and_what_they_answer(client):
    paths = (await client.get("/schema/openapi.json")).json()["paths"]

    def body(path: str, method: str = "post") -> dict:
        return paths[path][method]["requestBody"]["content"]

    assert body("/webhooks/twilio/sms")["application/x-www-form-urlencoded"]["schema"]["required"] == [
        "MessageSid",
        "From",
        "Body",
    ]
    assert "MessageStatus" in body("/webhooks/twilio/status")["application/x-www-form-urlencoded"]["schema"]["required"]
    assert "application/cap+xml" in body("/v1/alerts/cap")
    assert body("/v1/hazard-reports/{report_id}/photos")["multipart/form-data"]["schema"]["required"] == ["photo"]
    open311 = body("/open311/v2/requests.json")["application/x-www-form-urlencoded"]["schema"]
    assert set(open311["required"]) == {"service_code", "lat", "long"}
    # Open311's JSON answers are lists of objects, not "a string".
    listed = paths["/open311/v2/requests.json"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["type"] == "array" and "service_request_id" in listed["items"]["properties"]
    # Every error is documented as it leaves: problem+json, or Open311's own error list under /open311.
    errors = paths["/v1/auth/token"]["post"]["responses"]["4XX"]["content"]
    assert list(errors) == ["application/problem+json"]
    assert "application/json" in paths["/open311/v2/services.json"]["get"]["responses"]["4XX"]["content"]


async def test_every_response_carries_a_request_id_and_echoes_the_callers(client):
    fresh = await client.get("/health")
    given = await client.get("/health", headers={"X-Request-ID": "app-7f3a"})
    assert len(fresh.headers["x-request-id"]) == 32
    assert given.headers["x-request-id"] == "app-7f3a"
    # Something that is not an id is replaced rather than echoed into our logs.
    odd = await client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert odd.headers["x-request-id"] != "bad id\twith spaces"


async def test_the_routers_own_errors_carry_the_request_id_too(client):
    for response in (await client.get("/no/such/page"), await client.put("/health")):
        body = problem(response)
        assert body["request_id"] == response.headers["x-request-id"]
