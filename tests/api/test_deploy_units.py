"""The systemd units in deploy/systemd/ are what production runs: they must be valid, and each must start its
process as written and stop it cleanly on the unit's own signal.

There is no systemd to run them here (no PID 1), so each test reads the unit, puts this checkout where a
deployment has /opt/safecity, and runs its ExecStart line with its Environment= as systemd would, against a
database of the test's own.
"""

from __future__ import annotations

import asyncio
import configparser
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import httpx
import pytest

from api.cli import chatbot
from api.platform.settings import PROJECT_ROOT
from tests.api.test_supervisor import free_port
from tests.conftest import JWT_SECRET
from tests.database import TestServer as PgServer

UNITS = PROJECT_ROOT / "deploy" / "systemd"
INSTALLED = "/opt/safecity"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


def unit(name: str, instance: str) -> tuple[list[str], dict[str, str], configparser.SectionProxy]:
    """The unit's ExecStart argv and Environment=, with %i as ``instance`` and this checkout for /opt/safecity."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    text = (UNITS / name).read_text().replace("%i", instance).replace(INSTALLED, str(PROJECT_ROOT))
    parser.read_string(text)
    service = parser["Service"]
    env = dict(pair.split("=", 1) for pair in shlex.split(service.get("Environment", "")))
    return shlex.split(service["ExecStart"]), env, service


@contextmanager
def started(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_for(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 120) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{url}: the process ended ({proc.returncode}):\n{log.read_text()[-3000:]}"
        try:
            answer = httpx.get(url, timeout=2)
            if answer.status_code == 200:
                return answer
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer 200 in {timeout_s}s:\n{log.read_text()[-3000:]}")


def stop_as_systemd_does(proc: subprocess.Popen[bytes], service: configparser.SectionProxy) -> int:
    """KillSignal=, then wait up to TimeoutStopSec= (systemd would SIGKILL after it: that is a failed stop)."""
    proc.send_signal(getattr(signal, service.get("KillSignal", "SIGTERM")))
    return proc.wait(timeout=float(service.get("TimeoutStopSec", "90")))


@pytest.fixture
def database(pg_server: PgServer) -> Iterator[str]:
    url = asyncio.run(pg_server.create())
    yield url
    asyncio.run(pg_server.drop(urlsplit(url).path.lstrip("/")))


def base_env(database: str, var_dir: Path) -> dict[str, str]:
    # What /etc/safecity/safecity.env holds in production, and the state directory systemd would make.
    return {"DATABASE_URL": database, "JWT_SECRET": JWT_SECRET, "SAFECITY_VAR_DIR": str(var_dir), "LOG_LEVEL": "INFO"}


def test_every_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """systemd's own checker finds nothing wrong in any unit, with the executables it names present."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        _unavailable("systemd-analyze is not installed (Debian's systemd package)")
    (tmp_path / "safecity.env").write_text("JWT_SECRET=x\n")
    for path in UNITS.iterdir():
        text = path.read_text().replace(INSTALLED, str(PROJECT_ROOT))
        (tmp_path / path.name).write_text(text.replace("/etc/safecity/safecity.env", str(tmp_path / "safecity.env")))
    # Every file there, a template as one of its instances (systemd-analyze reads safecity-api@.service for it).
    names = [p.name.replace("@.", "@1.") for p in sorted(UNITS.iterdir())]
    assert len(names) == 6
    done = subprocess.run(
        [analyze, "verify", "--man=no", *(str(tmp_path / n) for n in names)], capture_output=True, text=True
    )
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        # The account is made at install time (docs/deploying.md); it does not exist on a test machine.
        if line.strip() and "safecity" in line and "user" not in line.lower()
    ]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr


