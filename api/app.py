"""The Litestar application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import structlog
from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler, HTTPScope, Receive, Scope, Send

from api.accounts.routes import DistrictController, MeController, StaffController
from api.accounts.service import current_staff
from api.accounts.signin import OtpService
from api.accounts.signin_routes import AuthController
from api.alerts.routes import AlertController, AlertFeedController
from api.chat.inbound import forward_after_commit
from api.chat.inbound import handle_sms as chat_sms
from api.chat.kakao_linking import link_key
from api.chat.kakao_routes import KakaoLinkController, KakaoWebhooks
from api.chat.rasa import RasaClient
from api.chat.routes import BotPeopleController, ChatController, PlaceController
from api.console.pages import template_config
from api.console.routes import console_router
from api.evacuation.routes import GuidanceController, ShelterController
from api.hazards.open311 import Open311Controller
from api.hazards.routes import (
    HazardDeskController,
    HazardReportController,
    IncidentAdminController,
    IncidentFeedController,
    PublicPhotoController,
    RoutingAdminController,
    WatchController,
)
from api.health.metrics import scrape as metrics_scrape
from api.health.routes import health, ready
from api.platform.auth.guards import PUBLIC, BearerAuthMiddleware, guard
from api.platform.auth.tokens import TokenIssuer
from api.platform.db.migrations import discover
from api.platform.db.pool import create_pool, provide_connection
from api.platform.errors import EXCEPTION_HANDLERS
from api.platform.http import SafecityRequest, security_headers, with_body_deadline
from api.platform.idempotency.middleware import IdempotencyMiddleware
from api.platform.logging import configure_logging, with_request_id
from api.platform.openapi import SafecityOpenAPIConfig
from api.platform.settings import Settings
from api.sensors.routes import SensorController
from care.cases.routes import CaseController
from care.flood.inbound import handle_sms as flood_sms
from care.flood.routes import FloodController
from care.flood.voice import handle_call_answer as flood_call
from care.inbound import handle_sms
from care.on_duty_routes import RotaController
from care.routes import CheckinController, RecipientController
from care.voice import handle_call_answer
from notifications.routes import NoticeAcks, NotificationAdmin, TwilioWebhooks
from notifications.service import Notifier
from notifications.solapi_routes import SolapiWebhooks
from notifications.voice_routes import TwilioVoiceWebhooks

log = structlog.get_logger(__name__)


class SafecityApp(Litestar):
    """Litestar with request ids and request logs around everything, the router's own 404s and 405s included.

    Each request's body also has a deadline (``HTTP_BODY_TIMEOUT``), so a trickling client cannot hold it.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] == "http":
            http = cast(HTTPScope, scope)
            receive = with_body_deadline(receive, self.state.settings.http.body_timeout_s)
            await with_request_id(super().__call__, http, receive, send)
        else:
            await super().__call__(scope, receive, send)


ROUTES: list[ControllerRouterHandler] = [
    health,
    ready,
    metrics_scrape,
    AuthController,
    MeController,
    DistrictController,
    StaffController,
    NoticeAcks,
    NotificationAdmin,
    TwilioWebhooks,
    TwilioVoiceWebhooks,
    SolapiWebhooks,
    KakaoWebhooks,
    KakaoLinkController,
    RecipientController,
    CheckinController,
    CaseController,
    RotaController,
    HazardReportController,
    IncidentFeedController,
    IncidentAdminController,
    RoutingAdminController,
    WatchController,
    PublicPhotoController,
    HazardDeskController,
    Open311Controller,
    ShelterController,
    GuidanceController,
    AlertController,
    AlertFeedController,
    SensorController,
    FloodController,
    ChatController,
    BotPeopleController,
    PlaceController,
]


def create_app(settings: Settings) -> SafecityApp:
    """Build the API for these settings; it connects to the database when it starts."""
    tokens = TokenIssuer(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        app.state.pool = await create_pool(settings.db)
        app.state.rasa = RasaClient(settings.rasa)
        if app.state.rasa.off_because:
            log.info("chatbot off: chat gets an apology", reason=app.state.rasa.off_because)
        try:
            yield
        finally:
            await app.state.rasa.aclose()
            await app.state.pool.close()

    return SafecityApp(
        route_handlers=[*ROUTES, console_router()],  # a router of its own per app
        lifespan=[lifespan],
        dependencies={"db": Provide(provide_connection)},
        guards=[guard],
        middleware=[BearerAuthMiddleware, IdempotencyMiddleware],
        exception_handlers=EXCEPTION_HANDLERS,
        # JSON routes take a few KB; those that take more (photos, CAP, the console's forms) say so themselves.
        request_max_body_size=settings.http.max_body_bytes,
        request_class=SafecityRequest,
        before_send=[security_headers],
        template_config=template_config(),
        openapi_config=SafecityOpenAPIConfig(
            title="safecity",
            version="0.1.0",
            description="Seoul's smart and safe city services: hazards, warnings, shelters and care check-ins.",
            render_plugins=[ScalarRenderPlugin()],
            openapi_router=Router(path="/schema", route_handlers=[], opt=PUBLIC, include_in_schema=False),
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
            ),
            security=[{"bearer": []}],
        ),
        state=State(_initial_state(settings, tokens=tokens)),
        logging_config=None,
        debug=False,
    )


def _initial_state(settings: Settings, *, tokens: TokenIssuer) -> dict[str, object]:
    notifier = Notifier(settings.notify)
    return {
        "settings": settings,
        "tokens": tokens,
        "staff_lookup": current_staff,
        "notifier": notifier,
        # Domains that take inbound SMS text, asked in this order: flood answers (only answers from phones with an
        # open flood check), care check-ins, the chatbot.
        "inbound_handlers": [flood_sms, handle_sms, chat_sms],
        # What to run after the webhook's response, by the handler that took the text: the bot is called then.
        "inbound_followups": {"chat": forward_after_commit},
        # Domains that take the answers to our calls' menus, asked in this order: a flood check's call (only calls
        # that asked one), then care's check-in and safety calls.
        "voice_handlers": [flood_call, handle_call_answer],
        # The time the calls' webhooks act at: the wall clock; a test sets its own to play a day of calls.
        "clock": _utc_now,
        "kakao_link_key": link_key(settings.jwt_secret()),
        "otp": OtpService(settings=settings.auth, secret=settings.jwt_secret(), tokens=tokens, notifier=notifier),
        "migrations": discover(Path(settings.paths.migrations_dir)),
    }


def _utc_now() -> datetime:
    return datetime.now(UTC)


def app_from_env() -> SafecityApp:
    """Entry point for ``uvicorn --factory``: settings from the environment, logging set up in this process."""
    settings = Settings.from_env()
    configure_logging(settings.log, process="api")
    app = create_app(settings)
    # What start-up made (the modules, the app and its routes, most of the process's objects) lives as long as the
    # process: kept out of the collector's full passes, which walked it all mid-request (94 ms once under 500
    # check-ins a second; 2.5 ms after this). Here and not in create_app, so tests that build many apps free them.
    gc.freeze()
    return app
