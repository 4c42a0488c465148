"""Logs for people and for machines: a terminal gets readable lines, a pipe gets JSON, the scheduler keeps quiet."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAM = """
import logging, structlog
from api.platform.logging import configure_logging
from api.platform.settings import LogSettings
configure_logging(LogSettings(level="{level}", format="{format}"), process="probe")
logging.getLogger("apscheduler.executors.default").info('Running job "care.sweep"')
structlog.get_logger("probe").info("sms to 010-****-5678 (console): 인증번호 123456")
"""


def logged(tmp_path: Path, *, format: str = "auto", level: str = "INFO", terminal: bool = False) -> str:
    """What a process configured so writes to stderr: to a pseudo-terminal when ``terminal``, else to a pipe."""
    program = tmp_path / "probe.py"
    program.write_text(PROGRAM.format(level=level, format=format))
    if not terminal:
        return subprocess.run([sys.executable, program], capture_output=True, text=True, check=True).stderr
    # `script` (util-linux) runs the program on a pseudo-terminal and copies what it wrote there.
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(program))}"
    return subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, text=True, check=True).stdout


def test_a_pipe_gets_one_json_object_per_line_with_the_text_first(tmp_path):
    [line] = logged(tmp_path).splitlines()
    event = json.loads(line)
    assert event["event"] == "sms to 010-****-5678 (console): 인증번호 123456"
    assert (event["process"], event["level"]) == ("probe", "info")


def test_a_terminal_gets_readable_lines_with_the_sign_in_code_in_them(tmp_path):
    if shutil.which("script") is None:
        pytest.skip("`script` (util-linux) is not installed")
    out = logged(tmp_path, terminal=True)
    [line] = [line for line in out.splitlines() if line.strip()]
    assert "인증번호 123456" in line
    assert not line.lstrip().startswith("{")


def test_the_scheduler_says_what_it_fires_only_at_debug_level(tmp_path):
    assert "Running job" not in logged(tmp_path, level="INFO")
    assert "Running job" in logged(tmp_path, level="DEBUG", format="json")
