"""``safecity api`` on the embedded PostgreSQL stops it when it is stopped, even after a holder died unannounced."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import JWT_SECRET


def run_api_and_stop_it(var_dir: Path) -> int:
    """Start ``safecity api`` on the embedded server under ``var_dir``, stop it as a supervisor does; its exit code."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"SAFECITY_VAR_DIR": str(var_dir), "PORT": str(port), "JWT_SECRET": JWT_SECRET, "RASA_ENABLED": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "api"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120  # the first start runs initdb
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).raise_for_status()
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "safecity api never came up"
                time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_embedded_server_stops_with_the_last_api_process(tmp_path):
    pgdata = tmp_path / "pgdata"
    assert run_api_and_stop_it(tmp_path) == 0
    assert not (pgdata / "postmaster.pid").exists()
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == []

    # A holder killed without letting go (kill -9, the OOM killer) stays in the list; it must not keep the
    # server running once the live ones have stopped.
    gone = subprocess.Popen(["true"])
    gone.wait()  # exited and reaped: its id names no process now
    (pgdata / ".handle_pids.json").write_text(json.dumps([gone.pid]))
    assert run_api_and_stop_it(tmp_path) == 0
    assert not (pgdata / "postmaster.pid").exists()
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == []
