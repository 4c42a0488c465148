"""The second line of defence for need_help: a Rasa component after the classifier and its fallback.

A classifier trained on a few hundred examples misses calls for help it has not seen ("사람살려", "my chest
hurts really bad") and reads some as other intents ("I fell in the bathroom" as a check-in). The cost of the two
errors is not the same: a missed cry for help can be a death, a needless "도움이 필요하세요?" is one more question.
So when distress is plausible, a cue in the message (bot/nlu/cues.py) or need_help among the classifier's top
three above a low threshold, the intent becomes need_help and the message carries ``distress``: the cue, the
intent the classifier had chosen and how sure it was. action_ask_for_help then asks before it opens a case for
someone in care (and opens it unless they say no), and gives 119/112 at once to anyone else. When the
classifier itself chose need_help the message carries no ``distress`` and the help path opens directly.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.cues import NEED_HELP, distress_mark


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class DistressGuard(GraphComponent, IntentClassifier):
    """need_help whenever distress is plausible, marked ``distress`` when the classifier had not chosen it."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # need_help among the top `rank` intents with at least `threshold` confidence is plausible distress.
        return {"threshold": 0.25, "rank": 3}

    def __init__(self, config: dict[str, Any]) -> None:
        self._threshold = float(config["threshold"])
        self._rank = int(config["rank"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> DistressGuard:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._guard(message)
        return messages

    def _guard(self, message: Message) -> None:
        intent = message.get("intent") or {}
        ranking = [(r.get("name"), r.get("confidence", 0.0)) for r in message.get("intent_ranking") or []]
        mark = distress_mark(
            message.get("text"), intent.get("name"), ranking, threshold=self._threshold, rank=self._rank
        )
        if mark is None:
            return
        confidence = intent.get("confidence")
        message.set("intent", {"name": NEED_HELP, "confidence": max(mark["need_help"], confidence or 0.0)})
        message.set("distress", {**mark, "confidence": confidence}, add_to_output=True)
