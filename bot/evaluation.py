"""Evaluating the bot's NLU: ``rasa test nlu`` cross-validation, scored per language (Hangul: Korean; Latin:
English), with what the FallbackClassifier's threshold does to them. Used by tests/bot and bench.chat.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from bot.nlu.cues import NEED_HELP, distress_cue, distress_mark

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BOT = PROJECT_ROOT / "bot"
RASA = BOT / ".venv" / "bin" / "rasa"
ARTIFACTS = PROJECT_ROOT / "var" / "artifacts" / "nlu"
# PYTHONPATH: the project's root, where Rasa finds the components of bot/nlu/ that bot/config.yml names.
RASA_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONPATH": str(PROJECT_ROOT),
}
# The files `rasa test nlu --successes` writes that are worth keeping.
KEPT = ("intent_report.json", "intent_errors.json", "intent_successes.json", "RegexEntityExtractor_report.json")

_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e\u1100-\u11ff]")
_LATIN = re.compile(r"[A-Za-z]")


def rasa(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Runs bot/.venv's ``rasa`` in bot/, output captured; raises with the output's tail when it fails."""
    proc = subprocess.run(
        [str(RASA), *args],
        cwd=BOT,
        env={**os.environ, **RASA_ENV},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"rasa {' '.join(args)} exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-4000:]}")
    return proc


def language_of(text: str) -> str:
    """``ko`` for any Hangul (jamo shorthand such as ㅇㅇ included), else ``en`` for Latin letters, else ``other``."""
    if _HANGUL.search(text):
        return "ko"
    if _LATIN.search(text):
        return "en"
    return "other"


def scores(pairs: Iterable[tuple[str, str]]) -> dict:
    """Accuracy, macro-F1 and per-intent precision/recall/F1 of (gold, predicted) intent pairs."""
    pairs = list(pairs)
    gold = Counter(g for g, _ in pairs)
    predicted = Counter(p for _, p in pairs)
    correct = Counter(g for g, p in pairs if g == p)
    per_intent = {}
    for intent in sorted(gold):
        precision = correct[intent] / predicted[intent] if predicted[intent] else 0.0
        recall = correct[intent] / gold[intent]
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[intent] = {
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f1": round(f1, 3),
            "support": gold[intent],
        }
    return {
        "examples": len(pairs),
        "accuracy": round(sum(correct.values()) / len(pairs), 3) if pairs else None,
        "macro_f1": round(sum(s["f1"] for s in per_intent.values()) / len(per_intent), 3) if per_intent else None,
        "per_intent": per_intent,
    }


def predictions(results: Path) -> list[dict]:
    """The held-out predictions of a cross-validation: text, gold intent, predicted intent and its confidence."""
    rows = []
    for name in ("intent_successes.json", "intent_errors.json"):
        for row in json.loads((results / name).read_text()):
            prediction = row["intent_prediction"]
            rows.append(
                {
                    "text": row["text"],
                    "intent": row["intent"],
                    "predicted": prediction["name"],
                    "confidence": prediction["confidence"],
                }
            )
    return rows


def fallback_threshold() -> float:
    """The FallbackClassifier's threshold in bot/config.yml."""
    config = (BOT / "config.yml").read_text()
    match = re.search(r"- name: FallbackClassifier\s*\n\s+threshold: ([0-9.]+)", config)
    if match is None:
        raise ValueError("bot/config.yml has no FallbackClassifier threshold")
    return float(match.group(1))


def fallback_effect(rows: list[dict], threshold: float) -> dict:
    """What the threshold does to held-out predictions: right answers lost to the fallback, wrong ones caught."""
    right = [r for r in rows if r["predicted"] == r["intent"]]
    wrong = [r for r in rows if r["predicted"] != r["intent"]]
    lost = sum(r["confidence"] < threshold for r in right)
    caught = sum(r["confidence"] < threshold for r in wrong)
    answered = len(rows) - lost - caught
    return {
        "threshold": threshold,
        "correct_sent_to_fallback": round(lost / len(right), 3) if right else None,
        "wrong_sent_to_fallback": round(caught / len(wrong), 3) if wrong else None,
        "accuracy_of_answered": round((len(right) - lost) / answered, 3) if answered else None,
    }


