"""Benchmark of the chatbot: NLU intent accuracy and macro-F1 from cross-validation, per language.

Runs ``rasa test nlu --cross-validation`` with bot/.venv's Rasa on the project's own training data, splits the
held-out predictions by script (Hangul: Korean; Latin: English), scores each language, and says what the
FallbackClassifier's threshold does to them. Optionally times one full training run. The "holdout" part trains
bot/config.yml's pipeline (timed, its model's size) and scores it on bot/tests/holdout/ (clean and messy
messages training never sees), with need_help's recall and precision; "pipelines" compares candidate pipelines
(PIPELINES) by cross-validation and on that held-out set; "distress" tunes DistressGuard's threshold on
cross-validation of the training data, with the curve (threshold → need_help recall and precision, false help
prompts).

    .venv/bin/python -m bench.chat [--part nlu|holdout|pipelines|distress] [--pipeline NAME] [--folds 5]
                                   [--cv-only] [--seed 0] [--out var/artifacts/nlu] [--train-time]

Prints one JSON object. Each part of the benchmark is a function in PARTS taking the parsed arguments and
returning a JSON-able dict; the HTTP round trip of POST /v1/chat joins as another part.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bot.evaluation import (
    ARTIFACTS,
    BOT,
    RASA,
    cross_validate,
    distress_curve,
    distress_point,
    fallback_threshold,
    guard_threshold,
    holdout_summary,
    keep_artifacts,
    language_of,
    nlu_summary,
    parsed_cross_validation,
    rasa,
    scores,
    train,
)

# Candidates against bot/config.yml, each a replacement in its text (the tokenizer line, or a component's).
_TOKENIZER = "  - name: bot.nlu.kiwi.KiwiTokenizer\n"
# The logistic regression as bot/config.yml has it (bot/nlu/logistic.py, C 10), Rasa's own in its place (C fixed at
# 1, its classes balanced as here), and DIETClassifier in its place (intents only: the entities stay the regexes'),
# trained for so many epochs.
_CLASSIFIER = (
    "  - name: bot.nlu.logistic.RegularisedLogisticRegression\n    C: 10\n    max_iter: 200\n    solver: lbfgs\n"
    "    tol: 0.0001\n    random_state: 42\n    ranking_length: 10\n"
)
_RASA_CLASSIFIER = _CLASSIFIER.replace(
    "bot.nlu.logistic.RegularisedLogisticRegression\n    C: 10\n", "LogisticRegressionClassifier\n"
)


# The word-level CountVectorsFeaturizer (the one followed by the char_wb one), and with word pairs beside words.
_COUNTS = "  - name: CountVectorsFeaturizer\n"
_WORD_PAIRS = _COUNTS + "    min_ngram: 1\n    max_ngram: 2\n"


# The same logistic regression with another regularisation strength C.
def _regularised(c: float) -> str:
    return _CLASSIFIER.replace("    C: 10\n", f"    C: {c}\n")


# The char_wb featurizer (1–4 characters within each token) with another range of n-gram lengths.
_CHARS = "    analyzer: char_wb\n    min_ngram: 1\n    max_ngram: 4\n"


# A second char featurizer beside it, whose n-grams run across words (char, not char_wb): "smell gas", "가스냄새".
_ACROSS = _CHARS + "  - name: CountVectorsFeaturizer\n" + _CHARS.replace("char_wb", "char")


def _chars(low: int, high: int) -> str:
    return f"    analyzer: char_wb\n    min_ngram: {low}\n    max_ngram: {high}\n"


# The same logistic regression on each message's counts made sublinear and scaled to unit length, at C.
def _scaled(c: float) -> str:
    return _regularised(c).replace("    tol: 0.0001\n", "    tol: 0.0001\n    scaling: sublinear_l2\n")


def _diet(epochs: int) -> str:
    return (
        f"  - name: DIETClassifier\n    epochs: {epochs}\n    entity_recognition: false\n"
        "    constrain_similarities: true\n    random_seed: 42\n    ranking_length: 10\n"
    )


# UnknownWords (bot/nlu/unknown_words.py): a message with nothing training saw falls back; its line, to drop it.
_UNKNOWN_WORDS = "  - name: bot.nlu.unknown_words.UnknownWords\n"

# Each candidate: one replacement (old, new) in bot/config.yml's text, or several in turn; ("", "") is the config.
Replacement = tuple[str, str]
PIPELINES: dict[str, Replacement | tuple[Replacement, ...]] = {
    "kiwi_words_and_morphemes": ("", ""),
    "whitespace": (_TOKENIZER, "  - name: WhitespaceTokenizer\n"),
    "kiwi_morphemes_only": (_TOKENIZER, _TOKENIZER + "    keep_words: false\n"),
    "kiwi_typo_correction": (_TOKENIZER, _TOKENIZER + "    typos: basic\n"),
    "word_bigrams": (_COUNTS * 2, _WORD_PAIRS + _COUNTS),
    "diet_40_epochs": (_CLASSIFIER, _diet(40)),
    "diet_100_epochs": (_CLASSIFIER, _diet(100)),
    "lr_c_0.3": (_CLASSIFIER, _regularised(0.3)),
    "lr_c_3": (_CLASSIFIER, _regularised(3)),
    "rasa_lr_c_1": (_CLASSIFIER, _RASA_CLASSIFIER),
    "lr_c_30": (_CLASSIFIER, _regularised(30)),
    "lr_c_100": (_CLASSIFIER, _regularised(100)),
    "sublinear_l2_c_10": (_CLASSIFIER, _scaled(10)),
    "sublinear_l2_c_30": (_CLASSIFIER, _scaled(30)),
    "sublinear_l2_c_100": (_CLASSIFIER, _scaled(100)),
    "sublinear_l2_c_300": (_CLASSIFIER, _scaled(300)),
    "sublinear_l2_c_1000": (_CLASSIFIER, _scaled(1000)),
    "sublinear_l2_c_3000": (_CLASSIFIER, _scaled(3000)),
    "chars_across_words": (_CHARS, _CHARS.replace("char_wb", "char")),
    "chars_also_across_words": (_CHARS, _ACROSS),
    "chars_also_across_words_sublinear_l2_c_1000": ((_CHARS, _ACROSS), (_CLASSIFIER, _scaled(1000))),
    "chars_1_5": (_CHARS, _chars(1, 5)),
    "chars_2_5": (_CHARS, _chars(2, 5)),
    "no_unknown_words": (_UNKNOWN_WORDS, ""),
}


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


def _trained_holdout(config: Path, work: Path) -> dict:
    model, seconds = train(config, work / "model")
    return {
        "nlu_train_seconds": round(seconds, 1),
        "nlu_model_mb": round(model.stat().st_size / 1e6, 2),
        **holdout_summary(model, work / "holdout"),
    }


def holdout_part(args: argparse.Namespace) -> dict:
    """bot/config.yml's pipeline trained on bot/data (timed) and scored on the held-out messages."""
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
        return _trained_holdout(BOT / "config.yml", Path(tmp))


