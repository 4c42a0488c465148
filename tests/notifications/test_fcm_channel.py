"""FcmChannel with the real firebase-admin SDK against the fake FCM server: what FCM would see, and what we make of
its answers."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import firebase_admin
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from firebase_admin import messaging

from api.platform.settings import FcmSettings
from fakes.fcm import FakeFcm, FakeFcmRemote
from notifications.channels.base import Failure, OutboundMessage, PushChannel
from notifications.channels.fcm import FcmChannel

PROJECT = "safecity-test"
TITLE = "[서울시] 호우 경보"
BODY = "한강 수위 상승: 둔치 주차장 차량을 이동해 주십시오."


def push(to: str, *, topic: bool = False, urgent: bool = False, **data: str) -> OutboundMessage:
    return OutboundMessage(channel="push", to=to, title=TITLE, body=BODY, data=data, topic=topic, urgent=urgent)


def token(n: int) -> str:
    return f"fcm-token-{n}:APA91b{n:06d}"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeFcm]:
    with FakeFcm() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _fresh_fake(fake: FakeFcm) -> None:
    fake.reset()


@pytest.fixture
async def channel(fake: FakeFcm) -> AsyncIterator[FcmChannel]:
    channel = FcmChannel(FcmSettings(endpoint=fake.url, project_id=PROJECT))
    yield channel
    await channel.aclose()


@pytest.fixture
def sdk_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every list handed to messaging.send_each_async."""
    calls: list[int] = []
    real = messaging.send_each_async

    async def spy(messages: list[messaging.Message], dry_run: bool = False, app: Any = None) -> Any:
        calls.append(len(messages))
        assert dry_run is False
        return await real(messages, dry_run=dry_run, app=app)

    monkeypatch.setattr(messaging, "send_each_async", spy)
    return calls


async def test_a_device_message_arrives_as_fcm_sees_it(channel: FcmChannel, fake: FakeFcm) -> None:
    [result] = await channel.send_many([push(token(1), kind="alert", alert_id="42")])

    assert result.ok and result.failure is None
    assert result.provider_id is not None and result.provider_id.startswith(f"projects/{PROJECT}/messages/")
    assert fake.sent == [
        {
            "token": token(1),
            "notification": {"title": TITLE, "body": BODY},
            "data": {"kind": "alert", "alert_id": "42"},
            "android": {"priority": "normal"},
            "apns": {"headers": {"apns-priority": "5"}},
        }
    ]


@pytest.mark.parametrize(("urgent", "android", "apns"), [(True, "high", "10"), (False, "normal", "5")])
async def test_urgency_sets_priority_on_both_platforms(
    channel: FcmChannel, fake: FakeFcm, urgent: bool, android: str, apns: str
) -> None:
    await channel.send_many([push(token(1), urgent=urgent)])

    [sent] = fake.sent
    assert sent["android"] == {"priority": android}
    assert sent["apns"] == {"headers": {"apns-priority": apns}}


async def test_a_topic_message_goes_to_the_topic(channel: FcmChannel, fake: FakeFcm) -> None:
    [result] = await channel.send_many([push("district-11680", topic=True, urgent=True)])

    assert result.ok
    [sent] = fake.sent
    assert sent["topic"] == "district-11680"
    assert "token" not in sent
    assert sent["notification"] == {"title": TITLE, "body": BODY}


async def test_a_message_without_title_or_data_sends_just_the_body(channel: FcmChannel, fake: FakeFcm) -> None:
    await channel.send_many([OutboundMessage(channel="push", to=token(1), body=BODY)])

    [sent] = fake.sent
    assert sent["notification"] == {"body": BODY}
    assert "data" not in sent


