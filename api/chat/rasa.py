"""Rasa's REST channel, as the API calls it: one message in, the bot's texts out, or ``BotUnavailable``.

With several Rasa servers (``RASA_URL`` lists them) each conversation goes to the one its sender id hashes to
(rendezvous hashing: a server's conversations stay put when another joins or leaves), and to the next in its
order when that one refuses the connection. The message never reached the first then, so it is not handled
twice; the lock store all servers share (bot/lock_store.py) serialises a conversation whichever server takes it.
"""

from __future__ import annotations

import hashlib
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
        self._urls = settings.urls()
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
            self._http = httpx.AsyncClient(timeout=self._settings.timeout_s)
        payload = {"sender": sender, "message": text, "metadata": {"language": language, "channel": channel}}
        failure = BotUnavailable("RASA_URL names no server")
        for url in self.servers_for(sender):
            try:
                response = await self._http.post(f"{url}/webhooks/rest/webhook", json=payload)
                response.raise_for_status()
                replies = _replies.decode(response.content)
                break
            except httpx.ConnectError as exc:  # not delivered: the next server may take it
                log.warning("rasa server refused the connection", url=url, error=repr(exc))
                failure = BotUnavailable(f"no Rasa server took the connection; the last: {exc!r}")
            except httpx.TimeoutException as exc:
                raise BotUnavailable(f"Rasa did not answer within {self._settings.timeout_s}s") from exc
            except (httpx.HTTPError, msgspec.ValidationError, msgspec.DecodeError) as exc:
                raise BotUnavailable(f"Rasa failed: {exc!r}") from exc
        else:
            raise failure
        if not replies:
            # Rasa's REST channel answers a failure inside it (the lock store or the tracker store unreachable, a
            # conversation busy past the lock's wait) with an empty list and logs it; our bot says something to
            # every message, so silence is that failure, and the person gets the apology, not nothing.
            raise BotUnavailable("Rasa answered nothing: its lock store or tracker store failed (its log says which)")
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

    def servers_for(self, sender: str) -> list[str]:
        """The Rasa servers in the order ``sender``'s messages try them: the same order for the same sender."""
        return sorted(self._urls, key=lambda url: hashlib.blake2b(f"{url} {sender}".encode()).digest(), reverse=True)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
