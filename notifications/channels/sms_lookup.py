"""Looking a message up at Twilio, before sending again one whose earlier attempt went unanswered.

Twilio's Messages list filters by To, From and DateSent, so this asks for the messages to the recipient from our
number (with a messaging service, from whichever number it picked) sent since the first attempt, and takes the one
with our exact body. A message still queued at Twilio has no DateSent yet and is not listed: the retry waits at
least twice the client timeout so that Twilio has sent it by then, and the status callback (which names the
outbox row) covers the rest.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import datetime, timedelta
from typing import Any

from twilio.base import values
from twilio.rest import Client

from api.platform.settings import TwilioSettings
from notifications.channels.base import OutboundMessage

# Our clock and Twilio's may differ by this much; the body, the recipient and the sender must match besides.
CLOCK_SKEW = timedelta(minutes=5)
LOOKUP_LIMIT = 200  # messages to one number since the first attempt, in pages of PAGE_SIZE
PAGE_SIZE = 50


class LookupFailed(Exception):
    """Twilio could not be asked, or did not answer: whether it has the message is still unknown."""


async def find_accepted(
    client: Client, message: OutboundMessage, settings: TwilioSettings, *, skip: Set[str] = frozenset()
) -> str | None:
    """The sid of the message Twilio accepted from an earlier attempt at ``message``, or None if it has none."""
    if message.reconcile is None:
        return None
    since = message.reconcile.since - CLOCK_SKEW
    try:
        listed = await client.messages.list_async(
            to=message.to,
            from_=values.unset if settings.messaging_service_sid else settings.from_number,
            date_sent_after=since,
            limit=LOOKUP_LIMIT,
            page_size=PAGE_SIZE,
        )
    except Exception as exc:  # an error answer, a timeout, a dropped connection: nothing was sent, ask again later
        raise LookupFailed(f"could not look the earlier attempt up at Twilio: {type(exc).__name__}: {exc}") from exc
    taken = message.reconcile.skip_ids | skip  # read after the wait: another message of the batch may have one now
    matches = [
        (when, str(m.sid))
        for m in listed
        if (when := _when(m)) is not None
        and when >= since
        and m.body == message.body
        and m.sid not in taken
        and str(m.direction or "").startswith("outbound")
        and (not settings.messaging_service_sid or m.messaging_service_sid == settings.messaging_service_sid)
    ]
    # Twilio lists the newest first; the earliest match is the one nearest the attempt that lost its answer.
    return min(matches)[1] if matches else None


def _when(message: Any) -> datetime | None:
    when = message.date_sent or message.date_created
    return when if isinstance(when, datetime) else None
