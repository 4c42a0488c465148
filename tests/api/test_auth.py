"""Sign-in by phone and the role and district guards, through the real app."""

from __future__ import annotations

import asyncpg
import pytest
from litestar import get

from api.platform.auth.guards import allow
from api.platform.auth.tokens import Role
from tests.conftest import JWT_SECRET, bearer, last_code, outbox_sms, problem, sign_in

PHONE = "010-2345-6789"
E164 = "+821023456789"


async def test_a_code_by_sms_signs_a_new_citizen_in(client):
    response = await client.post("/v1/auth/otp", json={"phone": PHONE})
    assert response.status_code == 202
    sms = (await outbox_sms(client.app))[-1]
    assert sms["recipient"] == E164
    assert "인증번호" in sms["body"]

    token = await client.post("/v1/auth/token", json={"phone": "+82 10 2345 6789", "code": await last_code(client.app)})
    assert token.status_code == 200
    assert token.json()["token_type"] == "bearer"

    me = await client.get("/v1/me", headers=bearer(token.json()["access_token"]))
    assert me.status_code == 200
    assert me.json()["phone"] == E164


async def test_english_speakers_get_the_code_in_english(client):
    await client.post("/v1/auth/otp", json={"phone": PHONE, "language": "en"})
    assert "Your code is" in (await outbox_sms(client.app))[-1]["body"]


async def test_a_citizen_who_asked_in_english_is_registered_in_english(client):
    await client.post("/v1/auth/otp", json={"phone": PHONE, "language": "en"})
    token = await client.post("/v1/auth/token", json={"phone": PHONE, "code": await last_code(client.app)})
    me = await client.get("/v1/me", headers=bearer(token.json()["access_token"]))
    assert me.json()["language"] == "en"


async def test_a_returning_citizen_gets_the_same_account(client):
    first = await client.get("/v1/me", headers=bearer(await sign_in(client, PHONE)))
    second = await client.get("/v1/me", headers=bearer(await sign_in(client, "01023456789")))
    assert first.json()["id"] == second.json()["id"]


async def test_answers_do_not_reveal_whether_a_number_is_registered(client):
    await sign_in(client, PHONE)
    registered = await client.post("/v1/auth/otp", json={"phone": PHONE})
    unknown = await client.post("/v1/auth/otp", json={"phone": "010-8765-4321"})
    assert (registered.status_code, registered.json()) == (unknown.status_code, unknown.json())

    wrong_registered = await client.post("/v1/auth/token", json={"phone": PHONE, "code": "000000"})
    wrong_unknown = await client.post("/v1/auth/token", json={"phone": "010-8765-4321", "code": "000000"})
    assert wrong_registered.status_code == wrong_unknown.status_code == 400
    assert problem(wrong_registered)["detail"] == problem(wrong_unknown)["detail"]


async def _wrong_code(client) -> str:
    right = await last_code(client.app)
    return f"{(int(right) + 1) % 1_000_000:06d}"


async def test_a_wrong_code_is_refused_and_the_right_one_still_works(client):
    await client.post("/v1/auth/otp", json={"phone": PHONE})
    wrong = await client.post("/v1/auth/token", json={"phone": PHONE, "code": await _wrong_code(client)})
    assert wrong.status_code == 400
    assert problem(wrong)["code"] == "otp_invalid"

    right = await client.post("/v1/auth/token", json={"phone": PHONE, "code": await last_code(client.app)})
    assert right.status_code == 200


async def test_a_code_works_once(client):
    await client.post("/v1/auth/otp", json={"phone": PHONE})
    code = await last_code(client.app)
    assert (await client.post("/v1/auth/token", json={"phone": PHONE, "code": code})).status_code == 200
    again = await client.post("/v1/auth/token", json={"phone": PHONE, "code": code})
    assert again.status_code == 400
    assert problem(again)["code"] == "otp_invalid"


async def test_an_expired_code_is_refused(client, database_url):
    await client.post("/v1/auth/otp", json={"phone": PHONE})
    conn = await asyncpg.connect(database_url)
    try:  # five minutes pass
        await conn.execute("UPDATE otp_challenges SET expires_at = now() - interval '1 second'")
    finally:
        await conn.close()

    response = await client.post("/v1/auth/token", json={"phone": PHONE, "code": await last_code(client.app)})
    assert response.status_code == 400
    assert problem(response)["code"] == "otp_expired"


