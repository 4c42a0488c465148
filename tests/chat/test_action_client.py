"""The actions' API client keeps one connection to the API, and still answers after the API was away."""

from __future__ import annotations

import json

import pytest

from bot.actions.client import ApiError, call
from fakes.rasa import closed_port_url
from fakes.server import BackgroundServer


class _Echo:
    """An ASGI app answering every request with the client port it came from and the Authorization it carried."""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        body = json.dumps({"port": scope["client"][1], "auth": headers.get(b"authorization", b"").decode()})
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body.encode()})


async def test_calls_in_one_process_share_one_connection_and_each_carries_the_token(monkeypatch) -> None:
    # A client per call loaded the CA bundle each time (tens of ms a call) and opened a connection each time.
    with BackgroundServer(_Echo()) as server:
        monkeypatch.setenv("SAFECITY_API_URL", server.url)
        monkeypatch.setenv("SAFECITY_SERVICE_TOKEN", "first")
        one = (await call("GET", "/v1/bot/people/a")).body
        monkeypatch.setenv("SAFECITY_SERVICE_TOKEN", "second")
        two = (await call("GET", "/v1/bot/people/b")).body
    assert one["port"] == two["port"]
    assert (one["auth"], two["auth"]) == ("Bearer first", "Bearer second")


async def test_a_call_after_the_api_was_unreachable_reaches_it(monkeypatch) -> None:
    monkeypatch.setenv("SAFECITY_API_URL", closed_port_url())
    with pytest.raises(ApiError):
        await call("GET", "/v1/bot/people/a")
    with BackgroundServer(_Echo()) as server:
        monkeypatch.setenv("SAFECITY_API_URL", server.url)
        assert (await call("GET", "/v1/bot/people/a")).status == 200
