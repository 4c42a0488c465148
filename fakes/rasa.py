"""Stand-ins for Rasa's REST channel: one that answers (recording what it was sent), one too slow to wait for."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from litestar.types import Receive, Scope, Send


def closed_port_url() -> str:
    """A local URL nothing listens on: Rasa down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class FakeRasa:
    """Rasa's REST webhook: records each message and answers with ``reply(message)`` (a list of texts)."""

    def __init__(self, *, delay_s: float = 0.0) -> None:
        self.received: list[dict[str, Any]] = []
        self.delay_s = delay_s
        self.url = ""  # set once served
        self.reply = lambda message: [f"bot: {message['message']}"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        if scope["path"] != "/webhooks/rest/webhook":
            await _respond(send, 404, [])
            return
        message = json.loads(body)
        self.received.append(message)
        await asyncio.sleep(self.delay_s)
        texts = self.reply(message)
        await _respond(send, 200, [{"recipient_id": message["sender"], "text": t} for t in texts])


async def _respond(send: Send, status: int, payload: object) -> None:
    data = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": data})
