"""SMS by country: Korean numbers through the Korean provider, every other number through the other channel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from notifications.channels.base import Channel, OutboundMessage, SendResult
from notifications.korean_text import is_korean


class RoutedSmsChannel:
    """One SMS channel to the dispatcher; each message goes through the channel its number's country calls for.

    Korean operators take international SMS only marked [국제발신] and never let Korea reply, so a Korean number
    goes through a Korean provider with a registered sender number; the rest through Twilio (or the console).
    """

    name = "sms"

    def __init__(self, korea: Channel, other: Channel, *, route: Callable[[str], bool] = is_korean) -> None:
        self.korea = korea
        self.other = other
        self._route = route
        self.batch_size = max(korea.batch_size, other.batch_size)

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Both groups at once, each in its channel's batches; the results in the messages' order."""
        korean = [i for i, m in enumerate(messages) if self._route(m.to)]
        chosen = set(korean)
        other = [i for i in range(len(messages)) if i not in chosen]
        answers = await asyncio.gather(
            _in_batches(self.korea, [messages[i] for i in korean]),
            _in_batches(self.other, [messages[i] for i in other]),
        )
        results: list[SendResult | None] = [None] * len(messages)
        for indices, answered in zip((korean, other), answers, strict=True):
            for i, result in zip(indices, answered, strict=True):
                results[i] = result
        return [r for r in results if r is not None]

    async def aclose(self) -> None:
        await asyncio.gather(self.korea.aclose(), self.other.aclose())


async def _in_batches(channel: Channel, messages: Sequence[OutboundMessage]) -> list[SendResult]:
    results: list[SendResult] = []
    for start in range(0, len(messages), channel.batch_size):
        results += await channel.send_many(messages[start : start + channel.batch_size])
    return results