async def test_600_messages_take_two_sdk_calls_and_all_are_answered(
    channel: FcmChannel, fake: FakeFcm, sdk_calls: list[int]
) -> None:
    messages = [push(token(n), n=str(n)) for n in range(600)]

    results = await channel.send_many(messages)

    assert sdk_calls == [500, 100]
    assert len(results) == 600 and all(r.ok for r in results)
    assert len({r.provider_id for r in results}) == 600
    assert sorted(s["token"] for s in fake.sent) == sorted(token(n) for n in range(600))
    assert fake.state()["requests"] == 600


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("UNREGISTERED", "UNREGISTERED: Requested entity was not found."),
        ("SENDER_ID_MISMATCH", "SENDER_ID_MISMATCH: SenderId mismatch"),
        ("INVALID_ARGUMENT", "INVALID_ARGUMENT: The registration token is not a valid FCM registration token"),
    ],
)
async def test_a_dead_token_is_a_bad_recipient_and_not_retried(
    channel: FcmChannel, fake: FakeFcm, status: str, error: str
) -> None:
    fake.fail_token(token(1), status)

    bad, good = await channel.send_many([push(token(1)), push(token(2))])

    assert (bad.ok, bad.failure, bad.permanent, bad.error) == (False, Failure.bad_recipient, True, error)
    assert bad.retry_after_s is None
    assert good.ok
    assert [s["token"] for s in fake.sent] == [token(2)]
    assert fake.state()["requests"] == 2  # one each: the SDK made no second attempt


async def test_a_payload_fcm_refuses_is_rejected_without_blaming_the_token(channel: FcmChannel, fake: FakeFcm) -> None:
    # FCM says INVALID_ARGUMENT for this too; forgetting the token over it would be wrong.
    [result] = await channel.send_many([push(token(1), **{"from": "safecity"})])

    assert (result.ok, result.failure) == (False, Failure.rejected)
    assert result.error == "INVALID_ARGUMENT: Invalid data payload key: from"
    assert fake.sent == []


async def test_a_message_the_sdk_will_not_encode_is_rejected_and_the_rest_still_go(
    channel: FcmChannel, fake: FakeFcm
) -> None:
    results = await channel.send_many([push(token(1)), push("not a topic!", topic=True), push(token(2))])

    assert [r.ok for r in results] == [True, False, True]
    assert results[1].failure is Failure.rejected
    assert results[1].error == "INVALID_MESSAGE: Malformed topic name."
    # The SDK sends a batch concurrently, so the provider may receive them in either order.
    assert sorted(s["token"] for s in fake.sent) == [token(1), token(2)]


@pytest.mark.parametrize(
    ("status", "retry_after_s"), [("UNAVAILABLE", None), ("INTERNAL", None), ("QUOTA_EXCEEDED", 60.0)]
)
async def test_a_provider_error_is_transient_and_reported_at_once(
    channel: FcmChannel, fake: FakeFcm, status: str, retry_after_s: float | None
) -> None:
    fake.fail_next(1, status)

    [result] = await channel.send_many([push(token(1))])

    # Had the SDK retried (its default for 500 and 503), the second attempt would have gone through.
    assert (result.ok, result.failure, result.permanent) == (False, Failure.transient, False)
    assert result.error is not None and result.error.startswith(f"{status}: ")
    assert result.retry_after_s == retry_after_s
    assert fake.sent == [] and fake.state()["requests"] == 1


async def test_retry_after_from_fcm_is_passed_on(channel: FcmChannel, fake: FakeFcm) -> None:
    fake.fail_next(1, "UNAVAILABLE", retry_after=17)

    [result] = await channel.send_many([push(token(1))])

    assert (result.failure, result.retry_after_s) == (Failure.transient, 17.0)


async def test_when_fcm_is_down_every_message_is_transient_and_the_answer_is_quick(
    channel: FcmChannel, fake: FakeFcm
) -> None:
    fake.down(True)

    results = await channel.send_many([push(token(n)) for n in range(50)])

    assert all(r.failure is Failure.transient for r in results) and len(results) == 50
    assert all(r.error == "UNAVAILABLE: The service is currently unavailable." for r in results)
    # One request each: the SDK's own retries (with seconds of backoff) are off; the outbox retries instead.
    assert fake.state()["requests"] == 50

    fake.down(False)
    assert all(r.ok for r in await channel.send_many([push(token(1))]))


