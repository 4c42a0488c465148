"""Body limits per route: a big body is refused with 413 before it is read, and nothing of it is kept.

A streamed body, stopped as it arrives, is tested on the real server (test_server_limits.py).
"""

from __future__ import annotations

import pytest

from api.platform.auth.tokens import Role
from tests.conftest import bearer, outbox_sms, problem, sign_in
from tests.hazards import JPEG, report_body


@pytest.fixture
async def citizen(client) -> dict[str, str]:
    return bearer(await sign_in(client, "010-3456-7001"))


def big_sign_in(size: int) -> bytes:
    return b'{"phone": "' + b"0" * (size - 13) + b'"}'


async def test_sign_in_takes_a_few_kb_and_refuses_more_by_its_content_length(client):
    response = await client.post(
        "/v1/auth/otp", content=big_sign_in(9_900_000), headers={"content-type": "application/json"}
    )
    body = problem(response)
    assert response.status_code == 413
    assert (body["code"], body["max_bytes"]) == ("body_too_large", 2048)
    assert "2,048 bytes" in body["detail"]
    assert await outbox_sms(client.app) == []  # no code was sent


async def test_json_routes_take_32_kb(client, citizen):
    response = await client.patch("/v1/me", json={"display_name": "x" * 40_000}, headers=citizen)
    assert response.status_code == 413
    assert problem(response)["max_bytes"] == 32 * 1024
    assert (await client.get("/v1/me", headers=citizen)).json()["display_name"] is None


async def test_the_limit_holds_on_idempotent_routes_whose_middleware_reads_the_body(client, token_for):
    operator = {**bearer(token_for(Role.operator)), "Idempotency-Key": "big-one"}
    staff = {"email": "kim@seoul.go.kr", "name": "x" * 40_000, "role": "operator"}
    response = await client.post("/v1/admin/staff", json=staff, headers=operator)
    assert response.status_code == 413
    assert problem(response)["code"] == "body_too_large"


async def test_only_photo_upload_takes_megabytes(client, citizen):
    report = await client.post("/v1/hazard-reports", json=report_body(), headers=citizen)
    assert report.status_code == 201, report.text
    photo = JPEG + b"\x00" * (3_000_000 - len(JPEG))  # a 3 MB photo
    upload = await client.post(
        f"/v1/hazard-reports/{report.json()['id']}/photos", files={"photo": ("a.jpg", photo)}, headers=citizen
    )
    assert upload.status_code == 201, upload.text
