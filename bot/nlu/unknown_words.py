"""Nothing the model knows, nothing understood: a Rasa component between the classifier and its fallback.

A message none of whose words or morphemes training ever saw ("갸갸갸", "asdf", "ㅇㄹㅇㄹ") gives the classifier no
feature but its character n-grams of chance, so what it says is its intercepts' (and those n-grams') guess, and a
less regularised classifier trusts that guess more: with C 10 "뷁뷁" read as affirm at 0.51, above the fallback's
0.4. So this keeps the training vocabulary (each token's text, lower-cased, as KiwiTokenizer gives words and
morphemes) with the model, and when a message has no token in it and no regex or lookup-table feature fired, it
sets the intent's confidence to 0, below any threshold: FallbackClassifier answers nlu_fallback. The ranking is
left as the classifier gave it, and a message with a distress cue (bot/nlu/cues.py) is left alone altogether:
DistressGuard, after the fallback, still sees it, so a cry for help is never made a fallback here.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.cues import distress_cue

_FILE = "vocabulary.json"


def _words(message: Message) -> set[str]:
    return {token.text.lower() for token in message.get(TOKENS_NAMES[TEXT]) or []}


def _pattern_fired(message: Message, origin: str) -> bool:
    """Whether a featurizer named ``origin`` (the RegexFeaturizer: a regex or lookup-table word) found anything."""
    for features in message.features:
        origins = features.origin if isinstance(features.origin, list) else [features.origin]
        if any(origin in name for name in origins) and features.features.count_nonzero():
            return True
    return False


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnknownWords(GraphComponent, IntentClassifier):
    """The classifier's confidence set to 0 for a message with no word, morpheme or pattern seen in training."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # The featurizer whose features count as known even for words training never saw (lookup tables).
        return {"pattern_featurizer": "RegexFeaturizer"}

    def __init__(
        self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, vocabulary: frozenset[str]
    ) -> None:
        self._pattern_featurizer = str(config["pattern_featurizer"])
        self._storage = model_storage
        self._resource = resource
        self.vocabulary = vocabulary

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UnknownWords:
        return cls(config, model_storage, resource, frozenset())

    def train(self, training_data: TrainingData) -> Resource:
        words: set[str] = set()
        for example in training_data.intent_examples:
            if example.get(INTENT) and example.get(TEXT):
                words |= _words(example)
        self.vocabulary = frozenset(words)
        with self._storage.write_to(self._resource) as directory:
            (directory / _FILE).write_text(json.dumps(sorted(words), ensure_ascii=False), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> UnknownWords:
        with model_storage.read_from(resource) as directory:
            words = json.loads((directory / _FILE).read_text(encoding="utf-8"))
        return cls(config, model_storage, resource, frozenset(words))

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if self.unknown(message):
                intent = message.get(INTENT) or {}
                message.set(INTENT, {**intent, "confidence": 0.0}, add_to_output=True)
                message.set("unknown_words", {"confidence": intent.get("confidence")}, add_to_output=True)
        return messages

    def unknown(self, message: Message) -> bool:
        """No token training saw, no pattern fired, no distress cue: nothing here the model can read."""
        text = message.get(TEXT) or ""
        if not text.strip() or distress_cue(text) is not None:
            return False
        if _words(message) & self.vocabulary:
            return False
        return not _pattern_fired(message, self._pattern_featurizer)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
