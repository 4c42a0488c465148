"""Rasa's REST channel, answering 503 when a message failed instead of the replies collected before the failure.

Rasa's own REST channel catches any error in handling a message, logs it and answers 200 with whatever the bot
had said by then: an error after the bot spoke (the conversation not saved, the lock lost) looks like an
answer. This one answers ``503 {"error": …}`` then, so the API apologises (api/chat/rasa.py). Same path,
``/webhooks/rest/webhook``, same request and answer otherwise. Named in bot/credentials.yml.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)


class CheckedRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("safecity_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            sender_id = await self._extract_sender(request)
            collector = CollectingOutputChannel()
            message = UserMessage(
                self._extract_message(request),
                collector,
                sender_id,
                input_channel=self._extract_input_channel(request),
                metadata=self.get_metadata(request),
            )
            try:
                await on_new_message(message)
            except Exception as exc:
                log.exception("message from %s failed", sender_id)
                return response.json({"error": f"{type(exc).__name__}: {exc}"[:500]}, status=503)
            return response.json(collector.messages)

        return webhook