def pipelines_part(args: argparse.Namespace) -> dict:
    """Each candidate pipeline: cross-validation accuracy per language, and its held-out scores.

    With --cv-only, the cross-validation is bot.folds's (folds seeded, so every candidate is scored on the same
    splits and a difference is the pipeline's, not the shuffle's; the final intent, fallback and guard included)
    and the held-out set is not touched: candidates are chosen on the training data alone, and only the chosen
    one is then scored held out. Each candidate's parsed rows are kept in --out (cv_rows_NAME.json) to be read.
    """
    base = (BOT / "config.yml").read_text()
    compared = {}
    for name, change in PIPELINES.items():
        if args.pipeline and name not in args.pipeline:
            continue
        text = base
        for old, new in change if isinstance(change[0], tuple) else (change,):
            if old and old not in text:
                raise ValueError(f"bot/config.yml has no {old!r} for the {name} pipeline")
            text = text.replace(old, new) if old else text
        with tempfile.TemporaryDirectory(prefix=f"bench-chat-{name}-") as tmp:
            config = Path(tmp) / "config.yml"
            config.write_text(text)
            if args.cv_only:
                compared[name] = _seeded_cross_validation(config, Path(tmp), args.folds, args.seed, args.also_train)
                args.out.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(tmp) / "rows.json", args.out / f"cv_rows_{name}.json")
                continue
            seconds = cross_validate(args.folds, Path(tmp) / "cv", config=config)
            cv = nlu_summary(Path(tmp) / "cv")
            held = _trained_holdout(config, Path(tmp))
        compared[name] = {
            "cross_validation_seconds": round(seconds, 1),
            "cross_validation": {lang: {k: v[k] for k in ("examples", "accuracy", "macro_f1")}
                                 for lang, v in cv["languages"].items()},
            "holdout": {split: {lang: {k: v[k] for k in ("examples", "accuracy", "confusions")}
                                for lang, v in held[split].items()}
                        for split in ("clean", "messy")},
            "need_help": {k: held["need_help"][k] for k in ("recall", "precision")},
            "nlu_train_seconds": held["nlu_train_seconds"],
            "nlu_model_mb": held["nlu_model_mb"],
        }  # fmt: skip
    return compared