async def test_too_many_wrong_codes_burn_the_code(client, settings):
    await client.post("/v1/auth/otp", json={"phone": PHONE})
    wrong = await _wrong_code(client)
    statuses = [
        (await client.post("/v1/auth/token", json={"phone": PHONE, "code": wrong})).status_code
        for _ in range(settings.auth.otp_max_attempts)
    ]
    assert statuses == [400] * (settings.auth.otp_max_attempts - 1) + [429]

    right = await client.post("/v1/auth/token", json={"phone": PHONE, "code": await last_code(client.app)})
    assert right.status_code == 429
    assert problem(right)["code"] == "otp_attempts_exhausted"

    # A new code starts afresh.
    assert (await client.post("/v1/auth/otp", json={"phone": PHONE})).status_code == 202
    fresh = await client.post("/v1/auth/token", json={"phone": PHONE, "code": await last_code(client.app)})
    assert fresh.status_code == 200


async def test_a_new_code_replaces_the_previous_one(client):
    await client.post("/v1/auth/otp", json={"phone": PHONE})
    old = await last_code(client.app)
    await client.post("/v1/auth/otp", json={"phone": PHONE})
    new = await last_code(client.app)
    if old != new:
        assert (await client.post("/v1/auth/token", json={"phone": PHONE, "code": old})).status_code == 400
    assert (await client.post("/v1/auth/token", json={"phone": PHONE, "code": new})).status_code == 200


async def test_codes_per_number_are_limited_per_hour(client, settings):
    for _ in range(settings.auth.otp_max_per_hour):
        assert (await client.post("/v1/auth/otp", json={"phone": PHONE})).status_code == 202
    sent = len(await outbox_sms(client.app))

    response = await client.post("/v1/auth/otp", json={"phone": PHONE})
    assert response.status_code == 429
    assert problem(response)["code"] == "otp_rate_limited"
    assert 0 < int(response.headers["retry-after"]) <= 3600
    assert len(await outbox_sms(client.app)) == sent


@pytest.mark.parametrize(
    "phone", ["010-1234", "02-123-4567", "hello", "+1 202 555 0100 999"], ids=["short", "landline", "text", "long"]
)
async def test_numbers_that_cannot_receive_a_code_are_refused(client, phone):
    response = await client.post("/v1/auth/otp", json={"phone": phone})
    assert response.status_code == 400
    assert phone in problem(response)["detail"]


# --- tokens and guards ---------------------------------------------------------------------------------------


