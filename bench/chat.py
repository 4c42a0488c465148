"""Benchmark of the chatbot: NLU intent accuracy and macro-F1 from cross-validation, per language.

Runs ``rasa test nlu --cross-validation`` with bot/.venv's Rasa on the project's own training data, splits the
held-out predictions by script (Hangul: Korean; Latin: English), scores each language, and says what the
FallbackClassifier's threshold does to them. Optionally times one full training run.

    .venv/bin/python -m bench.chat [--folds 5] [--out var/artifacts/nlu] [--train-time]

Prints one JSON object. Each part of the benchmark is a function in PARTS taking the parsed arguments and
returning a JSON-able dict; the HTTP round trip of POST /v1/chat joins as another part.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bot.evaluation import ARTIFACTS, RASA, cross_validate, keep_artifacts, nlu_summary, rasa


def nlu_part(args: argparse.Namespace) -> dict:
    """Cross-validation of the NLU model, per language; with --train-time, one full training timed."""
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
        results = Path(tmp) / "cv"
        seconds = cross_validate(args.folds, results)
        summary = nlu_summary(results)
        keep_artifacts(results, args.out, summary)
        part = {"folds": args.folds, "cross_validation_seconds": round(seconds, 1), **summary}
        if args.train_time:
            started = time.perf_counter()
            rasa("train", "--config", "config.yml", "--domain", "domain.yml", "--data", "data", "--out", tmp)
            part["train_seconds"] = round(time.perf_counter() - started, 1)
    return part


PARTS: dict[str, Callable[[argparse.Namespace], dict]] = {"nlu": nlu_part}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", action="append", choices=sorted(PARTS), help="run only these parts (repeatable)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ARTIFACTS, help="where the reports are kept")
    parser.add_argument("--train-time", action="store_true", help="also time one full training run")
    args = parser.parse_args()
    if not RASA.exists():
        raise SystemExit(f"{RASA} is missing: `make bot` installs it")
    print(json.dumps({part: PARTS[part](args) for part in args.part or PARTS}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
