"""Calls through Twilio's Calls API, with the official SDK on the SMS channel's aiohttp client and our own TwiML.

A call's result comes later, in its status callbacks (``notifications.voice``); placing it is all this does. A
call is placed once per delivery: when an earlier attempt went unanswered the phone may already have rung, and
a second call would ring more often than the plan says, so it is not placed again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.rest import Client

from api.platform.phones import mask_phone
from api.platform.settings import TwilioSettings
from notifications import voice_twiml
from notifications.channels.base import Failure, OutboundMessage, SendResult
from notifications.channels.sms import LazyClient, _retry_after, _twilio_error, outcome_unknown

log = structlog.get_logger(__name__)

# Twilio's call progress events, each posted to the status callback as it happens.
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]
RING_SECONDS = 30  # then no-answer: long enough for someone slow to reach the phone, short of most voicemails
MAY_HAVE_RUNG = "not called again: an earlier attempt went unanswered and may have rung"


class TwilioVoiceChannel:
    """Places each call with ``calls.create`` from our number, many at a time, with answering-machine detection."""

    name = "voice"
    batch_size = 100

    def __init__(
        self, settings: TwilioSettings, *, public_url: str, concurrency: int = 20, timeout_s: float | None = None
    ) -> None:
        if not settings.enabled or not settings.from_number:
            raise ValueError("TwilioVoiceChannel needs an account SID, an auth token and a from number")
        self._settings = settings
        self._public_url = public_url
        self._timeout_s = timeout_s or settings.timeout_s
        self._semaphore = asyncio.Semaphore(concurrency)
        self._clients = LazyClient(settings, timeout_s=self._timeout_s)

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Place the calls concurrently; one result per message, in order, and never raises."""
        if not messages:
            return []
        client = self._twilio()
        return list(await asyncio.gather(*(self._call(client, message) for message in messages)))

    async def aclose(self) -> None:
        await self._clients.aclose()

    def _twilio(self) -> Client:
        return self._clients.get()

    def twiml(self, message: OutboundMessage) -> str:
        """What the call says: the check-in menu, or a message said twice."""
        language = message.data.get("language", "ko")
        if message.data.get("call") == "checkin":
            action = voice_twiml.gather_url(self._public_url, outbox_id=message.ref or "", round_=1)
            return voice_twiml.menu(message.body, language=language, action=action)
        return voice_twiml.say(message.body, language=language, times=2)

    async def _call(self, client: Client, message: OutboundMessage) -> SendResult:
        if message.reconcile is not None:
            log.warning("call not placed again", to=mask_phone(message.to), ref=message.ref)
            return SendResult(ok=False, failure=Failure.unknown, error=MAY_HAVE_RUNG)
        async with self._semaphore:
            _retry_after.set(None)
            try:
                call = await client.calls.create_async(
                    to=message.to,
                    from_=str(self._settings.from_number),
                    twiml=self.twiml(message),
                    status_callback=voice_twiml.status_url(self._public_url, outbox_id=message.ref or ""),
                    status_callback_event=STATUS_EVENTS,
                    status_callback_method="POST",
                    machine_detection="Enable",
                    timeout=RING_SECONDS,
                )
            except (TwilioRestException, TwilioServiceException) as exc:
                return _twilio_error(exc, message)
            except Exception as exc:  # no answer, or one that is not JSON
                error = f"{type(exc).__name__}: {exc}"[:500]
                if outcome_unknown(exc):
                    log.warning("call placed but unanswered: twilio may be ringing", to=mask_phone(message.to))
                    return SendResult(ok=False, failure=Failure.unknown, error=error, retry_after_s=2 * self._timeout_s)
                log.warning("call failed", to=mask_phone(message.to), ref=message.ref, error=error)
                return SendResult(ok=False, failure=Failure.transient, error=error)
        log.debug("call placed", to=mask_phone(message.to), ref=message.ref, sid=call.sid)
        return SendResult(ok=True, provider_id=call.sid)
