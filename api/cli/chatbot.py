"""The chatbot's two processes for ``safecity run``: Rasa (from bot/.venv) and the action server (ours)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from api.platform.auth.tokens import Principal, Role, Scope, TokenIssuer
from api.platform.db.embedded import ensure_database
from api.platform.settings import PROJECT_ROOT, Settings, rasa_model

BOT = PROJECT_ROOT / "bot"
RASA = BOT / ".venv" / "bin" / "rasa"
ACTIONS_TOKEN_TTL_S = 30 * 24 * 3600  # a development run outlasting this restarts the actions with a new one
RASA_PYTHON = BOT / ".venv" / "bin" / "python"
# Rasa's libraries warn at every start of APIs Rasa uses (bot/rasa_main.py hides those it raises through Python's
# warnings); SQLAlchemy's own notice has its own switch. Everything else they say still shows.
QUIET = {"SQLALCHEMY_SILENCE_UBER_WARNING": "1"}


def off_because(settings: Settings) -> str | None:
    """Why ``safecity run`` leaves the chatbot out, or None to start it."""
    if settings.rasa.enabled == "false":
        return "RASA_ENABLED=false"
    if not RASA.exists():
        return "bot/.venv has no Rasa (run `make bot`)"
    missing = [p.name for p in (BOT / "endpoints.yml", BOT / "credentials.yml") if not p.exists()]
    if missing:
        return f"bot/ has no {' or '.join(missing)}"
    if rasa_model() is None:
        return "no trained model in bot/models (run `make bot-model`)"
    return None


async def processes(settings: Settings, *, database_url: str) -> list[tuple[str, list[str], dict[str, str]]]:
    """Rasa and the action server, as (name, argv, extra environment); the tracker store's database is created."""
    rasa = settings.rasa
    tracker_url = await ensure_database(database_url, rasa.tracker_db)
    actions_url = f"http://127.0.0.1:{rasa.actions_port}/webhook"
    rasa_port = urlsplit(rasa.url).port or 5005
    model = rasa_model()
    assert model is not None
    rasa_argv = [
        str(RASA_PYTHON), str(BOT / "rasa_main.py"), "run",
        "--model", str(model),
        "--endpoints", str(BOT / "endpoints.yml"),
        "--credentials", str(BOT / "credentials.yml"),
        "--interface", "127.0.0.1",  # the REST channel has no auth: only the API may reach it
        "--port", str(rasa_port),
    ]  # fmt: skip
    actions_argv = [
        sys.executable,
        "-m",
        "rasa_sdk",
        "--actions",
        "bot.actions",
        "--port",
        str(rasa.actions_port),
        "--endpoints",
        str(BOT / "endpoints.yml"),
    ]  # fmt: skip  (else it looks for ./endpoints.yml, and says so)
    # Exactly the chatbot scope: the actions need the bot endpoints and the public ones, nothing else.
    actions = Principal(subject="service:chatbot-actions", role=Role.service, scopes=(Scope.chatbot,))
    token = TokenIssuer(settings).issue(actions, ttl_s=ACTIONS_TOKEN_TTL_S)
    api_url = f"http://127.0.0.1:{settings.http.port}"
    return [
        # PYTHONPATH: bot/config.yml names our own NLU components (bot.nlu), imported from the project's root.
        ("rasa", rasa_argv, {"ACTION_SERVER_URL": actions_url, "PYTHONPATH": str(PROJECT_ROOT),
                             **tracker_env(tracker_url), **QUIET}),
        ("actions", actions_argv, {"SANIC_HOST": "127.0.0.1", "SAFECITY_API_URL": api_url,
                                   "SAFECITY_SERVICE_TOKEN": token}),
    ]  # fmt: skip


def tracker_env(url: str) -> dict[str, str]:
    """The RASA_DB_* variables bot/endpoints.yml reads.

    RASA_DB_HOST is the whole URL: Rasa's SQL tracker store takes a host with ``://`` as the complete
    database URL, which is the one form that also reaches the embedded server through its Unix socket.
    The other variables are there for an endpoints file that uses them.
    """
    parts = urlsplit(url)
    return {
        "RASA_DB_HOST": url,
        "RASA_DB_PORT": str(parts.port or 5432),
        "RASA_DB_NAME": parts.path.lstrip("/"),
        "RASA_DB_USER": parts.username or "",
        "RASA_DB_PASSWORD": parts.password or "",
    }


def wait_up(url: str, procs: list[subprocess.Popen], log: Path, timeout_s: float = 180) -> None:
    """Wait until ``url`` answers 200 while every one of ``procs`` runs; else say why, with the log's tail."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"the chatbot stopped while starting:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer in {timeout_s}s:\n{log.read_text()[-4000:]}")
