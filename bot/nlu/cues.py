"""Distress cues: words that make a call for help plausible whatever the classifier says.

The second line of defence for need_help (bot/nlu/distress.py): pain, falls, breath, the chest, someone
unconscious, fire, bleeding, fear, 119/112 and 살려, in Korean (spaced or not, standard or dialect) and English.

The cues are data shared with the API, which reads a spoken answer to a check-in call by them
(api/platform/distress.py): ``api/platform/distress_cues.json``, the one list. The bot reads the file and imports
nothing of the API (pyproject.toml's contracts); plain Python, no Rasa, so the actions and tests use it too.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

CUES_FILE = Path(__file__).resolve().parents[2] / "api" / "platform" / "distress_cues.json"


@cache
def _cues() -> tuple[dict[str, re.Pattern[str]], re.Pattern[str], frozenset[str]]:
    """Each cue's name and the pattern that finds it, in the file's order; the fallen things and the cues they void."""
    data = json.loads(CUES_FILE.read_text(encoding="utf-8"))
    patterns = {name: re.compile("|".join(p), re.IGNORECASE) for name, p in data["cues"].items()}
    things = data["fallen_things"]
    return patterns, re.compile(things["pattern"], re.IGNORECASE), frozenset(things["voids"])


def distress_cue(text: str) -> str | None:
    """The name of the first distress cue in ``text``, or None."""
    text = text or ""
    patterns, fallen_things, voided = _cues()
    things = fallen_things.search(text) is not None
    for name, pattern in patterns.items():
        if pattern.search(text) and not (things and name in voided):
            return name
    return None
