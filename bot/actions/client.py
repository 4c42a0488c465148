"""The actions' client of the safecity API: a service token, short timeouts, and one error for every failure."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import httpx

TIMEOUT_S = 4.0  # Rasa waits for the action server; the API's chat gives Rasa RASA_TIMEOUT in all


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
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S, headers=headers) as http:
            response = await http.request(method, path, params=params, json=json)
    except httpx.HTTPError as exc:
        raise ApiError(f"{method} {path}: {exc!r}") from exc
    if response.status_code not in expect:
        raise ApiError(f"{method} {path}: {response.status_code} {response.text[:200]}")
    try:
        body = response.json() if response.content else None
    except ValueError as exc:
        raise ApiError(f"{method} {path}: not JSON") from exc
    return Answer(response.status_code, body)
