"""Twilio's webhooks through the real app: signatures, delivery reports, STOP and START in both languages."""

from __future__ import annotations

import itertools

import pytest
from twilio.request_validator import RequestValidator

from api.platform.auth.tokens import Role
from tests.conftest import bearer, problem
from tests.notifications.conftest import NOW, PUBLIC_URL, TWILIO_SID, TWILIO_TOKEN, deliveries

PHONE = "+821098765432"
_sids = itertools.count(1)


def signed(path: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> dict[str, str]:
    signature = RequestValidator(token).compute_signature(PUBLIC_URL + path, params)
    return {"X-Twilio-Signature": signature}


async def text_us(client, body: str, *, sid: str | None = None, phone: str = PHONE):  # type: ignore[no-untyped-def]
    params = {
        "MessageSid": sid or f"SM{next(_sids):032x}",
        "AccountSid": TWILIO_SID,
        "From": phone,
        "To": "+15005550006",
        "Body": body,
        "NumSegments": "1",
    }
    return await client.post("/webhooks/twilio/sms", data=params, headers=signed("/webhooks/twilio/sms", params))


async def opted_out(pool) -> set[str]:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        return {r["phone"] for r in await conn.fetch("SELECT phone FROM sms_opt_outs")}


@pytest.mark.parametrize("word", ["STOP", "stop", "Unsubscribe", "수신거부", "그만", " 그만! "])
async def test_a_stop_word_opts_the_number_out(client, pool, word):
    response = await text_us(client, word)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert PHONE in await opted_out(pool)


async def test_a_korean_stop_is_confirmed_in_korean_and_english_is_left_to_twilio(client, pool):
    await text_us(client, "수신거부", phone="+821011112222")
    await text_us(client, "STOP", phone="+821033334444")
    rows = await deliveries(pool)
    assert [(r["recipient"], r["template"]) for r in rows] == [("+821011112222", "sms.opted_out")]
    assert "수신거부 처리되었습니다" in rows[0]["body"]
    assert rows[0]["state"] == "pending"  # the confirmation it asked for goes out despite the opt-out


@pytest.mark.parametrize(("stop", "start"), [("STOP", "START"), ("수신거부", "시작")])
async def test_start_opts_back_in(client, pool, notifier, stop, start):
    await text_us(client, stop)
    await text_us(client, start)
    assert PHONE not in await opted_out(pool)
    async with pool.acquire() as conn, conn.transaction():
        notice = await notifier.to_phone(
            conn, phone=PHONE, language="ko", template="notice.test", params={"text": "다시"}, now=NOW
        )
    [row] = await deliveries(pool, notice_id=notice.notice_id)
    assert row["state"] == "pending"


async def test_twilio_retrying_a_webhook_acts_once(client, pool):
    for _ in range(3):
        assert (await text_us(client, "수신거부", sid="SM" + "a" * 32)).status_code == 200
    assert len(await deliveries(pool)) == 1
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM sms_inbound") == 1


async def test_other_text_is_kept_and_offered_to_the_domains(client, pool):
    seen = []

    async def care(conn, sms, notifier):  # type: ignore[no-untyped-def]
        seen.append(sms.body)
        return "care.checkin" if sms.body == "괜찮아요" else None

    client.app.state.inbound_handlers[:] = [care]  # only this one: the chatbot would take any text
    await text_us(client, "괜찮아요")
    await text_us(client, "오늘 날씨 어때요?")
    assert seen == ["괜찮아요", "오늘 날씨 어때요?"]
    async with pool.acquire() as conn:
        handled = [r["handled_by"] for r in await conn.fetch("SELECT handled_by FROM sms_inbound ORDER BY id")]
    assert handled == ["care.checkin", "unhandled"]
    assert await opted_out(pool) == set()


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "bad_signature"), ({"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}, "bad_signature")],
)
async def test_an_unsigned_or_badly_signed_webhook_is_refused(client, pool, headers, code):
    params = {"MessageSid": "SM" + "b" * 32, "From": PHONE, "To": "+15005550006", "Body": "STOP"}
    response = await client.post("/webhooks/twilio/sms", data=params, headers=headers)
    assert response.status_code == 403
    assert problem(response)["code"] == code
    assert await opted_out(pool) == set()


async def test_a_webhook_signed_with_another_token_is_refused(client):
    params = {"MessageSid": "SM" + "c" * 32, "MessageStatus": "delivered"}
    response = await client.post(
        "/webhooks/twilio/status", data=params, headers=signed("/webhooks/twilio/status", params, "another-token")
    )
    assert response.status_code == 403


async def status_report(client, sid: str, status: str, error_code: str | None = None):  # type: ignore[no-untyped-def]
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": TWILIO_SID, "To": PHONE}
    if error_code:
        params["ErrorCode"] = error_code
    return await client.post("/webhooks/twilio/status", data=params, headers=signed("/webhooks/twilio/status", params))


async def sent_sms(pool, notifier, sid: str) -> int:  # type: ignore[no-untyped-def]
    """An SMS the dispatcher has handed to Twilio as ``sid``."""
    async with pool.acquire() as conn, conn.transaction():
        notice = await notifier.to_phone(
            conn, phone=PHONE, language="ko", template="notice.test", params={"text": "x"}, now=NOW
        )
        await conn.execute(
            "UPDATE outbox SET state = 'sent', provider_id = $2, sent_at = now() WHERE notice_id = $1",
            notice.notice_id,
            sid,
        )
    return notice.notice_id


async def test_a_delivery_report_marks_the_sms_delivered(client, pool, notifier):
    notice_id = await sent_sms(pool, notifier, "SM" + "d" * 32)
    assert (await status_report(client, "SM" + "d" * 32, "sent")).status_code == 204
    assert (await status_report(client, "SM" + "d" * 32, "delivered")).status_code == 204
    [row] = await deliveries(pool, notice_id=notice_id)
    assert row["state"] == "delivered"
    assert row["delivered_at"] is not None


async def test_an_undelivered_report_records_the_error_and_an_opt_out(client, pool, notifier):
    notice_id = await sent_sms(pool, notifier, "SM" + "e" * 32)
    assert (await status_report(client, "SM" + "e" * 32, "undelivered", "21610")).status_code == 204
    [row] = await deliveries(pool, notice_id=notice_id)
    assert (row["state"], row["last_error"]) == ("failed", "twilio 21610: undelivered")
    assert PHONE in await opted_out(pool)


async def test_a_status_callback_without_its_fields_is_a_clear_error(client):
    params = {"AccountSid": TWILIO_SID}
    response = await client.post(
        "/webhooks/twilio/status", data=params, headers=signed("/webhooks/twilio/status", params)
    )
    assert response.status_code == 422
    assert "MessageSid" in problem(response)["detail"]


async def test_operators_see_deliveries_by_recipient_and_state_and_a_summary(client, pool, notifier, token_for):
    await sent_sms(pool, notifier, "SM" + "f" * 32)
    async with pool.acquire() as conn, conn.transaction():
        await notifier.to_phone(
            conn, phone="010-1111-2222", language="en", template="notice.test", params={"text": "y"}, now=NOW
        )
    operator = bearer(token_for(Role.operator))

    page = await client.get(
        "/v1/admin/notifications", params={"recipient": "010-9876-5432", "state": "sent"}, headers=operator
    )
    assert page.status_code == 200
    [item] = page.json()["items"]
    assert (item["recipient"], item["state"], item["provider_id"]) == (PHONE, "sent", "SM" + "f" * 32)

    summary = await client.get("/v1/admin/notifications/summary", headers=operator)
    assert summary.json()["by_state"] == {"pending": 1, "sent": 1}
    assert summary.json()["total"] == 2

    bad = await client.get("/v1/admin/notifications", params={"state": "lost"}, headers=operator)
    assert bad.status_code == 400
    assert problem(bad)["errors"][0]["field"] == "state"  # the name the client sent, not the Python one
    citizen = await client.get("/v1/admin/notifications", headers=bearer(token_for(Role.citizen, subject="citizen:1")))
    assert citizen.status_code == 403


async def test_a_citizen_acknowledges_only_their_own_notice(client, pool, notifier, make_citizen, token_for):
    mine = await make_citizen(phone="+821077778888", tokens=("tok-mine",))
    other = await make_citizen(phone="+821077779999", tokens=("tok-other",))
    async with pool.acquire() as conn, conn.transaction():
        notice = await notifier.to_citizen(
            conn, citizen_id=mine, template="notice.test", params={"text": "z"}, now=NOW, critical=True
        )
    path = f"/v1/me/notices/{notice.notice_id}/ack"
    refused = await client.post(path, headers=bearer(token_for(Role.citizen, subject=f"citizen:{other}")))
    assert refused.status_code == 404
    acked = await client.post(path, headers=bearer(token_for(Role.citizen, subject=f"citizen:{mine}")))
    assert acked.status_code == 200
    states = {r["channel"]: r["state"] for r in await deliveries(pool, notice_id=notice.notice_id)}
    assert states == {"push": "pending", "sms": "cancelled"}
