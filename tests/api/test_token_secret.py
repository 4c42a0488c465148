"""``safecity token`` without ``JWT_SECRET`` says on stderr that an API which has it will refuse the token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import JWT_SECRET


def mint(var_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "JWT_SECRET"}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "token", "--role", "service", "--subject", "gw", "--scope", "sensors:write"],
        env={**base, "SAFECITY_VAR_DIR": str(var_dir), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_a_newly_generated_secret_is_announced_loudly_and_a_kept_one_is_named(tmp_path):
    first = mint(tmp_path)
    assert "WARNING: JWT_SECRET is unset" in first.stderr
    assert "a NEW signing secret was generated" in first.stderr
    assert first.stdout.strip().count(".") == 2  # the token is still printed alone on stdout
    again = mint(tmp_path)
    assert "NEW" not in again.stderr
    assert f"signed with {tmp_path / 'jwt_secret'}" in again.stderr


def test_with_jwt_secret_there_is_nothing_to_say(tmp_path):
    result = mint(tmp_path, JWT_SECRET=JWT_SECRET)
    assert "JWT_SECRET" not in result.stderr
    assert not (tmp_path / "jwt_secret").exists()