async def test_an_unreachable_endpoint_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        channel = FcmChannel(FcmSettings(endpoint=f"http://127.0.0.1:{port}", project_id=PROJECT))
        try:
            results = await channel.send_many([push(token(1)), push("district-1", topic=True)])
        finally:
            await channel.aclose()

    assert [r.failure for r in results] == [Failure.transient, Failure.transient]
    assert all(r.error and r.error.startswith("UNAVAILABLE: ") for r in results)


async def test_a_slow_fcm_leaves_the_outcome_unknown_and_asks_for_a_longer_wait(fake: FakeFcm) -> None:
    channel = FcmChannel(FcmSettings(endpoint=fake.url, project_id=PROJECT, timeout_s=0.3))
    fake.delay(2)
    try:
        [result] = await channel.send_many([push(token(1))])
    finally:
        fake.delay(0)
        await channel.aclose()

    # The request went out and FCM took it (after its delay): not a failure, an outcome we do not know.
    assert (result.ok, result.failure, result.permanent) == (False, Failure.unknown, False)
    assert result.error is not None and result.error.startswith("DEADLINE_EXCEEDED: ")
    assert result.retry_after_s == pytest.approx(0.6)


async def test_subscribe_and_unsubscribe_change_topic_membership(channel: FcmChannel, fake: FakeFcm) -> None:
    fake.fail_token("dead-token", "UNREGISTERED")

    results = await channel.subscribe([token(1), "dead-token", token(2), token(1)], "district-11680")

    assert [(r.token, r.ok, r.failure) for r in results] == [
        (token(1), True, None),
        ("dead-token", False, Failure.bad_recipient),
        (token(2), True, None),
        (token(1), True, None),  # FCM answers 409 to a repeat; that is a success
    ]
    assert results[1].error == "UNREGISTERED"
    assert fake.subscriptions == {"district-11680": {token(1), token(2)}}

    results = await channel.unsubscribe([token(1), token(3)], "district-11680")

    assert [r.ok for r in results] == [True, True]  # not subscribed is fine: the SDK asks with allow_missing
    assert fake.subscriptions == {"district-11680": {token(2)}}


async def test_topic_calls_report_bad_and_empty_tokens(channel: FcmChannel, fake: FakeFcm) -> None:
    fake.fail_token("malformed", "INVALID_ARGUMENT")

    results = await channel.subscribe(["malformed", "", token(1)], "district-1")

    assert [(r.ok, r.failure) for r in results] == [
        (False, Failure.bad_recipient),
        (False, Failure.bad_recipient),
        (True, None),
    ]
    assert fake.subscriptions == {"district-1": {token(1)}}


async def test_topic_calls_while_fcm_is_down_are_transient(channel: FcmChannel, fake: FakeFcm) -> None:
    fake.down(True)

    results = await channel.subscribe([token(1), token(2)], "district-1")

    assert [(r.ok, r.failure, r.error) for r in results] == [(False, Failure.transient, "UNAVAILABLE")] * 2
    assert fake.state()["requests"] == 2


async def test_a_malformed_topic_name_is_rejected_for_every_token(channel: FcmChannel, fake: FakeFcm) -> None:
    results = await channel.subscribe([token(1), token(2)], "not a topic!")

    assert [r.failure for r in results] == [Failure.rejected, Failure.rejected]
    assert fake.state()["requests"] == 0


