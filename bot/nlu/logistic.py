"""Rasa's logistic regression with its regularisation strength, and the scaling of its counts, as settings.

Rasa 3.6's LogisticRegressionClassifier fixes scikit-learn's ``C`` at 1.0 (and its classes balanced). With the
word, morpheme and character n-gram counts summed over a message, thousands of sparse features against under two
thousand examples, how strongly the weights are held back is the setting that matters most; so this makes it
one. bot/config.yml takes C 10, chosen by cross-validation (bench.chat's candidate pipelines ``lr_c_*``,
``rasa_lr_c_1``). A higher C trusts the intercepts more on a message with no feature the model knows (gibberish
read as affirm above the fallback's threshold): bot/nlu/unknown_words.py sends those to the fallback.

``scaling`` is how a message's summed counts reach the model: ``counts`` as Rasa passes them, or ``sublinear_l2``,
each count c as 1 + log c and the row scaled to unit length, so that a long message (many character n-grams) does
not outweigh a short one by its length alone. Both depend on the message alone, so nothing more is persisted.
Everything else, training, persistence and loading, is Rasa's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import csr_matrix
from sklearn.preprocessing import normalize

SCALINGS = ("counts", "sublinear_l2")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class RegularisedLogisticRegression(LogisticRegressionClassifier):
    """LogisticRegressionClassifier whose ``C`` (the inverse of the L2 penalty's weight) and scaling are configured."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "C": 1.0, "scaling": "counts"}

    def __init__(self, config: dict[str, Any], name: str, model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__(config, name, model_storage, resource)
        if self.config["scaling"] not in SCALINGS:
            raise ValueError(f"scaling must be one of {', '.join(SCALINGS)}, not {self.config['scaling']!r}")
        self.clf.set_params(C=float(self.config["C"]))

    def _create_X(self, messages: list[Message]) -> csr_matrix:
        counts = super()._create_X(messages)
        if self.config["scaling"] == "counts":
            return counts
        features = csr_matrix(counts, dtype=np.float64)
        positive = features.data > 0
        features.data[positive] = 1.0 + np.log(features.data[positive])
        return normalize(features, norm="l2", copy=False)