def test_the_migrate_unit_brings_an_empty_database_to_the_current_schema(pg_server: PgServer, tmp_path: Path) -> None:
    """Run once per deploy on an empty database, the unit applies every migration and ends with status 0."""
    url = asyncio.run(pg_server.create(template=None))
    try:
        argv, env, _ = unit("safecity-migrate.service", "")
        done = subprocess.run(
            argv, env={**os.environ, **env, **base_env(url, tmp_path)}, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert "the schema is current" in done.stderr
        applied = len(list((PROJECT_ROOT / "migrations").glob("[0-9]*.sql")))
        assert f"{applied} migration(s) applied" in done.stderr
    finally:
        asyncio.run(pg_server.drop(urlsplit(url).path.lstrip("/")))


def test_the_api_unit_serves_on_its_instance_port_and_stops_cleanly(database: str, tmp_path: Path) -> None:
    """safecity-api@PORT listens on PORT, is ready on a migrated database, and ends with status 0 on its stop
    signal within its stop timeout (so systemd never has to kill it mid-request)."""
    port = free_port()
    argv, env, service = unit("safecity-api@.service", str(port))
    log = tmp_path / "api.log"
    with started(argv, {**env, **base_env(database, tmp_path), "RASA_ENABLED": "false"}, log) as proc:
        ready = wait_for(f"http://127.0.0.1:{port}/ready", proc, log)
        assert ready.json()["status"] == "ready"
        assert stop_as_systemd_does(proc, service) == 0, log.read_text()[-3000:]


def test_the_worker_unit_serves_metrics_on_its_instance_port_and_stops_cleanly(database: str, tmp_path: Path) -> None:
    """safecity-worker@PORT runs the scheduler and dispatcher with its metrics on PORT, and stops with status 0."""
    port = free_port()
    argv, env, service = unit("safecity-worker@.service", str(port))
    log = tmp_path / "worker.log"
    with started(argv, {**env, **base_env(database, tmp_path), "RASA_ENABLED": "false"}, log) as proc:
        metrics = wait_for(f"http://127.0.0.1:{port}/metrics", proc, log)
        assert "safecity_" in metrics.text
        assert stop_as_systemd_does(proc, service) == 0, log.read_text()[-3000:]


@pytest.fixture
def tracker_db(pg_server: PgServer) -> Iterator[str]:
    name = f"safecity_rasa_units_{os.getpid()}"
    yield name
    asyncio.run(pg_server.drop(name))


def test_the_rasa_and_actions_units_answer_a_message(database: str, tracker_db: str, tmp_path: Path) -> None:
    """safecity-rasa@1 and safecity-actions@1, started together, become Rasa and its action server on RASA_URL's
    port and ACTIONS_PORT, and together answer a greeting; each stops on its stop signal."""
    if not chatbot.RASA.exists():
        _unavailable("bot/.venv is not built (`make bot`): the chatbot's units need the real Rasa")
    done = subprocess.run(["make", "-s", "bot-model"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    rasa_port, actions_port = free_port(), free_port()
    shared = {
        **base_env(database, tmp_path),
        "RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "ACTIONS_PORT": str(actions_port),
        "RASA_ENABLED": "true",
        "RASA_TRACKER_DB": tracker_db,
    }
    actions_argv, actions_env, actions_service = unit("safecity-actions@.service", "1")
    rasa_argv, rasa_env, rasa_service = unit("safecity-rasa@.service", "1")
    log = tmp_path / "chatbot.log"
    (tmp_path / "home").mkdir()
    with (
        started(actions_argv, {**actions_env, **shared}, log) as actions,
        started(rasa_argv, {**rasa_env, **shared, "HOME": str(tmp_path / "home")}, log) as rasa,
    ):
        wait_for(f"http://127.0.0.1:{actions_port}/health", actions, log, timeout_s=600)
        wait_for(f"http://127.0.0.1:{rasa_port}/webhooks/rest/", rasa, log, timeout_s=600)
        answer = httpx.post(
            f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook",
            json={"sender": "units-test", "message": "안녕하세요"},
            timeout=120,
        )
        assert answer.status_code == 200 and answer.json(), answer.text
        assert stop_as_systemd_does(rasa, rasa_service) == 0, log.read_text()[-3000:]
        assert stop_as_systemd_does(actions, actions_service) == 0, log.read_text()[-3000:]
