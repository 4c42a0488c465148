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
from api.platform.settings import PROJECT_ROOT, RasaSettings, Settings, rasa_model

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


async def processes(
    settings: Settings, *, database_url: str, servers: int = 1
) -> list[tuple[str, list[str], dict[str, str]]]:
    """Rasa and its action server, ``servers`` of each, as (name, argv, extra environment); the tracker store's
    database is created.

    Rasa server ``i`` listens on the port of ``RASA_URL``'s ``i``-th address (``RasaSettings.urls``) and calls
    action server ``i`` on ``ACTIONS_PORT + i``. They share the tracker store and its lock store, so any of them
    may answer any conversation (docs/chatbot.md#several-rasa-servers).
    """
    rasa = settings.rasa
    tracker_url = await ensure_database(database_url, rasa.tracker_db)
    model = rasa_model()
    assert model is not None
    # Exactly the chatbot scope: the actions need the bot endpoints and the public ones, nothing else.
    actions = Principal(subject="service:chatbot-actions", role=Role.service, scopes=(Scope.chatbot,))
    token = TokenIssuer(settings).issue(actions, ttl_s=ACTIONS_TOKEN_TTL_S)
    api_url = f"http://127.0.0.1:{settings.http.port}"
    specs = []
    for i, url in enumerate(rasa.urls(servers)):
        suffix = f"-{i + 1}" if servers > 1 else ""
        actions_port = rasa.actions_port + i
        rasa_argv = [
            str(RASA_PYTHON), str(BOT / "rasa_main.py"), "run",
            "--model", str(model),
            "--endpoints", str(BOT / "endpoints.yml"),
            "--credentials", str(BOT / "credentials.yml"),
            "--interface", "127.0.0.1",  # the REST channel has no auth: only the API may reach it
            "--port", str(urlsplit(url).port or 5005),
        ]  # fmt: skip
        actions_argv = [
            sys.executable,
            "-m",
            "rasa_sdk",
            "--actions",
            "bot.actions",
            "--port",
            str(actions_port),
            "--endpoints",
            str(BOT / "endpoints.yml"),
        ]  # fmt: skip  (else it looks for ./endpoints.yml, and says so)
        specs += [
            # PYTHONPATH: bot/config.yml names our own NLU components (bot.nlu), imported from the project's root,
            # and bot/endpoints.yml our lock store (bot.lock_store).
            (f"rasa{suffix}", rasa_argv, {"ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}/webhook",
                                          "PYTHONPATH": str(PROJECT_ROOT), **tracker_env(tracker_url, rasa), **QUIET}),
            (f"actions{suffix}", actions_argv, {"SANIC_HOST": "127.0.0.1", "SAFECITY_API_URL": api_url,
                                                "SAFECITY_SERVICE_TOKEN": token}),
        ]  # fmt: skip
    return specs


def tracker_env(url: str, rasa: RasaSettings | None = None) -> dict[str, str]:
    """The RASA_DB_* and RASA_LOCK_* variables bot/endpoints.yml reads.

    RASA_DB_HOST is the whole URL: Rasa's SQL tracker store takes a host with ``://`` as the complete
    database URL, which is the one form that also reaches the embedded server through its Unix socket.
    The other variables are there for an endpoints file that uses them. The lock store is on the same
    database, unless ``RASA_LOCK_STORE_URL`` names another.
    """
    rasa = rasa or RasaSettings()
    parts = urlsplit(url)
    return {
        "RASA_LOCK_STORE_URL": rasa.lock_store_url or url,
        "RASA_LOCK_WAIT": f"{rasa.lock_wait_s:g}",
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