def nlu_summary(results: Path) -> dict:
    """Per-language and overall scores of a cross-validation's held-out predictions in ``results``."""
    rows = predictions(results)
    by_language: dict[str, list[dict]] = {}
    for row in rows:
        by_language.setdefault(language_of(row["text"]), []).append(row)
    threshold = fallback_threshold()
    return {
        "overall": scores((r["intent"], r["predicted"]) for r in rows),
        "languages": {
            language: {
                **scores((r["intent"], r["predicted"]) for r in group),
                "fallback": fallback_effect(group, threshold),
            }
            for language, group in sorted(by_language.items())
        },
        "fallback": fallback_effect(rows, threshold),
    }


def cross_validate(folds: int, out: Path, config: Path = BOT / "config.yml") -> float:
    """Runs the cross-validation of ``config`` into ``out`` (replaced); its duration in seconds."""
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    rasa(
        "test",
        "nlu",
        "--cross-validation",
        "--folds",
        str(folds),
        "--config",
        str(config),
        "--domain",
        "domain.yml",
        "--nlu",
        "data",
        "--out",
        str(out),
        "--successes",
        "--no-plot",
    )
    return time.perf_counter() - started


def keep_artifacts(results: Path, artifacts: Path, summary: dict) -> None:
    """Copies the reports worth keeping, and the per-language summary, to ``artifacts``."""
    artifacts.mkdir(parents=True, exist_ok=True)
    for name in KEPT:
        if (results / name).exists():
            shutil.copyfile(results / name, artifacts / name)
    (artifacts / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")


HOLDOUT = BOT / "tests" / "holdout"  # never trained on: clean.yml and messy.yml


def test_model(model: Path, nlu: Path, out: Path) -> list[dict]:
    """``rasa test nlu`` of a trained model on ``nlu``; its predictions (as ``predictions``)."""
    shutil.rmtree(out, ignore_errors=True)
    rasa("test", "nlu", "--model", str(model), "--nlu", str(nlu), "--out", str(out), "--successes", "--no-plot")
    return predictions(out)


def need_help_scores(rows: list[dict]) -> dict:
    """Recall and precision of need_help, and the calls for help that were missed (with what they became)."""
    gold = [r for r in rows if r["intent"] == "need_help"]
    said = [r for r in rows if r["predicted"] == "need_help"]
    hits = [r for r in gold if r["predicted"] == "need_help"]
    return {
        "examples": len(gold),
        "recall": round(len(hits) / len(gold), 3) if gold else None,
        "precision": round(len(hits) / len(said), 3) if said else None,
        "missed": [(r["text"], r["predicted"]) for r in gold if r["predicted"] != "need_help"],
        "false_alarms": [(r["text"], r["intent"]) for r in said if r["intent"] != "need_help"],
    }


def holdout_summary(model: Path, work: Path) -> dict:
    """The model's scores on each held-out file, per language, with need_help's recall and precision."""
    summary: dict = {}
    everything: list[dict] = []
    for path in sorted(HOLDOUT.glob("*.yml")):
        rows = test_model(model, path, work / path.stem)
        everything += rows
        by_language: dict[str, list[dict]] = {}
        for row in rows:
            by_language.setdefault(language_of(row["text"]), []).append(row)
        summary[path.stem] = {
            language: {
                "examples": len(group),
                "accuracy": scores((r["intent"], r["predicted"]) for r in group)["accuracy"],
                # The errors as counts alone, never their texts: what one may look at while writing training
                # examples, so that they stay written apart from the held-out messages.
                "confusions": dict(
                    Counter(
                        f"{r['intent']} -> {r['predicted']}" for r in group if r["intent"] != r["predicted"]
                    ).most_common()
                ),
            }
            for language, group in sorted(by_language.items())
        }
    # need_help's misses and false alarms as counts too (on cross-validation, of the training data, they keep texts).
    scored = need_help_scores(everything)
    summary["need_help"] = {**scored, "missed": len(scored["missed"]), "false_alarms": len(scored["false_alarms"])}
    return summary


def train(config: Path, out: Path) -> tuple[Path, float]:
    """Trains a model of ``config`` on bot/data into ``out``: its path and the seconds it took."""
    started = time.perf_counter()
    rasa("train", "nlu", "--config", str(config), "--nlu", "data", "--out", str(out), "--fixed-model-name", "m")
    return out / "m.tar.gz", time.perf_counter() - started


PYTHON = BOT / ".venv" / "bin" / "python"
# DistressGuard's thresholds tried on cross-validation: need_help among the top `rank` at this confidence or more.
THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)


