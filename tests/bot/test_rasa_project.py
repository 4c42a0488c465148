"""The Rasa project in bot/: its names against the contract, its data, NLU cross-validation and conversation tests.

Rasa runs from its own environment, bot/.venv (``make bot``; ``make test`` builds it first), as a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.evaluation import ARTIFACTS, BOT, KEPT, RASA, RASA_ENV, cross_validate, keep_artifacts, nlu_summary

PROJECT_ROOT = BOT.parent

# Measured with 5 folds (docs/chatbot.md, "Measured"); the folds are shuffled afresh each run: the floors leave room.
MACRO_F1_FLOOR = 0.72
LANGUAGE_MACRO_F1_FLOOR = 0.65

# docs/chatbot.md, "The bot contract": the actions and the API rely on these names.
INTENTS = {
    "greet", "goodbye", "check_in", "need_help", "report_hazard", "ask_shelter", "ask_warnings", "ask_guidance",
    "affirm", "deny", "stop", "thanks", "out_of_scope", "inform",
}  # fmt: skip
ENTITIES = {"report_kind", "hazard", "place"}
REPORT_KINDS = {
    "sinkhole", "road_damage", "fallen_tree", "flooding", "landslide_risk", "fire_smoke", "gas_smell",
    "damaged_structure", "broken_streetlight", "icy_road", "other",
}  # fmt: skip
HAZARDS = {"heat_wave", "cold_wave", "earthquake", "flooding", "typhoon", "air_raid"}
ACTIONS = {
    "action_session_start", "action_check_in", "action_ask_for_help", "action_report_hazard",
    "validate_hazard_report_form", "action_find_shelter", "action_current_warnings", "action_hazard_guidance",
    "action_fallback", "action_opt_out", "action_ask_report_confirmed", "action_cancel_report", "action_goodbye",
    "action_validate_slot_mappings",
}  # fmt: skip
# Responses and the variables the actions pass to them.
RESPONSES = {
    "utter_greet": set(), "utter_goodbye": set(), "utter_you_are_welcome": set(), "utter_out_of_scope": set(),
    "utter_please_rephrase": set(), "utter_offer_human": set(), "utter_deny_ack": set(),
    "utter_ask_report_kind": set(), "utter_ask_place": set(), "utter_place_unknown": {"place"},
    "utter_report_filed": {"kind", "place", "report_id"}, "utter_checked_in": set(),
    "utter_checkin_not_in_care": set(), "utter_help_opened": set(), "utter_help_already_open": set(),
    "utter_help_not_in_care": set(), "utter_shelter": {"origin", "name", "distance", "address", "walk"},
    "utter_shelter_from_office": {"name", "distance", "address"},
    "utter_shelter_far": {"origin", "cap", "name", "distance", "address"},
    "utter_no_shelter": set(), "utter_ask_hazard_for_shelter": set(), "utter_warnings_none": set(),
    "utter_warning": {"headline"}, "utter_warning_at": {"headline", "places"}, "utter_guidance": {"title", "steps"},
    "utter_opted_out": set(),
    "utter_opt_out_app": set(), "utter_sorry_failed": set(), "utter_ask_report_confirmed": {"kind", "place"},
    "utter_report_cancelled": set(), "utter_place_offer_cancel": {"place"}, "utter_ask_continue_report": set(),
    "utter_ask_help_answer": set(), "utter_help_declined": set(),
}  # fmt: skip
# Said only by the custom actions (or the form, for utter_ask_*), so no rule or story names them.
SAID_BY_ACTIONS = set(RESPONSES) - {
    "utter_greet", "utter_you_are_welcome", "utter_out_of_scope", "utter_please_rephrase",
    "utter_deny_ack", "utter_ask_continue_report",
}  # fmt: skip


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def domain() -> dict:
    return load_yaml(BOT / "domain.yml")


def run_rasa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RASA), *args],
        cwd=BOT,
        env={**os.environ, **RASA_ENV},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_domain_has_the_contracts_names(domain: dict) -> None:
    assert set(domain["intents"]) == INTENTS
    assert set(domain["entities"]) == ENTITIES
    assert set(domain["actions"]) == ACTIONS
    assert set(domain["responses"]) == set(RESPONSES)
    assert domain["forms"]["hazard_report_form"]["required_slots"] == ["report_kind", "place", "report_confirmed"]
    assert domain["forms"]["help_check_form"]["required_slots"] == ["help_answer"]
    slots = domain["slots"]
    assert set(slots["report_kind"]["values"]) == REPORT_KINDS
    assert set(slots["hazard"]["values"]) == HAZARDS
    assert slots["language"]["values"] == ["ko", "en"]
    assert [name for name, slot in slots.items() if slot.get("influence_conversation")] == [
        "help_asked",
        "offered_human",
    ]
    for name in ("language", "district", "in_care", "offered_human"):
        assert slots[name]["mappings"] == [{"type": "custom"}], name


def test_every_response_speaks_korean_by_default_and_english_on_the_language_slot(domain: dict) -> None:
    for name, variations in domain["responses"].items():
        default = [v for v in variations if "condition" not in v]
        english = [v for v in variations if v.get("condition") == [{"type": "slot", "name": "language", "value": "en"}]]
        assert len(default) == 1 and len(english) == 1, name
        if name not in {"utter_warning", "utter_guidance"}:  # the text is the API's, in the person's language
            assert re.search(r"[가-힣]", default[0]["text"]), name
        for variation in (default[0], english[0]):
            assert set(re.findall(r"\{(\w+)\}", variation["text"])) == RESPONSES[name], name


def test_entity_words_map_to_the_values_the_api_knows(domain: dict) -> None:
    """Every lookup word and English regex alternative becomes a slot value through a synonym, and only one."""
    nlu = load_yaml(BOT / "data" / "entities.yml")["nlu"]
    synonyms: dict[str, str] = {}
    for block in nlu:
        if "synonym" in block:
            for word in block["examples"].splitlines():
                word = word.removeprefix("- ").strip().lower()
                assert synonyms.setdefault(word, block["synonym"]) == block["synonym"], word
    values = {"report_kind": REPORT_KINDS, "hazard": HAZARDS}
    for block in nlu:
        name = block.get("lookup") or block.get("regex")
        if name not in values:
            continue
        lines = [line.removeprefix("- ").strip() for line in block["examples"].splitlines() if line.strip()]
        if "regex" in block:
            (pattern,) = lines
            assert pattern.startswith(r"\b(") and pattern.endswith(r")\b"), pattern
            lines = [word.replace("\\", "") for word in pattern[3:-3].split("|")]
        for word in lines:
            value = synonyms.get(word.lower(), word.lower())
            assert value in values[name], f"{name}: {word!r} maps to {value!r}"
        # The first alternative that matches wins: a shorter word first would hide a longer one.
        assert [len(w) for w in lines] == sorted((len(w) for w in lines), reverse=True), name


def test_endpoints_come_from_the_environment(rasa_installed: Path) -> None:
    """endpoints.yml names its URLs and the tracker store's database by environment variables, which Rasa fills in."""
    env = {
        "ACTION_SERVER_URL": "http://127.0.0.1:5055/webhook",
        "RASA_DB_HOST": "127.0.0.1",
        "RASA_DB_PORT": "5432",
        "RASA_DB_NAME": "safecity_rasa",
        "RASA_DB_USER": "rasa",
        "RASA_DB_PASSWORD": "secret",
        "RASA_LOCK_STORE_URL": "postgresql://rasa:secret@127.0.0.1:5432/safecity_rasa",
        "RASA_LOCK_WAIT": "10",
    }
    script = (
        "import json; from rasa.core.utils import AvailableEndpoints as E; from rasa.shared.utils.io import "
        "read_config_file; e = E.read_endpoints('endpoints.yml'); print(json.dumps([e.action.url, e.tracker_store.type,"
        " e.tracker_store.url, e.tracker_store.kwargs, read_config_file('credentials.yml'), e.lock_store.type,"
        " e.lock_store.url, e.lock_store.kwargs]))"
    )
    proc = subprocess.run(
        [str(RASA.parent / "python"), "-c", script],
        cwd=BOT,
        env={**os.environ, **RASA_ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    action, store, host, kwargs, credentials, lock_type, lock_url, lock_kwargs = json.loads(
        proc.stdout.splitlines()[-1]
    )
    assert action == env["ACTION_SERVER_URL"]
    assert (store, host) == ("bot.tracker_store.CheckedSQLTrackerStore", "127.0.0.1")
    assert kwargs == {
        "dialect": "postgresql",
        "port": "5432",
        "db": "safecity_rasa",
        "username": "rasa",
        "password": "secret",
    }
    assert credentials == {"bot.channels.CheckedRestInput": None}  # the REST channel, answering 503 on a failure
    # Several Rasa servers share one lock store, on the tracker store's PostgreSQL (bot/lock_store.py).
    assert (lock_type, lock_url, lock_kwargs) == (
        "bot.lock_store.PostgresLockStore",
        env["RASA_LOCK_STORE_URL"],
        {"wait_s": "10"},
    )


def test_data_validates(rasa_installed: Path) -> None:
    proc = run_rasa("data", "validate", "--config", "config.yml", "--domain", "domain.yml", "--data", "data")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "No story structure conflicts found" in output
    assert not re.findall(r"The intent '(\w+)' is not used", output)
    unused = set(re.findall(r"The utterance '(\w+)' is not used in any story or rule", output))
    assert unused <= SAID_BY_ACTIONS, unused - SAID_BY_ACTIONS


def test_nlu_cross_validation(rasa_installed: Path, tmp_path: Path) -> None:
    """5-fold cross-validation; the reports are kept in var/artifacts/nlu/ (intent_report.json and summary.json)."""
    results = tmp_path / "cv"
    cross_validate(5, results)
    summary = nlu_summary(results)
    keep_artifacts(results, ARTIFACTS, summary)
    for name in KEPT:
        assert (ARTIFACTS / name).exists(), name
    report = json.loads((ARTIFACTS / "intent_report.json").read_text())
    assert set(report) >= INTENTS
    assert report["macro avg"]["f1-score"] >= MACRO_F1_FLOOR, report["macro avg"]
    for language in ("ko", "en"):
        assert summary["languages"][language]["macro_f1"] >= LANGUAGE_MACRO_F1_FLOOR, (language, summary)


def test_conversations(model: Path, tmp_path: Path) -> None:
    """bot/tests/test_stories.yml: every user message's intent and entities, then every predicted action."""
    out = tmp_path / "core"
    proc = run_rasa(
        "test", "core", "--e2e", "--model", str(model), "--stories", "tests/test_stories.yml",
        "--out", str(out), "--no-plot", "--fail-on-prediction-errors",
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    failed = (out / "failed_test_stories.yml").read_text()
    assert "predicted:" not in failed, failed
    report = json.loads((out / "story_report.json").read_text())
    assert report["conversation_accuracy"]["accuracy"] == 1.0, report["conversation_accuracy"]
