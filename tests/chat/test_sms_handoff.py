"""Texts to the bot: queued in the webhook's transaction, answered after it by SMS, exactly once, Rasa down or not."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from api.platform.jobs.runner import run_job
from api.worker import JOBS
from fakes.rasa import FakeRasa
from tests.chat.conftest import PERSON, enrol, fetch, text_us

STRANGER = "+821077778888"


async def until(condition, timeout_s: float = 5.0):  # type: ignore[no-untyped-def]
    """Wait for the webhook's background forwarding to be done."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not (result := await condition()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)
    return result


async def chat_rows(settings):  # type: ignore[no-untyped-def]
    return await fetch(settings.db.url, "SELECT message_sid, phone, body, language, state, attempts FROM chat_inbound")


async def sms_out(settings, phone: str):  # type: ignore[no-untyped-def]
    return await fetch(
        settings.db.url,
        "SELECT o.template, o.body, n.dedupe_key FROM outbox o JOIN notices n ON n.id = o.notice_id "
        "WHERE recipient = $1 ORDER BY o.id",
        phone,
    )


async def done(settings):  # type: ignore[no-untyped-def]
    rows = await chat_rows(settings)
    return rows if rows and all(r["state"] in ("answered", "apologised") for r in rows) else None


async def test_rasa_down_a_stranger_gets_an_apology_sms_in_their_language(client, settings):
    await text_us(client, "where can I go in this heat?", phone=STRANGER, sid="SM" + "1" * 32)
    [row] = await until(lambda: done(settings))
    assert (row["state"], row["language"]) == ("apologised", "en")
    [sms] = await sms_out(settings, STRANGER)
    assert sms["template"] == "chat.sorry"
    assert "Sorry, the chatbot cannot answer right now" in sms["body"]
    [handled] = await fetch(settings.db.url, "SELECT handled_by FROM sms_inbound")
    assert handled["handled_by"] == "chat"


async def test_rasa_down_someone_in_care_is_still_recorded_alive_and_told_in_korean(client, worker, settings):
    await enrol(client, worker)
    await text_us(client, "오늘 좀 어지러워요")
    [row] = await until(lambda: done(settings))
    assert row["state"] == "apologised"
    checkins = await fetch(settings.db.url, "SELECT channel, kind, body FROM checkins")
    assert [tuple(r) for r in checkins] == [("sms", "message", "오늘 좀 어지러워요")]
    templates = [r["template"] for r in await sms_out(settings, PERSON)]
    assert templates == ["chat.sorry"]
    assert "죄송합니다" in (await sms_out(settings, PERSON))[0]["body"]


async def test_check_in_and_help_words_stay_with_care(client, worker, settings):
    await enrol(client, worker)
    await text_us(client, "괜찮아요")
    await text_us(client, "도와주세요")
    assert await chat_rows(settings) == []
    handled = await fetch(settings.db.url, "SELECT handled_by FROM sms_inbound ORDER BY id")
    assert [r["handled_by"] for r in handled] == ["care.checkin", "care.help"]


@pytest.mark.rasa("fake")
async def test_the_bots_answer_goes_back_by_sms_through_the_outbox(client, worker, settings, fake_rasa: FakeRasa):
    await enrol(client, worker)
    await text_us(client, "가까운 대피소 알려줘", sid="SM" + "2" * 32)
    [row] = await until(lambda: done(settings))
    assert row["state"] == "answered"
    [sent] = fake_rasa.received
    assert sent == {
        "sender": f"sms-{PERSON}",
        "message": "가까운 대피소 알려줘",
        "metadata": {"language": "ko", "channel": "sms"},
    }
    [sms] = await sms_out(settings, PERSON)
    assert (sms["template"], sms["dedupe_key"]) == ("chat.reply", "chat-reply:SM" + "2" * 32)
    assert sms["body"].endswith("bot: 가까운 대피소 알려줘")


@pytest.mark.rasa("fake")
async def test_a_long_answer_goes_as_numbered_parts(client, settings, fake_rasa: FakeRasa):
    fake_rasa.reply = lambda m: ["가까운 대피소는 종로구청 무더위쉼터입니다. " * 12, "걸어서 10분입니다."]
    await text_us(client, "대피소?", phone=STRANGER)
    await until(lambda: done(settings))
    parts = await sms_out(settings, STRANGER)
    assert len(parts) > 1
    assert parts[0]["body"].startswith("(1/")


@pytest.mark.rasa("fake")
async def test_twilio_retrying_the_webhook_asks_the_bot_once(client, settings, fake_rasa: FakeRasa):
    for _ in range(3):
        await text_us(client, "hello bot", phone=STRANGER, sid="SM" + "3" * 32)
    await until(lambda: done(settings))
    await asyncio.sleep(0.2)
    assert len(fake_rasa.received) == 1
    assert len(await sms_out(settings, STRANGER)) == 1


@pytest.mark.rasa("fake")
async def test_the_job_forwards_what_the_fast_path_missed_exactly_once(client, app, pool, settings, fake_rasa):
    app.state.inbound_followups.clear()  # as if the API died right after committing the texts
    await text_us(client, "first text", phone=STRANGER, sid="SM" + "4" * 32)
    await text_us(client, "second text", phone=STRANGER, sid="SM" + "5" * 32)
    # A third was claimed by a forwarder that died before it could record an answer.
    await text_us(client, "third text", phone=STRANGER, sid="SM" + "6" * 32)
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE chat_inbound SET state = 'forwarding', attempts = 1, claimed_at = now() - interval '10 minutes' "
            "WHERE message_sid = $1",
            "SM" + "6" * 32,
        )
    assert fake_rasa.received == []
    job = JOBS["chat.sms-replies"]
    later = datetime.now(UTC) + timedelta(seconds=30)
    first = await run_job(pool, job, now=later, settings=settings)
    assert first.result == {"due": 3, "answered": 3, "apologised": 0, "taken_by_another": 0}
    again = await run_job(pool, job, now=later + timedelta(minutes=1), settings=settings)
    assert again.result == {"due": 0, "answered": 0, "apologised": 0, "taken_by_another": 0}
    assert sorted(m["message"] for m in fake_rasa.received) == ["first text", "second text", "third text"]
    bodies = [r["body"] for r in await sms_out(settings, STRANGER)]
    assert len(bodies) == 3
    assert {r["state"] for r in await chat_rows(settings)} == {"answered"}


@pytest.mark.rasa("fake")
async def test_the_job_leaves_texts_the_fast_path_is_still_answering(client, app, pool, settings, fake_rasa):
    app.state.inbound_followups.clear()
    await text_us(client, "just now", phone=STRANGER)
    result = await run_job(pool, JOBS["chat.sms-replies"], now=datetime.now(UTC), settings=settings)
    assert result.result["due"] == 0  # within the grace the fast path has
    assert fake_rasa.received == []