def parsed_cross_validation(
    folds: int, out: Path, config: Path = BOT / "config.yml", seed: int = 0, also_train: Path | None = None
) -> float:
    """bot.folds's cross-validation of ``config`` on bot/data (whole parses, seeded folds) into ``out``; seconds.

    ``also_train``: NLU data that joins every fold's training and is never parsed (bot.folds's --also-train)."""
    started = time.perf_counter()
    extra = ["--also-train", str(also_train.resolve())] if also_train else []
    proc = subprocess.run(
        [str(PYTHON), "-m", "bot.folds", "--config", str(config), "--data", str(BOT / "data"),
         "--folds", str(folds), "--seed", str(seed), "--out", str(out), *extra],
        cwd=BOT, env={**os.environ, **RASA_ENV}, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"bot.folds exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-4000:]}")
    return time.perf_counter() - started


def guard_threshold() -> tuple[float, int]:
    """DistressGuard's threshold and rank in bot/config.yml."""
    config = (BOT / "config.yml").read_text()
    guard = r"- name: bot\.nlu\.distress\.DistressGuard\s*\n\s+threshold: ([0-9.]+)\s*\n\s+rank: (\d+)"
    match = re.search(guard, config)
    if match is None:
        raise ValueError("bot/config.yml has no DistressGuard threshold and rank")
    return float(match.group(1)), int(match.group(2))


def guarded(row: dict, threshold: float | None, rank: int) -> str:
    """The final intent of a parsed row had DistressGuard used ``threshold`` (None: no guard at all)."""
    distress = row.get("distress")
    chosen = distress["classified_as"] if distress else row["predicted"]
    if threshold is None:
        return chosen
    mark = distress_mark(row["text"], chosen, [tuple(r) for r in row["ranking"]], threshold=threshold, rank=rank)
    return NEED_HELP if mark is not None else chosen


def distress_point(rows: list[dict], threshold: float | None, rank: int) -> dict:
    """need_help's recall and precision at ``threshold``; the false alarms (need_help for a message that was not a
    call for help), of them the help prompts the guard made ("도움이 필요하세요?", or 119/112 to someone not in
    care), and of those the ones no cue made (the threshold's own)."""
    final = [(r, guarded(r, None, rank), guarded(r, threshold, rank)) for r in rows]
    gold = sum(r["intent"] == NEED_HELP for r, _, _ in final)
    said = [(r, chosen) for r, chosen, p in final if p == NEED_HELP]
    hits = sum(r["intent"] == NEED_HELP for r, _ in said)
    false = [(r, chosen) for r, chosen in said if r["intent"] != NEED_HELP]
    prompts = [r for r, chosen in false if chosen != NEED_HELP]
    return {
        "threshold": threshold,
        "need_help_recall": round(hits / gold, 3) if gold else None,
        "need_help_precision": round(hits / len(said), 3) if said else None,
        "missed": gold - hits,
        "false_alarms": len(false),
        "false_help_prompts": len(prompts),
        "false_help_prompts_without_cue": sum(distress_cue(r["text"]) is None for r in prompts),
        "accuracy": round(sum(r["intent"] == p for r, _, p in final) / len(final), 3) if final else None,
    }


def distress_curve(
    rows: list[dict], rank: int, thresholds: Iterable[float] = THRESHOLDS, below: float | None = None
) -> dict:
    """The guard's curve on cross-validated parses, and the threshold it supports: among the thresholds that miss no
    call for help a lower one would catch (recall is never traded), those that ask the fewest people needlessly;
    of these the lowest, so that an unseen call for help the classifier half-recognises is still caught.

    ``below`` (the fallback's threshold) bounds the choice: the guard is for a need_help the classifier is unsure
    of, so its threshold is a low one, under the confidence the classifier needs to be taken at its word. Without
    it, once the cues catch all but what the classifier ranks high, the fewest prompts come at any threshold."""
    curve = [distress_point(rows, t, rank) for t in sorted(thresholds)]
    candidates = [p for p in curve if below is None or p["threshold"] < below]
    best_recall = max(p["need_help_recall"] or 0.0 for p in candidates)
    safe = [p for p in candidates if (p["need_help_recall"] or 0.0) >= best_recall]
    fewest = min(p["false_help_prompts"] for p in safe)
    chosen = min(p["threshold"] for p in safe if p["false_help_prompts"] == fewest)
    return {
        "rank": rank,
        "curve": curve,
        "chosen_threshold": chosen,
        "chosen_below": below,
        "cues_only": distress_point(rows, 1.01, rank),  # the simplest guard: the cues alone
        "no_guard": distress_point(rows, None, rank),  # the classifier alone
    }
