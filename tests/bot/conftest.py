"""The bot's fixtures: bot/.venv's Rasa, the trained model, and a Rasa server parsing with it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.cli.chatbot import wait_up
from bot.evaluation import BOT, RASA, RASA_ENV
from tests.api.test_supervisor import free_port

PROJECT_ROOT = BOT.parent


@pytest.fixture(scope="session")
def rasa_installed() -> Path:
    """bot/.venv's rasa; skipped where it is not installed, a failure where CI is set."""
    if not RASA.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {RASA} is missing: `make bot` installs it (and `make test` runs it)")
        pytest.skip(f"{RASA} is not installed: `make bot` installs it (`make test` does so first)")
    return RASA


@pytest.fixture(scope="session")
def model(rasa_installed: Path) -> Path:
    """The trained model: `make -s bot-model` trains it only when the config, domain or data changed."""
    proc = subprocess.run(
        ["make", "-s", "bot-model"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    path = BOT / "models" / "current.tar.gz"
    assert path.exists()
    return path.resolve()


@pytest.fixture(scope="session")
def parse(model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """``rasa run --enable-api`` with the model, on a free port: POST /model/parse gives a message's parse, the
    whole pipeline's (DistressGuard included). No tracker store, no action server: only the NLU is asked."""
    work = tmp_path_factory.mktemp("rasa-parse")
    (work / "endpoints.yml").write_text("{}\n")
    port, log = free_port(), work / "rasa.log"
    argv = [
        str(RASA), "run", "--enable-api", "--model", str(model), "--endpoints", str(work / "endpoints.yml"),
        "--interface", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, cwd=BOT, env={**os.environ, **RASA_ENV}, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_up(f"http://127.0.0.1:{port}/status", [proc], log, timeout_s=600)  # slow to start on a loaded machine
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            # The first parse loads the pipeline (Kiwi's model among it): minutes on a loaded machine.
            assert client.post("/model/parse", json={"text": "안녕하세요"}, timeout=900).status_code == 200
            yield client
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
