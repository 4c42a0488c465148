"""How `safecity run` decides about the chatbot, and what it gives Rasa and the action server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import asyncpg
import pytest

from api.cli import chatbot
from api.cli.supervisor import chatbot_processes
from api.platform.auth.tokens import Scope, TokenIssuer
from api.platform.settings import AuthSettings, HttpSettings, RasaSettings, Settings
from tests.api.test_supervisor import free_port, run_env, wait_ready
from tests.conftest import JWT_SECRET


def test_the_tracker_store_gets_the_whole_url_so_the_embedded_unix_socket_works():
    env = chatbot.tracker_env("postgresql://postgres:@/safecity_rasa?host=/srv/var/pgdata")
    assert env["RASA_DB_HOST"] == "postgresql://postgres:@/safecity_rasa?host=/srv/var/pgdata"
    assert (env["RASA_DB_NAME"], env["RASA_DB_USER"], env["RASA_DB_PORT"]) == ("safecity_rasa", "postgres", "5432")
    tcp = chatbot.tracker_env("postgresql://rasa:s3cret@db.internal:6543/safecity_rasa")
    assert (tcp["RASA_DB_PASSWORD"], tcp["RASA_DB_PORT"]) == ("s3cret", "6543")


async def test_switched_off_the_chatbot_is_left_out_and_the_log_says_why(capsys):
    settings = Settings(rasa=RasaSettings(enabled="false"))
    assert await chatbot_processes(settings, database_url="postgresql://unused/") == ([], {})
    assert "the chatbot is off: RASA_ENABLED=false" in capsys.readouterr().out


async def test_when_on_rasa_listens_on_localhost_and_the_actions_get_a_service_token(pg_server, monkeypatch):
    monkeypatch.setattr(chatbot, "rasa_model", lambda: chatbot.BOT / "models" / "current.tar.gz")
    settings = Settings(
        auth=AuthSettings(jwt_secret=JWT_SECRET),
        http=HttpSettings(port=8111),
        rasa=RasaSettings(url="http://127.0.0.1:5199", actions_port=5198, tracker_db="safecity_rasa_probe"),
    )
    (_, rasa_argv, rasa_env), (_, actions_argv, actions_env) = await chatbot.processes(
        settings, database_url=pg_server.url
    )
    assert rasa_argv[rasa_argv.index("--interface") + 1] == "127.0.0.1"
    assert rasa_argv[rasa_argv.index("--port") + 1] == "5199"
    assert rasa_env["ACTION_SERVER_URL"] == "http://127.0.0.1:5198/webhook"
    assert actions_argv[actions_argv.index("--actions") + 1] == "bot.actions"
    assert actions_argv[actions_argv.index("--port") + 1] == "5198"
    assert actions_argv[actions_argv.index("--endpoints") + 1] == str(chatbot.BOT / "endpoints.yml")
    assert actions_env["SAFECITY_API_URL"] == "http://127.0.0.1:8111"
    assert actions_env["SANIC_HOST"] == "127.0.0.1"
    principal = TokenIssuer(settings).verify(actions_env["SAFECITY_SERVICE_TOKEN"])
    assert principal.role.value == "service"
    assert principal.scopes == (Scope.chatbot,)  # the bot endpoints, and nothing else a service may do
    conn = await asyncpg.connect(pg_server.url)
    try:
        assert await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = 'safecity_rasa_probe'") == 1
        await conn.execute('DROP DATABASE "safecity_rasa_probe"')
    finally:
        await conn.close()


def test_safecity_run_starts_the_chatbot_and_ctrl_c_leaves_no_process_behind(database_url, tmp_path):
    if chatbot.off_because(Settings(rasa=RasaSettings())):
        pytest.skip(f"the chatbot cannot start here: {chatbot.off_because(Settings(rasa=RasaSettings()))}")
    port, rasa_port, actions_port = free_port(), free_port(), free_port()
    env = {
        **run_env(database_url, port, tmp_path),
        "RASA_ENABLED": "auto",
        "RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "ACTIONS_PORT": str(actions_port),
        "RASA_TRACKER_DB": "safecity_rasa_run_test",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/ready")
        wait_ready(f"http://127.0.0.1:{actions_port}/health", timeout_s=120)
        wait_ready(f"http://127.0.0.1:{rasa_port}/webhooks/rest/", timeout_s=180)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output[-3000:]
    assert any(line.startswith("rasa    | ") for line in output.splitlines())
    assert any(line.startswith("actions | ") for line in output.splitlines())
    # What people read: no deprecation noise from Rasa's libraries, no complaint of a missing endpoints file.
    assert "DeprecationWarning" not in output and "Failed to read endpoint configuration" not in output
    ports = {f"--port\0{p}\0".encode() for p in (actions_port, rasa_port)}
    left = [pid for pid in os.listdir("/proc") if pid.isdigit() and any(p in _cmdline(pid) for p in ports)]
    assert left == [], "chatbot processes outlived safecity run"


def _cmdline(pid: str) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""
