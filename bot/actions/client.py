"""The actions' client of the safecity API: a service token, short timeouts, and one error for every failure.

One ``httpx.AsyncClient`` per event loop, kept: a client's construction loads the CA bundle into a new SSL context
(about 25-60 ms of CPU here), and a turn that starts a session and answers makes two or more calls, so a client per
call was most of a turn's latency (bench.chat_http). Keeping it also keeps the connection to the API alive.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from typing import Any
from urllib.parse import quote

import httpx

TIMEOUT_S = 4.0  # Rasa waits for the action server; the API's chat gives Rasa RASA_TIMEOUT in all
# Each loop's own client: a client's connections belong to the loop that opened them (tests run several loops).
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


def _client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = _clients[loop] = httpx.AsyncClient(timeout=TIMEOUT_S)
    return client


class ApiError(Exception):
    """The API could not be reached, timed out, or answered with an error the action did not expect."""


class Answer:
    """An API answer the action expected: its status and JSON body."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body

    def problem_code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


def person(sender: str) -> str:
    """The path of the person the bot talks to (``+`` and spaces of a typed number escaped)."""
    return f"/v1/bot/people/{quote(sender, safe='')}"


async def call(
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    json: dict[str, Any] | None = None,
    expect: tuple[int, ...] = (200, 201),
) -> Answer:
    """One call; statuses outside ``expect`` (and any transport failure) raise ``ApiError``."""
    base = os.environ.get("SAFECITY_API_URL", "http://127.0.0.1:8000")
    token = os.environ.get("SAFECITY_SERVICE_TOKEN", "")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = await _client().request(method, base.rstrip("/") + path, params=params, json=json, headers=headers)
    except httpx.HTTPError as exc:
        raise ApiError(f"{method} {path}: {exc!r}") from exc
    if response.status_code not in expect:
        raise ApiError(f"{method} {path}: {response.status_code} {response.text[:200]}")
    try:
        body = response.json() if response.content else None
    except ValueError as exc:
        raise ApiError(f"{method} {path}: not JSON") from exc
    return Answer(response.status_code, body)
