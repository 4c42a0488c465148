"""Rasa's REST channel, as the API calls it: one message in, the bot's texts out, or ``BotUnavailable``."""

from __future__ import annotations

from typing import NamedTuple

import httpx
import msgspec
import structlog

from api.platform.settings import RasaSettings

log = structlog.get_logger(__name__)


class BotUnavailable(Exception):
    """Rasa is off, down, slow past the timeout, or answered with something that is not its REST reply."""


class BotReply(NamedTuple):
    """One of the bot's replies: its text, and its buttons as (title, payload)."""

    text: str | None
    buttons: list[tuple[str, str]]


class _Reply(msgspec.Struct, kw_only=True):
    text: str | None = None
    buttons: list[dict[str, object]] | None = None


_replies = msgspec.json.Decoder(list[_Reply])


class RasaClient:
    """One HTTP client per process (connections are reused); ``aclose`` it when the process stops."""

    def __init__(self, settings: RasaSettings) -> None:
        self._settings = settings
        self._off = settings.off_because()
        self._http: httpx.AsyncClient | None = None

    @property
    def off_because(self) -> str | None:
        return self._off

    async def ask(self, *, sender: str, text: str, language: str, channel: str) -> list[str]:
        """The bot's texts in answer to ``text`` from ``sender`` (buttons as one text of titles); ``BotUnavailable``."""
        texts = []
        for reply in await self.turn(sender=sender, text=text, language=language, channel=channel):
            if reply.text:
                texts.append(reply.text)
            if reply.buttons:
                texts.append(" / ".join(title for title, _ in reply.buttons))
        return texts

    async def turn(self, *, sender: str, text: str, language: str, channel: str) -> list[BotReply]:
        """The bot's replies, each a text and its buttons (title, payload); raises ``BotUnavailable``."""
        if self._off:
            raise BotUnavailable(f"the chatbot is off: {self._off}")
        if self._http is None:
            self._http = httpx.AsyncClient(base_url=self._settings.url, timeout=self._settings.timeout_s)
        payload = {"sender": sender, "message": text, "metadata": {"language": language, "channel": channel}}
        try:
            response = await self._http.post("/webhooks/rest/webhook", json=payload)
            response.raise_for_status()
            replies = _replies.decode(response.content)
        except httpx.TimeoutException as exc:
            raise BotUnavailable(f"Rasa did not answer within {self._settings.timeout_s}s") from exc
        except (httpx.HTTPError, msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise BotUnavailable(f"Rasa failed: {exc!r}") from exc
        return [
            BotReply(
                text=reply.text or None,
                buttons=[
                    (str(b["title"]), str(b.get("payload") or b["title"]))
                    for b in reply.buttons or ()
                    if b.get("title")
                ],
            )
            for reply in replies
        ]

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
