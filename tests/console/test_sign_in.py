"""Signing in to the console: the session cookie, sign-out, waits, CSRF on the form, and the session's limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import msgspec

from api.console.sessions import SESSION_COOKIE, token_hash
from api.platform.settings import ConsoleSettings
from tests.console.conftest import PASSWORD, csrf_of, sign_in


async def test_signing_in_sets_an_httponly_samesite_cookie_and_opens_the_queue(client, make_staff, pool):
    await make_staff("kim@seoul.go.kr")
    response = await sign_in(client, "Kim@Seoul.go.kr ")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/queue"
    header = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/console" in header
    assert "Secure" not in header  # plain http here; over TLS it is Secure (below)
    token = header.split(";")[0].split("=", 1)[1]
    # Only a hash of the token is stored.
    stored = await pool.fetchval("SELECT token_hash FROM console_sessions")
    assert stored == token_hash(token) and token.encode() not in stored
    queue = await client.get("/console/queue")
    assert queue.status_code == 200 and "사례 대기열" in queue.text
    assert queue.headers["cache-control"] == "no-store" and queue.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in queue.headers["content-security-policy"]
    assert "kim" in queue.text  # who is signed in


async def test_the_cookie_is_secure_when_served_over_tls(app, make_staff):
    from litestar.testing import AsyncTestClient

    await make_staff("kim@seoul.go.kr")
    async with AsyncTestClient(app=app, base_url="https://safecity.test") as tls:
        response = await sign_in(tls, "kim@seoul.go.kr")
    header = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "Secure" in header


async def test_a_page_without_a_session_redirects_to_the_sign_in_form(client):
    response = await client.get("/console/queue?district=11110", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/sign-in?next=/console/queue")
    poll = await client.get("/console/queue/version", headers={"X-Console-Poll": "1"})
    assert poll.status_code == 401


async def test_a_wrong_password_is_refused_with_a_message(client, make_staff, pool):
    await make_staff("kim@seoul.go.kr")
    response = await sign_in(client, "kim@seoul.go.kr", "not the password")
    assert response.status_code == 401
    assert "이메일 또는 비밀번호가 올바르지 않습니다" in response.text
    assert await pool.fetchval("SELECT count(*) FROM console_sessions") == 0
    unknown = await sign_in(client, "nobody@seoul.go.kr", "whatever it is")
    assert unknown.status_code == 401 and "이메일 또는 비밀번호가 올바르지 않습니다" in unknown.text


async def test_five_failures_make_a_new_source_wait_even_with_the_right_password(client, make_staff, pool):
    await make_staff("kim@seoul.go.kr")
    for _ in range(5):
        assert (await sign_in(client, "kim@seoul.go.kr", "guess guess guess")).status_code == 401
    waiting = await sign_in(client, "kim@seoul.go.kr", PASSWORD)
    assert waiting.status_code == 429
    assert waiting.headers["retry-after"] in ("1", "2")
    assert "로그인 실패가 많아 기다려야 합니다" in waiting.text and re.search(
        r"\d+초 뒤에 다시 시도하세요", waiting.text
    )
    # Tries while waiting are not counted, so the wait ends when its time has passed.
    assert await pool.fetchval("SELECT count(*) FROM console_sign_in_failures") == 5
    await pool.execute("UPDATE console_sign_in_failures SET at = at - interval '2 seconds'")
    assert (await sign_in(client, "kim@seoul.go.kr", PASSWORD)).status_code == 303
    # A right password forgets its source's failures.
    assert await pool.fetchval("SELECT count(*) FROM console_sign_in_failures") == 0


async def test_the_wait_message_is_in_english_when_asked(client, make_staff):
    await make_staff("kim@seoul.go.kr")
    switched = await client.get("/console/language?to=en&next=/console/sign-in", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/console/sign-in"
    for _ in range(5):
        await sign_in(client, "kim@seoul.go.kr", "guess guess guess")
    waiting = await sign_in(client, "kim@seoul.go.kr", PASSWORD)
    assert "Too many failed sign-ins from this address: try again in" in waiting.text


async def test_the_sign_in_form_refuses_a_post_without_its_csrf_token(client, make_staff):
    await make_staff("kim@seoul.go.kr")
    await client.get("/console/sign-in")
    response = await client.post(
        "/console/sign-in", data={"email": "kim@seoul.go.kr", "password": PASSWORD, "csrf": "forged"}
    )
    assert response.status_code == 403
    assert "보안 토큰" in response.text


async def test_signing_out_ends_the_session_on_the_server(client, make_staff, pool):
    await make_staff("kim@seoul.go.kr")
    await sign_in(client, "kim@seoul.go.kr")
    page = await client.get("/console/queue")
    cookie = client.cookies.get(SESSION_COOKIE)
    refused = await client.post("/console/sign-out", data={"csrf": "wrong"}, follow_redirects=False)
    assert refused.status_code == 403
    response = await client.post("/console/sign-out", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/console/sign-in")
    assert await pool.fetchval("SELECT count(*) FROM console_sessions") == 0
    # The old cookie, replayed, opens nothing.
    client.cookies.set(SESSION_COOKIE, cookie)
    assert (await client.get("/console/queue", follow_redirects=False)).status_code == 303


async def test_an_idle_or_expired_session_or_a_deactivated_account_must_sign_in_again(client, make_staff, pool):
    await make_staff("kim@seoul.go.kr")
    await sign_in(client, "kim@seoul.go.kr")
    idle = ConsoleSettings().idle_timeout_s
    await pool.execute("UPDATE console_sessions SET last_seen_at = now() - make_interval(secs => $1)", idle + 1)
    assert (await client.get("/console/queue", follow_redirects=False)).status_code == 303

    await sign_in(client, "kim@seoul.go.kr")
    await pool.execute("UPDATE console_sessions SET expires_at = now()")
    assert (await client.get("/console/queue", follow_redirects=False)).status_code == 303

    await sign_in(client, "kim@seoul.go.kr")
    assert (await client.get("/console/queue")).status_code == 200
    await pool.execute("UPDATE staff SET active = false")
    assert (await client.get("/console/queue", follow_redirects=False)).status_code == 303
    assert (await sign_in(client, "kim@seoul.go.kr")).status_code == 401


async def test_a_session_lasts_a_shift(client, make_staff, pool):
    await make_staff("kim@seoul.go.kr")
    before = datetime.now(UTC)
    await sign_in(client, "kim@seoul.go.kr")
    expires = await pool.fetchval("SELECT expires_at FROM console_sessions")
    ttl = timedelta(seconds=ConsoleSettings().session_ttl_s)
    assert before + ttl <= expires <= datetime.now(UTC) + ttl


async def test_sign_in_goes_back_only_to_a_console_page(client, make_staff):
    await make_staff("kim@seoul.go.kr")
    form = await client.get("/console/sign-in?next=https://evil.example/")
    assert 'name="next" value="/console/queue"' in form.text
    response = await client.post(
        "/console/sign-in",
        data={"email": "kim@seoul.go.kr", "password": PASSWORD, "csrf": csrf_of(form.text), "next": "//evil.example"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/console/queue"


async def test_the_json_api_does_not_take_the_console_cookie(client, make_staff):
    await make_staff("kim@seoul.go.kr")
    await sign_in(client, "kim@seoul.go.kr")
    response = await client.get("/v1/care/cases")
    assert response.status_code == 401
    assert msgspec.json.decode(response.content)["status"] == 401
