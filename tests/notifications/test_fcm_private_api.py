"""The private firebase-admin API that notifications/channels/fcm.py relies on, in ``_messaging_service`` there.

The public API can neither point messaging at another host nor turn off the SDK's own retries. Each piece used is
checked here, so an upgrade that changes one fails with a message naming the version and what moved, rather than
as a puzzling failure elsewhere (or, without the fake, as pushes quietly sent to Google).
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Iterator

import firebase_admin
import pytest
from firebase_admin import messaging

from api.platform.settings import FcmSettings
from fakes.fcm import FakeFcm
from notifications.channels.base import Failure, OutboundMessage
from notifications.channels.fcm import FCM_BASE_URL, FcmChannel, StaticCredential

PROJECT = "safecity-private-api"
TOKEN = "fcm-token-1:APA91b000001"


def broken(what: str) -> str:
    return (
        f"firebase-admin {firebase_admin.__version__} changed private API that notifications/channels/fcm.py "
        f"(_messaging_service) relies on: {what}. Find the new way in this version's source, or pin the last "
        "version that had it."
    )


@pytest.fixture
def app() -> Iterator[firebase_admin.App]:
    app = firebase_admin.initialize_app(
        StaticCredential(PROJECT), {"projectId": PROJECT}, name=f"private-api-{uuid.uuid4().hex[:8]}"
    )
    yield app
    firebase_admin.delete_app(app)  # no loop runs in a plain test, so the service's asyncio.run() close works


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeFcm]:
    with FakeFcm() as fake:
        yield fake


def test_the_messaging_service_of_an_app_is_one_object_with_the_fcm_urls(app: firebase_admin.App) -> None:
    get = getattr(messaging, "_get_messaging_service", None)
    assert callable(get), broken("messaging._get_messaging_service is gone")
    service = get(app)
    # The public send and topic calls look the service up again; what we change must be the one they find.
    assert get(app) is service, broken("messaging._get_messaging_service no longer returns one service per app")
    assert getattr(service, "_fcm_url", None) == f"{FCM_BASE_URL}/v1/projects/{PROJECT}/messages:send", broken(
        "the messaging service's _fcm_url is not the FCM v1 send URL"
    )
    assert getattr(service, "_fcm_topic_url", None) == f"{FCM_BASE_URL}/v1/projects/{PROJECT}/registrations", broken(
        "the messaging service's _fcm_topic_url is not the FCM v1 registrations URL"
    )


def test_the_async_client_can_be_made_with_a_retry_config(app: firebase_admin.App) -> None:
    try:
        from firebase_admin import _http_client
        from firebase_admin._retry import HttpxRetry
    except ImportError as exc:
        pytest.fail(broken(f"cannot import firebase_admin._http_client or ._retry.HttpxRetry ({exc})"))
    service = messaging._get_messaging_service(app)
    assert isinstance(getattr(service, "_async_client", None), _http_client.HttpxAsyncClient), broken(
        "the messaging service's _async_client is not an _http_client.HttpxAsyncClient"
    )
    parameters = inspect.signature(_http_client.HttpxAsyncClient).parameters
    assert {"credential", "retry_config", "timeout"} <= parameters.keys(), broken(
        f"HttpxAsyncClient takes {sorted(parameters)}, not credential, retry_config and timeout"
    )
    assert "max_retries" in inspect.signature(HttpxRetry).parameters, broken("HttpxRetry takes no max_retries")


async def test_sends_and_topic_calls_go_to_the_endpoint_once_each(fake: FakeFcm) -> None:
    # The pieces above, in use: the rewritten URLs reach the fake, and the installed client makes one attempt.
    fake.reset()
    channel = FcmChannel(FcmSettings(endpoint=fake.url, project_id=PROJECT))
    try:
        fake.fail_next(1, "UNAVAILABLE")
        [failed] = await channel.send_many([OutboundMessage(channel="push", to=TOKEN, body="b")])
        requests = fake.state()["requests"]
        [subscribed] = await channel.subscribe([TOKEN], "district-11110")
    finally:
        await channel.aclose()

    assert failed.failure is Failure.transient and requests == 1, broken(
        f"a send that failed with 503 took {requests} requests to the endpoint, not 1: the URL rewrite or the "
        "single-attempt client no longer takes effect"
    )
    assert subscribed.ok and fake.subscriptions == {"district-11110": {TOKEN}}, broken(
        f"a topic subscription did not reach the endpoint ({subscribed.error})"
    )


def test_str_of_a_message_runs_the_encoders_checks() -> None:
    # Not private, but not documented either: FcmChannel picks out the one message the SDK will not encode this way.
    assert '"topic": "district-11110"' in str(messaging.Message(topic="district-11110")), broken(
        "str(messaging.Message) no longer gives the encoded message"
    )
    try:
        str(messaging.Message(topic="not a topic!"))
    except ValueError:
        return
    pytest.fail(broken("str(messaging.Message) no longer refuses a message the encoder would"))


async def test_a_channel_on_an_sdk_that_moved_the_url_fails_at_start_naming_the_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # How an upgrade that renamed the URL attribute would look to FcmChannel, in a running loop as at start-up.
    init = messaging._MessagingService.__init__

    def moved(service: object, app: firebase_admin.App) -> None:
        init(service, app)
        del service._fcm_url

    monkeypatch.setattr(messaging._MessagingService, "__init__", moved)
    before = set(firebase_admin._apps)

    with pytest.raises(RuntimeError, match=rf"firebase-admin {firebase_admin.__version__}: messaging _fcm_url is None"):
        FcmChannel(FcmSettings(endpoint="http://127.0.0.1:9", project_id=PROJECT))
    assert set(firebase_admin._apps) == before
