"""Distress cues: words that make a call for help plausible (pain, a fall, breath, the chest, someone unconscious,
fire, bleeding, fear, 119/112, 살려), whatever else is said around them.

The cues are data, ``distress_cues.json`` beside this module, shared with the chatbot's need_help guard
(bot/nlu/cues.py reads the same file; the bot is a separate process and imports nothing of the API). Here they read
what a person said to a call's menu: a cue in it is a call for help, never a check-in.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import NamedTuple

CUES_FILE = Path(__file__).with_name("distress_cues.json")


class Cues(NamedTuple):
    """The compiled cues by name, in the file's order, and the words that void some of them."""

    patterns: dict[str, re.Pattern[str]]
    fallen_things: re.Pattern[str]
    voided: frozenset[str]


@cache
def cues() -> Cues:
    """The cues, read and compiled on first use."""
    data = json.loads(CUES_FILE.read_text(encoding="utf-8"))
    patterns = {name: re.compile("|".join(p), re.IGNORECASE) for name, p in data["cues"].items()}
    things = data["fallen_things"]
    return Cues(patterns, re.compile(things["pattern"], re.IGNORECASE), frozenset(things["voids"]))


def distress_cue(text: str | None) -> str | None:
    """The name of the first distress cue in ``text``, or None."""
    text = text or ""
    found = cues()
    things = found.fallen_things.search(text) is not None
    for name, pattern in found.patterns.items():
        if pattern.search(text) and not (things and name in found.voided):
            return name
    return None
