"""Delivery channels behind one small interface: ``send_many(messages) -> results``.

Real providers when their credentials are configured, the console otherwise.
"""

from __future__ import annotations

import structlog

from api.platform.settings import Settings
from notifications.channels.base import (
    Channel,
    Failure,
    OutboundMessage,
    PushChannel,
    Reconcile,
    SendResult,
    TopicResult,
)
from notifications.channels.console import ConsoleChannel
from notifications.channels.routed import RoutedSmsChannel

__all__ = [
    "Channel",
    "ConsoleChannel",
    "Failure",
    "OutboundMessage",
    "PushChannel",
    "Reconcile",
    "RoutedSmsChannel",
    "SendResult",
    "TopicResult",
    "build_channels",
]

log = structlog.get_logger(__name__)

STATUS_CALLBACK_PATH = "/webhooks/twilio/status"


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The push and SMS channels these settings call for."""
    channels: dict[str, Channel] = {}
    if settings.fcm.enabled:
        from notifications.channels.fcm import FcmChannel  # the SDK is imported only where it is used

        channels["push"] = FcmChannel(settings.fcm)
    else:
        channels["push"] = ConsoleChannel("push")
    channels["sms"] = _sms(settings)
    channels["voice"] = _voice(settings)
    log.info(
        "channels",
        push=type(channels["push"]).__name__,
        sms=_describe(channels["sms"]),
        voice=type(channels["voice"]).__name__,
    )
    return channels


def _sms(settings: Settings) -> Channel:
    """Korean numbers through SOLAPI when it is configured, the others through Twilio; the console for the rest."""
    other: Channel
    if settings.twilio.enabled:
        from notifications.channels.sms import TwilioSmsChannel

        public = settings.notify.public_url
        callback = public.rstrip("/") + STATUS_CALLBACK_PATH if public else None
        if callback is None:
            log.warning("PUBLIC_BASE_URL is unset: Twilio will not report delivery of our SMS")
        other = TwilioSmsChannel(settings.twilio, status_callback=callback, concurrency=settings.notify.sms_concurrency)
    else:
        other = ConsoleChannel("sms")
    if not settings.solapi.enabled:
        return other
    from notifications.channels.solapi import SolapiChannel  # the SDK is imported only where it is used

    return RoutedSmsChannel(korea=SolapiChannel(settings.solapi), other=other)


def _describe(channel: Channel) -> str:
    if isinstance(channel, RoutedSmsChannel):
        return f"{type(channel.korea).__name__} (+82), {type(channel.other).__name__} (others)"
    return type(channel).__name__


def _voice(settings: Settings) -> Channel:
    """Calls through Twilio, which must reach us for the call's menu and results: no public URL, no calls."""
    public = settings.notify.public_url
    if settings.twilio.enabled and settings.twilio.from_number and public:
        from notifications.channels.voice import TwilioVoiceChannel

        return TwilioVoiceChannel(settings.twilio, public_url=public, concurrency=settings.notify.sms_concurrency)
    if settings.twilio.enabled:
        log.warning("calls go to the console: Twilio calls need TWILIO_FROM_NUMBER and PUBLIC_BASE_URL")
    return ConsoleChannel("voice")