async def test_no_token_is_401(client):
    response = await client.get("/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert problem(response)["title"] == "Unauthorized"


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Basic dXNlcjpwdw==", "Bearer "])
async def test_a_malformed_token_is_401(client, header):
    response = await client.get("/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    problem(response)


async def test_an_expired_token_is_401(client, token_for):
    response = await client.get("/v1/admin/staff", headers=bearer(token_for(Role.operator, ttl_s=-10)))
    assert response.status_code == 401
    assert "expired" in problem(response)["detail"]


async def test_a_token_signed_with_another_secret_is_401(client, settings):
    import msgspec

    from api.platform.auth.tokens import Principal, TokenIssuer

    other = msgspec.structs.replace(settings.auth, jwt_secret=JWT_SECRET + "-other")
    forged = TokenIssuer(msgspec.structs.replace(settings, auth=other)).issue(
        Principal(subject="operator:x", role=Role.operator), ttl_s=60
    )
    assert (await client.get("/v1/admin/staff", headers=bearer(forged))).status_code == 401


def test_a_token_past_its_roles_cap_is_not_minted(settings):
    from api.platform.auth.tokens import Principal, TokenIssuer, TokenTooLong

    with pytest.raises(TokenTooLong, match="12 hours"):
        TokenIssuer(settings).issue(Principal(subject="staff:1", role=Role.operator), ttl_s=100 * 365 * 86400)


async def test_a_token_minted_under_a_longer_cap_is_401(client, settings):
    import msgspec

    from api.platform.auth.tokens import Principal, TokenIssuer

    # As a token minted before the cap, or where the cap was set higher, would be.
    lax = msgspec.structs.replace(settings.auth, staff_token_max_ttl_s=100 * 365 * 86400)
    century = TokenIssuer(msgspec.structs.replace(settings, auth=lax)).issue(
        Principal(subject="operator:x", role=Role.operator), ttl_s=100 * 365 * 86400
    )
    response = await client.get("/v1/admin/staff", headers=bearer(century))
    assert response.status_code == 401
    assert "longer than operator tokens may" in problem(response)["detail"]


async def test_a_citizen_calling_an_operator_route_is_403(client):
    token = await sign_in(client, PHONE)
    response = await client.get("/v1/admin/staff", headers=bearer(token))
    assert response.status_code == 403
    assert "citizen" in problem(response)["detail"]


async def test_an_operator_may_call_operator_routes(client, token_for):
    assert (await client.get("/v1/admin/staff", headers=bearer(token_for(Role.operator)))).status_code == 200


async def test_a_social_worker_sees_their_own_district(client, token_for):
    token = token_for(Role.social_worker, districts=("11680", "11650"))
    response = await client.get("/v1/districts/11680/summary", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["name_ko"] == "강남구"


async def test_a_social_worker_outside_their_district_is_403(client, token_for):
    token = token_for(Role.social_worker, districts=("11680",))
    response = await client.get("/v1/districts/11110/summary", headers=bearer(token))
    assert response.status_code == 403
    assert "11110" in problem(response)["detail"]


async def test_an_operator_serves_every_district(client, token_for):
    response = await client.get("/v1/districts/11110/summary", headers=bearer(token_for(Role.operator)))
    assert response.status_code == 200


@pytest.mark.parametrize("role", [Role.citizen, Role.service])
async def test_roles_without_districts_cannot_read_district_summaries(client, token_for, role):
    response = await client.get("/v1/districts/11680/summary", headers=bearer(token_for(role)))
    assert response.status_code == 403


async def test_every_route_declares_who_may_call_it(app):
    undeclared = [
        f"{sorted(handler.http_methods)} {route.path}"
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if handler.http_methods != {"OPTIONS"}  # Litestar's own: the Allow header, nothing more
        and not handler.opt.get("public")
        and not handler.opt.get("roles")
    ]
    assert undeclared == []


async def test_options_tells_the_allowed_methods_and_nothing_else(client):
    response = await client.options("/v1/me")
    assert response.status_code == 204
    assert "GET" in response.headers["allow"]
    assert response.content == b""


async def test_a_route_that_declares_no_roles_is_denied_to_everyone(settings, token_for):
    from litestar.testing import AsyncTestClient

    from api.app import create_app

    @get("/v1/forgotten")
    async def forgotten() -> str:
        return "secret"

    @get("/v1/declared", opt=allow(Role.operator))
    async def declared() -> str:
        return "fine"

    app = create_app(settings)
    app.register(forgotten)
    app.register(declared)
    async with AsyncTestClient(app=app) as client:
        operator = bearer(token_for(Role.operator))
        assert (await client.get("/v1/forgotten", headers=operator)).status_code == 403
        assert (await client.get("/v1/declared", headers=operator)).status_code == 200


async def test_a_social_worker_moved_to_another_district_loses_the_old_one_at_once(client, token_for, database_url):
    operator = bearer(token_for(Role.operator))
    created = await client.post(
        "/v1/admin/staff",
        json={"email": "moved@seoul.go.kr", "name": "이동", "role": "social_worker", "districts": ["11680"]},
        headers=operator,
    )
    staff_id = created.json()["id"]
    # The token still says 11680, as tokens minted before the move do.
    token = bearer(token_for(Role.social_worker, districts=("11680",), subject=f"staff:{staff_id}"))
    assert (await client.get("/v1/districts/11680/summary", headers=token)).status_code == 200

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE staff_districts SET district = '11110' WHERE staff_id = $1", staff_id)
    finally:
        await conn.close()

    assert (await client.get("/v1/districts/11680/summary", headers=token)).status_code == 403
    assert (await client.get("/v1/districts/11110/summary", headers=token)).status_code == 200
