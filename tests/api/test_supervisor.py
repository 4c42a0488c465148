"""``safecity run``: the whole system comes up, its output is prefixed, and Ctrl-C stops every process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import JWT_SECRET


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, *, timeout_s: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not become ready in {timeout_s}s")
        time.sleep(0.2)


def run_env(database_url: str, port: int, var_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "JWT_SECRET": JWT_SECRET,
        "SAFECITY_VAR_DIR": str(var_dir),
        # The chatbot's processes, on free ports, are tests/chat/test_supervision.py's.
        "RASA_ENABLED": "false",
    }


def test_run_starts_api_and_worker_and_ctrl_c_stops_them(database_url, tmp_path):
    port = free_port()
    env = run_env(database_url, port, tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        ready = wait_ready(f"http://127.0.0.1:{port}/ready")
        assert ready.json()["status"] == "ready"
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert proc.returncode == 0, output
    lines = output.splitlines()
    assert any(line.startswith("api    | ") and '"path": "/ready"' in line for line in lines)
    assert any(line.startswith("worker | ") and "worker started" in line for line in lines)
    assert any(line.startswith("worker | ") and "worker stopped" in line for line in lines)
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the API is still listening after Ctrl-C"


def test_run_stops_everything_when_one_process_dies(database_url, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        # The API cannot listen on a port that is taken: the whole system must not pretend to run.
        env = run_env(database_url, taken.getsockname()[1], tmp_path)
        result = subprocess.run(
            [sys.executable, "-m", "api.cli", "run"], env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode != 0
    assert "api exited with status" in result.stdout
    assert "stopping the others" in result.stdout
    assert "worker stopped" in result.stdout


def test_no_process_outlives_a_killed_supervisor(database_url, tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "run"],
        env=run_env(database_url, port, tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(f"http://127.0.0.1:{port}/ready")
    proc.kill()
    proc.wait()

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.2)
    raise AssertionError("the API kept running after its supervisor was killed")


async def test_a_line_too_long_is_cut_and_the_output_goes_on(capsys):
    from api.cli import supervisor

    script = "print('before'); print('x' * (3 << 20)); print('after', end='')"
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE)
    await supervisor._pump("api", proc)
    await proc.wait()

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0] == "api | before"
    assert lines[1] == "api | " + "x" * supervisor._LINE_LIMIT + " [cut]"
    assert lines[2] == "api | after"
