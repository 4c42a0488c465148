"""Configuration picks the real providers when their credentials are given, the console otherwise."""

from __future__ import annotations

import pytest

from api.platform.settings import Settings, SettingsError
from notifications.channels import ConsoleChannel, build_channels
from notifications.channels.fcm import FcmChannel
from notifications.channels.sms import TwilioSmsChannel


async def test_with_nothing_configured_both_channels_record_to_the_console():
    channels = build_channels(Settings.from_env({}))
    assert isinstance(channels["push"], ConsoleChannel)
    assert isinstance(channels["sms"], ConsoleChannel)


async def test_credentials_select_fcm_and_twilio():
    channels = build_channels(
        Settings.from_env(
            {
                "FCM_ENDPOINT": "http://127.0.0.1:9",
                "FCM_PROJECT_ID": "safecity-test",
                "TWILIO_ACCOUNT_SID": "AC" + "2" * 32,
                "TWILIO_AUTH_TOKEN": "token",
                "TWILIO_MESSAGING_SERVICE_SID": "MG" + "3" * 32,
            }
        )
    )
    try:
        assert isinstance(channels["push"], FcmChannel)
        assert isinstance(channels["sms"], TwilioSmsChannel)
    finally:
        for channel in channels.values():
            await channel.aclose()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}, "needs a sender"),
        ({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_FROM_NUMBER": "+15005550006"}, "without TWILIO_AUTH_TOKEN"),
    ],
)
def test_half_a_twilio_configuration_is_refused_at_start(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)
