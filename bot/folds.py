"""A cross-validation that keeps every parse whole: run by bot/.venv's Python, it writes one JSON list.

``rasa test nlu --cross-validation`` keeps only each held-out message's final intent and confidence. Tuning
DistressGuard's threshold needs what the guard saw: the classifier's ranking and the ``distress`` mark. So this
trains the pipeline on each fold's training part (the folds stratified by intent, seeded so that a rerun
splits alike; lookup tables, regexes and synonyms in every fold) and parses each held-out message through the
whole pipeline, guard included.

    bot/.venv/bin/python -m bot.folds --config bot/config.yml --data bot/data --folds 5 --seed 0 --out rows.json

With ``--also-train DIR``, DIR's NLU examples join every fold's training part and are never parsed: the folds and
the parsed messages stay those of ``--data``, so a run with and without DIR measures what its examples add.

Each row: ``text``, ``intent`` (gold), ``predicted`` (final), ``confidence``, ``ranking`` ([name, confidence]
as the guard saw it: after the fallback, which puts itself first), ``distress`` (the guard's mark or null),
``unknown_words`` (UnknownWords's mark, bot/nlu/unknown_words.py, or null).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
from pathlib import Path

from rasa.core.agent import Agent
from rasa.model_training import train_nlu
from rasa.shared.importers.importer import TrainingDataImporter
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.model_selection import StratifiedKFold


def folds(data: TrainingData, n: int, seed: int) -> list[tuple[TrainingData, list]]:
    """``n`` stratified folds: each fold's training data (with the lookups, regexes, synonyms) and held-out examples."""
    examples = data.intent_examples
    labels = [e.get("intent") for e in examples]
    split = StratifiedKFold(n_splits=n, shuffle=True, random_state=seed).split(examples, labels)
    return [
        (
            TrainingData(
                training_examples=[examples[i] for i in train],
                entity_synonyms=data.entity_synonyms,
                regex_features=data.regex_features,
                lookup_tables=data.lookup_tables,
            ),
            [examples[i] for i in test],
        )
        for train, test in split
    ]


async def _parse_all(model: str, examples: list) -> list[dict]:
    agent = Agent.load(model)
    rows = []
    for example in examples:
        parsed = await agent.parse_message(example.get("text"))
        intent = parsed.get("intent") or {}
        rows.append(
            {
                "text": example.get("text"),
                "intent": example.get("intent"),
                "predicted": intent.get("name"),
                "confidence": intent.get("confidence"),
                "ranking": [[r.get("name"), r.get("confidence")] for r in parsed.get("intent_ranking") or []],
                "distress": parsed.get("distress"),
                "unknown_words": parsed.get("unknown_words"),
            }
        )
    return rows


def _nlu_data(data: Path) -> TrainingData:
    """The NLU data of ``data`` as ``rasa train`` reads it (the stories and rules left out)."""
    return TrainingDataImporter.load_from_dict(training_data_paths=[str(data)]).get_nlu_data()


def cross_validate(config: Path, data: Path, n: int, seed: int, also_train: Path | None = None) -> list[dict]:
    """Every training example parsed by a model that never saw it (trained also on ``also_train``'s, if given)."""
    rows: list[dict] = []
    extra = _nlu_data(also_train) if also_train else None
    with tempfile.TemporaryDirectory(prefix="bot-folds-") as tmp:
        for i, (train, test) in enumerate(folds(_nlu_data(data), n, seed)):
            if extra is not None:
                train = train.merge(extra)
            train_file = Path(tmp) / f"fold{i}.yml"
            RasaYAMLWriter().dump(train_file, train)
            model = train_nlu(str(config), str(train_file), str(Path(tmp) / f"model{i}"), fixed_model_name="m")
            if model is None:
                raise RuntimeError(f"fold {i}: training failed")
            rows += asyncio.run(_parse_all(model, test))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--also-train", type=Path, help="NLU data added to every fold's training, never parsed")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows = cross_validate(args.config, args.data, args.folds, args.seed, args.also_train)
    args.out.write_text(json.dumps(rows, ensure_ascii=False))


if __name__ == "__main__":
    main()
