"""Rendering the console's pages: the Jinja environment, what every page knows, and errors as pages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response
from litestar.enums import MediaType
from litestar.exceptions import ValidationException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template import TemplateConfig
from litestar.types import ExceptionHandlersMap

from api.console import i18n
from api.console.sessions import (
    CSRF_FIELD,
    SESSION_COOKIE,
    ConsoleSession,
    CsrfRefused,
    SignInRequired,
    cleared,
    language,
)
from api.platform.districts import DISTRICTS
from api.platform.errors import Forbidden, NotFound, Problem

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
POLL_HEADER = "x-console-poll"
# Pages hold personal data: never cached, never framed, scripts and styles from this origin only.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """The app's templates: the console's, autoescaped, with Seoul times and district names as filters."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["seoul"] = i18n.seoul
    env.filters["phone"] = i18n.phone
    env.globals["DISTRICTS"] = DISTRICTS
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))


def context(request: Request, session: ConsoleSession | None, **values: Any) -> dict[str, Any]:
    """What every page knows: the language and its strings, who is signed in, the time, the CSRF token."""
    lang = language(request)
    now = datetime.now(UTC)
    return {
        "lang": lang,
        "t": i18n.translator(lang),
        "district_name": lambda code: i18n.district_name(code, lang),
        "session": session,
        "csrf": session.csrf_token if session else "",
        "now": now,
        "age": lambda born: i18n.age(born, now),
        "path": request.url.path,
        "here": quote(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""), safe=""),
        "errors": {},
        "values": {},
        "notice": None,
        **values,
    }


def page(
    request: Request, session: ConsoleSession | None, name: str, *, status_code: int = 200, **values: Any
) -> Template:
    return Template(
        template_name=name,
        context=context(request, session, **values),
        status_code=status_code,
        media_type=MediaType.HTML,
        headers=PAGE_HEADERS,
    )


def safe_next(raw: str | None) -> str:
    """Where to go after signing in or switching language: a console path, never another site."""
    if raw and raw.startswith("/console/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/console/queue"


def _error_page(request: Request, status: int, message: str) -> Response[str]:
    engine = request.app.template_engine
    assert engine is not None  # every app is built with the console's template_config
    html = engine.get_template("error.html").render(context(request, None, status=status, message=message))
    return Response(content=html, status_code=status, media_type=MediaType.HTML, headers=PAGE_HEADERS)


def _sign_in_required(request: Request, exc: SignInRequired) -> Response[Any]:
    if request.headers.get(POLL_HEADER):
        return Response(content="", status_code=401, cookies=[cleared(request, SESSION_COOKIE)])
    target = "/console/sign-in"
    if request.method == "GET":
        target += "?next=" + quote(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""))
    return Redirect(target, status_code=303, cookies=[cleared(request, SESSION_COOKIE)])


def _csrf_refused(request: Request, exc: CsrfRefused) -> Response[str]:
    return _error_page(request, 403, i18n.translator(language(request))("error.csrf"))


def _problem(request: Request, exc: Problem) -> Response[str]:
    t = i18n.translator(language(request))
    if isinstance(exc, NotFound):
        message = t("error.not_found")
    elif isinstance(exc, Forbidden):
        message = t("error.forbidden")
    else:
        message = exc.detail
    return _error_page(request, exc.status, message)


def _invalid(request: Request, exc: ValidationException) -> Response[str]:
    return _error_page(request, 400, i18n.translator(language(request))("error.not_found"))


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    SignInRequired: _sign_in_required,
    CsrfRefused: _csrf_refused,
    Problem: _problem,
    ValidationException: _invalid,
}
