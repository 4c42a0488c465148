"""SolapiChannel (the real ``solapi`` SDK) against the fake SOLAPI: SMS, LMS, 알림톡 and its fallback, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from api.platform.settings import Settings, SolapiSettings
from fakes.solapi import FakeSolapi
from notifications.channels import RoutedSmsChannel, build_channels
from notifications.channels.base import Failure, OutboundMessage, Reconcile
from notifications.channels.console import ConsoleChannel
from notifications.channels.sms import TwilioSmsChannel
from notifications.channels.solapi import SolapiChannel, national
from notifications.korean_text import euckr_bytes

KEY, SECRET, SENDER, PFID = "NCSTESTKEY000001", "test-solapi-api-secret", "0212345678", "KA01PF" + "7" * 24
TEMPLATE_ID = "KA01TP" + "1" * 24
TEMPLATE_TEXT = "[안전서울] #{text}"
SHORT = "[안전서울] 강풍 경보가 발효되었습니다."
LONG = "[안전서울] " + "저지대와 지하 공간을 벗어나 가까운 대피소로 가세요. " * 8


def sms(to: str, body: str = SHORT, **fields: object) -> OutboundMessage:
    return OutboundMessage(channel="sms", to=to, body=body, **fields)  # type: ignore[arg-type]


def number(n: int) -> str:
    return f"+8210{n:08d}"


@pytest.fixture
def fake() -> Iterator[FakeSolapi]:
    fake = FakeSolapi(api_key=KEY, api_secret=SECRET, sender=SENDER, pfid=PFID, templates={TEMPLATE_ID: TEMPLATE_TEXT})
    with fake.serve():
        yield fake


def settings_for(fake: FakeSolapi, **changes: str) -> SolapiSettings:
    fields = {
        "api_key": KEY,
        "api_secret": SECRET,
        "sender": "+82212345678",
        "base_url": fake.url,
        "kakao_pfid": PFID,
        "kakao_templates": f"notice.test={TEMPLATE_ID}",
    } | changes
    return SolapiSettings(**fields)


@pytest.fixture
def channel(fake: FakeSolapi) -> SolapiChannel:
    return SolapiChannel(settings_for(fake))


async def test_a_korean_sms_goes_through_the_sdk_signed(channel: SolapiChannel, fake: FakeSolapi) -> None:
    [result] = await channel.send_many([sms(number(1), ref="41")])

    assert result.ok and result.provider_id
    [sent] = fake.sent
    assert sent["messageId"] == result.provider_id
    assert (sent["to"], sent["from"], sent["text"], sent["type"]) == ("01000000001", SENDER, SHORT, "SMS")
    assert sent["customFields"] == {"n": "0", "outbox": "41"}


async def test_a_long_text_is_one_lms(channel: SolapiChannel, fake: FakeSolapi) -> None:
    assert euckr_bytes(LONG) > 90

    [result] = await channel.send_many([sms(number(1), LONG)])

    assert result.ok
    [sent] = fake.sent
    assert (sent["type"], sent["text"]) == ("LMS", LONG)


async def test_alimtalk_goes_first_and_falls_back_to_sms_without_kakaotalk(
    channel: SolapiChannel, fake: FakeSolapi
) -> None:
    fake.no_kakao("01000000002")

    results = await channel.send_many(
        [sms(number(1), template="notice.test"), sms(number(2), template="notice.test"), sms(number(3))]
    )

    assert all(r.ok for r in results)
    by_to = {s["to"]: s for s in fake.sent}
    assert by_to["01000000001"]["type"] == "ATA"
    assert by_to["01000000001"]["kakaoOptions"] == {"pfId": PFID, "templateId": TEMPLATE_ID, "disableSms": False}
    assert (by_to["01000000001"]["delivered_as"], by_to["01000000002"]["delivered_as"]) == ("ATA", "SMS")
    assert by_to["01000000003"]["type"] == "SMS"  # a template with no 알림톡 of its own is an SMS


async def test_without_a_kakao_channel_templates_go_as_sms(fake: FakeSolapi) -> None:
    channel = SolapiChannel(settings_for(fake, kakao_pfid="", kakao_templates=""))
    [result] = await channel.send_many([sms(number(1), template="notice.test")])
    assert result.ok and fake.sent[0]["type"] == "SMS"


@pytest.mark.parametrize(
    ("code", "failure"),
    [
        ("1061", Failure.opted_out),  # 080 수신거부
        ("1060", Failure.bad_recipient),
        ("3010", Failure.bad_recipient),
        ("1062", Failure.transient),  # our sender is not registered: a configuration problem, they wait
        ("1030", Failure.transient),  # no balance
        ("1029", Failure.rejected),
    ],
)
async def test_refusals_by_status_code(channel: SolapiChannel, fake: FakeSolapi, code: str, failure: Failure) -> None:
    fake.fail_number("01000000009", code)

    bad, good = await channel.send_many([sms(number(9)), sms(number(1))])

    assert (bad.ok, bad.failure) == (False, failure)
    assert bad.error is not None and bad.error.startswith(f"solapi {code}: ")
    assert good.ok
    assert [s["to"] for s in fake.sent] == ["01000000001"]


async def test_a_batch_refused_whole_answers_each_message(channel: SolapiChannel, fake: FakeSolapi) -> None:
    fake.fail_number("01000000001", "1061")
    fake.fail_number("01000000002", "3010")

    results = await channel.send_many([sms(number(1)), sms(number(2))])

    assert [r.failure for r in results] == [Failure.opted_out, Failure.bad_recipient]


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_an_error_answer_is_transient(channel: SolapiChannel, fake: FakeSolapi, status: int) -> None:
    fake.fail_next(1, status)
    results = await channel.send_many([sms(number(1)), sms(number(2))])
    assert [r.failure for r in results] == [Failure.transient, Failure.transient]
    assert fake.sent == []


async def test_wrong_credentials_keep_the_messages_waiting(fake: FakeSolapi) -> None:
    channel = SolapiChannel(settings_for(fake, api_secret="not-the-secret"))
    [result] = await channel.send_many([sms(number(1))])
    assert result.failure is Failure.transient
    assert result.error is not None and "SignatureDoesNotMatch" in result.error


async def test_a_refused_connection_sent_nothing() -> None:
    channel = SolapiChannel(
        SolapiSettings(api_key=KEY, api_secret=SECRET, sender=SENDER, base_url="http://127.0.0.1:9")
    )
    [result] = await channel.send_many([sms(number(1))])
    assert result.failure is Failure.transient


async def test_no_answer_in_time_is_an_unknown_outcome_and_a_lookup_finds_it(
    channel: SolapiChannel, fake: FakeSolapi
) -> None:
    began = datetime.now(UTC)
    fake.delay(6)  # past the SDK's 5 s read timeout; the fake accepts the message all the same
    [first] = await channel.send_many([sms(number(1), ref="77")])
    assert first.failure is Failure.unknown
    assert first.retry_after_s == 10
    fake.delay(0)
    for _ in range(50):  # the retry waits 10 s; by then the slow fake has finished with the first call
        if fake.sent:
            break
        await asyncio.sleep(0.1)

    [again] = await channel.send_many([sms(number(1), ref="77", reconcile=Reconcile(since=began))])

    assert again.ok and again.reconciled
    [sent] = fake.sent
    assert again.provider_id == sent["messageId"]
    assert fake.requests == 1 and fake.lookups == 1


async def test_a_lookup_that_finds_nothing_sends(channel: SolapiChannel, fake: FakeSolapi) -> None:
    [result] = await channel.send_many([sms(number(1), ref="78", reconcile=Reconcile(since=datetime.now(UTC)))])
    assert result.ok and not result.reconciled
    assert fake.lookups == 1 and len(fake.sent) == 1


async def test_a_text_outside_euc_kr_is_refused_before_sending(channel: SolapiChannel, fake: FakeSolapi) -> None:
    [result] = await channel.send_many([sms(number(1), "괜찮아요 🦄")])
    assert result.failure is Failure.rejected
    assert fake.requests == 0


def test_numbers_are_sent_in_national_form() -> None:
    assert national("+821012345678") == "01012345678"
    assert national("+82212345678") == "0212345678"
    assert national("02-1234-5678") == "0212345678"


async def test_configuration_routes_korea_to_solapi_and_the_rest_to_twilio(fake: FakeSolapi) -> None:
    solapi = {"SOLAPI_API_KEY": KEY, "SOLAPI_API_SECRET": SECRET, "SOLAPI_SENDER": SENDER}
    twilio = {"TWILIO_ACCOUNT_SID": "AC" + "2" * 32, "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+15005550006"}
    both = build_channels(Settings.from_env(solapi | twilio))["sms"]
    only_solapi = build_channels(Settings.from_env(solapi))["sms"]
    try:
        assert isinstance(both, RoutedSmsChannel)
        assert (type(both.korea), type(both.other)) == (SolapiChannel, TwilioSmsChannel)
        assert isinstance(only_solapi, RoutedSmsChannel) and isinstance(only_solapi.other, ConsoleChannel)
        assert Settings.from_env(solapi).notify.korean_lms
        assert not Settings.from_env(twilio).notify.korean_lms
    finally:
        await both.aclose()


async def test_the_router_sends_each_number_through_its_country(fake: FakeSolapi) -> None:
    console = ConsoleChannel("sms")
    router = RoutedSmsChannel(korea=SolapiChannel(settings_for(fake)), other=console)

    results = await router.send_many([sms("+14155550100"), sms(number(1)), sms("+447700900123"), sms(number(2))])

    assert all(r.ok for r in results)
    assert [r.provider_id is not None and r.provider_id.startswith("console-") for r in results] == [
        True,
        False,
        True,
        False,
    ]
    assert [m.to for m in console.sent] == ["+14155550100", "+447700900123"]
    assert sorted(s["to"] for s in fake.sent) == ["01000000001", "01000000002"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SOLAPI_API_KEY": KEY, "SOLAPI_API_SECRET": SECRET}, "needs all of"),
        (
            {
                "SOLAPI_API_KEY": KEY,
                "SOLAPI_API_SECRET": SECRET,
                "SOLAPI_SENDER": SENDER,
                "SOLAPI_KAKAO_TEMPLATES": "a=b",
            },
            "without SOLAPI_KAKAO_PFID",
        ),
    ],
)
def test_half_a_solapi_configuration_is_refused_at_start(env: dict[str, str], message: str) -> None:
    from api.platform.settings import SettingsError

    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)