def _seeded_cross_validation(config: Path, work: Path, folds: int, seed: int, also_train: Path | None) -> dict:
    """bot.folds's cross-validation of ``config``: accuracy and macro-F1 of the final intent per language."""
    out = work / "rows.json"
    seconds = parsed_cross_validation(folds, out, config=config, seed=seed, also_train=also_train)
    rows = json.loads(out.read_text())
    by_language: dict[str, list[dict]] = {}
    for row in rows:
        by_language.setdefault(language_of(row["text"]), []).append(row)
    return {
        "folds": folds,
        "seed": seed,
        **({"also_trained_on": str(also_train)} if also_train else {}),
        "cross_validation_seconds": round(seconds, 1),
        "cross_validation": {
            lang: {
                k: v
                for k, v in scores((r["intent"], r["predicted"]) for r in group).items()
                if k in ("examples", "accuracy", "macro_f1")
            }
            for lang, group in sorted(by_language.items())
        },
    }


def distress_part(args: argparse.Namespace) -> dict:
    """DistressGuard's threshold tuned on cross-validation of the training data (never on the held-out set).

    Each training example parsed whole by a model that never saw it (bot.folds); the guard's rule replayed on
    those parses at each threshold: need_help's recall and precision, the false help prompts ("도움이 필요하세요?"
    to someone who did not ask; those no cue made are the threshold's own). Beside it the simplest guard, the cues
    alone, and the classifier with no guard; the ratios are against the cues alone.
    """
    with tempfile.TemporaryDirectory(prefix="bench-chat-distress-") as tmp:
        out = Path(tmp) / "rows.json"
        seconds = parsed_cross_validation(args.folds, out)
        rows = json.loads(out.read_text())
    threshold, rank = guard_threshold()
    curve = distress_curve(rows, rank, below=fallback_threshold())
    configured = distress_point(rows, threshold, rank)
    cues = curve["cues_only"]
    by_language: dict[str, list[dict]] = {}
    for row in rows:
        by_language.setdefault(language_of(row["text"]), []).append(row)
    return {
        "folds": args.folds,
        "cross_validation_seconds": round(seconds, 1),
        "cross_validation": {
            lang: _brief(scores((r["intent"], r["predicted"]) for r in group))
            for lang, group in sorted(by_language.items())
        },
        "configured_threshold": threshold,
        "configured": configured,
        **curve,
        "ratio_to_cues_only": {
            "need_help_recall": _ratio(configured["need_help_recall"], cues["need_help_recall"]),
            "false_help_prompts": _ratio(configured["false_help_prompts"], cues["false_help_prompts"]),
        },
    }


def _brief(score: dict) -> dict:
    """Accuracy and macro-F1, and each intent's F1 alone."""
    return {
        **{k: v for k, v in score.items() if k != "per_intent"},
        "f1": {intent: s["f1"] for intent, s in score["per_intent"].items()},
    }


def _ratio(value: float | None, baseline: float | None) -> float | None:
    return round(value / baseline, 2) if value is not None and baseline else None


PARTS: dict[str, Callable[[argparse.Namespace], dict]] = {
    "nlu": nlu_part,
    "holdout": holdout_part,
    "pipelines": pipelines_part,
    "distress": distress_part,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", action="append", choices=sorted(PARTS), help="run only these parts (repeatable)")
    parser.add_argument(
        "--pipeline", action="append", choices=sorted(PIPELINES), help="compare only these pipelines (repeatable)"
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="the folds' seed of --cv-only")
    parser.add_argument(
        "--cv-only", action="store_true", help="pipelines: seeded cross-validation alone, the held-out set untouched"
    )
    parser.add_argument(
        "--also-train", type=Path, help="--cv-only: NLU data added to every fold's training and never scored"
    )
    parser.add_argument("--out", type=Path, default=ARTIFACTS, help="where the reports are kept")
    parser.add_argument("--train-time", action="store_true", help="also time one full training run")
    args = parser.parse_args()
    if not RASA.exists():
        raise SystemExit(f"{RASA} is missing: `make bot` installs it")
    print(
        json.dumps({part: PARTS[part](args) for part in args.part or ("nlu", "holdout")}, ensure_ascii=False, indent=2)
    )


if __name__ == "__main__":
    main()