async def test_subscribing_more_than_1000_tokens_takes_several_calls(
    channel: FcmChannel, fake: FakeFcm, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = messaging.subscribe_to_topic_async

    async def spy(tokens: list[str], topic: str, app: Any = None) -> Any:
        calls.append(len(tokens))
        return await real(tokens, topic, app=app)

    monkeypatch.setattr(messaging, "subscribe_to_topic_async", spy)
    tokens = [token(n) for n in range(1200)]

    results = await channel.subscribe(tokens, "district-1")

    assert calls == [1000, 200]
    assert [r.token for r in results] == tokens and all(r.ok for r in results)
    assert fake.subscriptions == {"district-1": set(tokens)}


async def test_the_channel_owns_a_named_app_and_deletes_it(fake: FakeFcm) -> None:
    channel: PushChannel = FcmChannel(FcmSettings(endpoint=fake.url))  # the annotation is the protocol check
    try:
        assert (channel.name, channel.batch_size) == ("push", 500)
        assert firebase_admin.get_app(channel._app.name).project_id == "safecity-local"
        names = set(firebase_admin._apps)
        assert "[DEFAULT]" not in names and any(name.startswith("safecity-fcm-") for name in names)
    finally:
        await channel.aclose()
    await channel.aclose()

    assert set(firebase_admin._apps) == names - {n for n in names if n.startswith("safecity-fcm-")}
    [result] = await channel.send_many([push(token(1))])
    assert (result.ok, result.failure) == (False, Failure.transient)


def test_without_a_credentials_file_or_endpoint_there_is_no_channel() -> None:
    with pytest.raises(ValueError, match="FCM_CREDENTIALS_FILE or FCM_ENDPOINT"):
        FcmChannel(FcmSettings())


async def test_a_service_account_file_gives_the_project_id(tmp_path: Path, fake: FakeFcm) -> None:
    # Only construction: sending would fetch an OAuth token from Google, which tests never call.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    account = {
        "type": "service_account",
        "project_id": "safecity-from-file",
        "private_key_id": "0" * 40,
        "private_key": pem.decode(),
        "client_email": "fcm@safecity-from-file.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(account))

    channel = FcmChannel(FcmSettings(credentials_file=str(path), endpoint=fake.url))
    overridden = FcmChannel(FcmSettings(credentials_file=str(path), project_id="safecity-other"))
    try:
        assert channel.project_id == "safecity-from-file"
        assert overridden.project_id == "safecity-other"
        assert overridden._service._fcm_url == ("https://fcm.googleapis.com/v1/projects/safecity-other/messages:send")
    finally:
        await channel.aclose()
        await overridden.aclose()


def test_the_fake_requires_a_bearer_token(fake: FakeFcm) -> None:
    response = httpx.post(f"{fake.url}/v1/projects/{PROJECT}/messages:send", json={"message": {"token": "t"}})

    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"
    assert fake.sent == []


async def test_the_fake_is_driven_over_http_from_another_process(channel: FcmChannel, fake: FakeFcm) -> None:
    remote = FakeFcmRemote(fake.url)
    try:
        remote.fail_token(token(1), "UNREGISTERED")
        [dead] = await channel.send_many([push(token(1))])
        remote.fail_next(1, "QUOTA_EXCEEDED", retry_after=5)
        [busy] = await channel.send_many([push(token(2))])
        [sent] = await channel.send_many([push(token(2))])
        remote.down(True)
        [down] = await channel.send_many([push(token(2))])

        assert dead.failure is Failure.bad_recipient
        assert (busy.failure, busy.retry_after_s) == (Failure.transient, 5.0)
        assert sent.ok
        assert down.failure is Failure.transient
        state = remote.state()
        assert (state["requests"], state["sent"], state["down"]) == (4, 1, True)
        assert state["errors"] == {"UNREGISTERED": 1, "QUOTA_EXCEEDED": 1, "UNAVAILABLE": 1}
        assert remote.sent() == fake.sent == [fake.sent[0]] and fake.sent[0]["token"] == token(2)

        remote.reset()
        assert remote.state() == {
            "requests": 0,
            "sent": 0,
            "errors": {},
            "down": False,
            "delay": 0.0,
            "fail_next": 0,
            "failing_tokens": {},
            "subscriptions": {},
        }
    finally:
        remote.close()
