"""What every request goes through: a deadline for its body."""

from __future__ import annotations

import asyncio

from litestar.exceptions import ClientException
from litestar.status_codes import HTTP_408_REQUEST_TIMEOUT
from litestar.types import Receive, ReceiveMessage


def with_body_deadline(receive: Receive, seconds: float) -> Receive:
    """``receive``, refusing with 408 a body that has not arrived whole within ``seconds`` of the headers.

    A client trickling its body a byte at a time would otherwise hold the request, and its connection, forever.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    done = False

    async def receive_in_time() -> ReceiveMessage:
        nonlocal done
        if done:  # after the body, receive waits only for a disconnect, which may come whenever
            return await receive()
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise ClientException(
                f"The request body took longer than {seconds:g} s to arrive.",
                status_code=HTTP_408_REQUEST_TIMEOUT,
                headers={"Connection": "close"},
            ) from None
        done = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    return receive_in_time
