"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin

from api.accounts.routes import DistrictController, MeController, StaffController
from api.auth.guards import BearerAuthMiddleware, authorize
from api.auth.routes import AuthController
from api.auth.service import OtpService
from api.auth.tokens import TokenIssuer
from api.db.migrations import discover
from api.db.pool import create_pool, provide_connection
from api.errors import EXCEPTION_HANDLERS
from api.health.routes import health, ready
from api.idempotency.middleware import IdempotencyMiddleware
from api.logging import RequestIdMiddleware
from api.settings import Settings
from notifications.channels import ConsoleChannel

ROUTES = [health, ready, AuthController, MeController, DistrictController, StaffController]


def create_app(settings: Settings) -> Litestar:
    """Build the API for these settings. Opens nothing until the app starts."""
    tokens = TokenIssuer(settings)
    sms = ConsoleChannel("sms")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        app.state.pool = await create_pool(settings.db)
        try:
            yield
        finally:
            await app.state.pool.close()

    return Litestar(
        route_handlers=ROUTES,
        lifespan=[lifespan],
        dependencies={"db": Provide(provide_connection)},
        guards=[authorize],
        middleware=[
            RequestIdMiddleware,
            DefineMiddleware(BearerAuthMiddleware, exclude=["^/schema"]),
            IdempotencyMiddleware,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="safecity",
            version="0.1.0",
            description="Seoul's smart and safe city services: hazards, warnings, shelters and care check-ins.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
        ),
        state=_initial_state(settings, tokens=tokens, sms=sms),
        on_app_init=[_openapi_is_public],
        debug=False,
    )


def _initial_state(settings: Settings, *, tokens: TokenIssuer, sms: ConsoleChannel) -> dict[str, object]:
    return {
        "settings": settings,
        "tokens": tokens,
        "sms": sms,
        "otp": OtpService(settings=settings.auth, secret=settings.jwt_secret(), tokens=tokens, sms=sms),
        "migrations": discover(Path(settings.paths.migrations_dir)),
    }


def _openapi_is_public(config: AppConfig) -> AppConfig:
    """The schema is documentation for everyone; the app-wide guard would otherwise deny it."""
    config.opt = {**config.opt}
    return config


def app_from_env() -> Litestar:
    """Entry point for ``uvicorn --factory``: settings from the environment."""
    return create_app(Settings.from_env())
