"""The alert rules operators load into Prometheus are valid, and fire on what they say (``promtool``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from api.health.metrics import SYSTEM
from api.platform import metrics
from api.platform.settings import PROJECT_ROOT

RULES = PROJECT_ROOT / "docs" / "alerts.rules.yml"
RULE_TESTS = Path(__file__).with_name("alert_rules_test.yml")


@pytest.fixture(scope="module")
def promtool() -> str:
    """Debian's promtool (package prometheus; ``make test`` installs it). Skipped where absent; a failure in CI."""
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but promtool is missing: `make test` installs it (apt-get install prometheus)")
        pytest.skip("promtool is not installed (`apt-get install prometheus`, or `make test` as root)")
    return found


def test_the_rules_are_valid_prometheus_rules(promtool: str) -> None:
    done = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_each_alert_fires_on_its_series_and_not_before(promtool: str) -> None:
    done = subprocess.run([promtool, "test", "rules", str(RULE_TESTS)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_metric_a_rule_reads_is_one_safecity_exports() -> None:
    exported = set(SYSTEM) | {family.name for m in metrics.COUNTED for family in m.describe()}
    read = {name.removesuffix("_total") for name in re.findall(r"\bsafecity_[a-z_]+", RULES.read_text())}
    assert read <= exported, f"rules read metrics nobody exports: {sorted(read - exported)}"
