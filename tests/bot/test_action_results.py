"""The action server's answers are still checked by Rasa's schema, with the schema checked once (bot/action_results.py).

Run in bot/.venv's Python (Rasa's own environment), as the Rasa server runs it: for each answer, the cached check and
Rasa's own (``jsonschema.validate`` against ``RemoteAction.action_response_format_spec()``) must agree, and an
answer that fails must fail with Rasa's own error.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from bot.evaluation import BOT, RASA_ENV

PYTHON = BOT / ".venv" / "bin" / "python"

ANSWERS = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "district", "value": "11110"}], "responses": [{"text": "안녕하세요"}]},
    {"events": [{"event": "followup", "name": "action_listen"}]},
    {"responses": [{"text": "가까운 대피소", "buttons": [{"title": "네", "payload": "/affirm"}]}]},
    {},
    {"events": [{"event": "no_such_event"}]},  # not one of Rasa's events
    {"events": [{"event": "slot"}]},  # a slot event without its name
    {"events": "slot"},  # events must be a list
    {"responses": ["text"]},  # each response must be an object
    {"events": [{"event": "slot", "name": 3, "value": "x"}]},
]

CHECK = """
import json, sys
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction
from bot import action_results

action_results.install()
action = RemoteAction("action_test", None)
out = []
for answer in json.loads(sys.stdin.read()):
    try:
        validate(answer, RemoteAction.action_response_format_spec())
        rasa = "valid"
    except ValidationError:
        rasa = "invalid"
    try:
        ours = "valid" if action._validate_action_result(answer) else "false"
        message = ""
    except ValidationError as error:
        ours, message = "invalid", error.message
    out.append({"rasa": rasa, "ours": ours, "message": message})
print(json.dumps(out))
"""


def test_the_cached_check_agrees_with_rasas_and_fails_with_its_error(rasa_installed: Path) -> None:
    """Every answer Rasa's own check accepts is accepted, every one it refuses is refused with Rasa's message."""
    done = subprocess.run(
        [str(PYTHON), "-c", CHECK],
        input=json.dumps(ANSWERS),
        capture_output=True,
        text=True,
        cwd=BOT.parent,
        env={**os.environ, **RASA_ENV, "PYTHONPATH": str(BOT.parent)},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert [r["ours"] for r in results] == [r["rasa"] for r in results]
    assert [r["rasa"] for r in results] == ["valid"] * 5 + ["invalid"] * 5  # the examples mean what they say
    for r in results[5:]:
        assert "Failed to validate Action server response" in r["message"]
