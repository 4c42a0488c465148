"""A Rasa tokenizer over Kiwi (kiwipiepy): each word, and the morphemes Kiwi finds in it.

Korean glues particles and endings to its stems ("싱크홀이생겼어요"), so a whitespace word is a sparse feature
that training rarely sees twice. Kiwi splits it into 싱크 / 홀 / 이 / 생기 / 었 / 어요, restoring contracted
stems (생겼 → 생기 + 었) that no character n-gram recovers, and it copes with missing spaces. The word itself is
kept as a token beside its morphemes, so the character n-gram featurizer still sees it whole and absorbs the
typos Kiwi misreads. Latin words are single morphemes and pass as they are. Kiwi's model comes from the
kiwipiepy-model package: nothing is downloaded at run time.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import regex
from kiwipiepy import Kiwi
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

# Kiwi's tags for punctuation and brackets: no feature worth having.
_PUNCTUATION = {"SF", "SP", "SS", "SSO", "SSC", "SE", "SO"}
_WORD = regex.compile(r"[\p{L}\p{N}\p{M}#@&_'-]+")


@lru_cache(maxsize=2)
def _kiwi(typos: str | None) -> Kiwi:
    """One analyser per process and setting: loading the model takes seconds, and a cross-validation has folds."""
    return Kiwi(typos=typos) if typos else Kiwi()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class KiwiTokenizer(Tokenizer):
    """Words split on spaces and punctuation, each followed by its morphemes when it has more than one."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            # Kiwi's typo correction ("basic", "continual", …); None: off.
            "typos": None,
            # Keep each word as a token beside its morphemes.
            "keep_words": True,
        }

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._analyser = _kiwi(config.get("typos"))
        self._keep_words = bool(config.get("keep_words", True))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KiwiTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
        if not words:
            return [Token(text, 0)] if text.strip() else []
        morphemes = [
            (m.form, m.start, m.start + m.len) for m in self._analyser.tokenize(text) if m.tag not in _PUNCTUATION
        ]
        tokens: list[Token] = []
        for word, start, end in words:
            inside = [(form, s, e) for form, s, e in morphemes if s >= start and e <= end]
            split = len(inside) > 1 or (not self._keep_words and bool(inside))
            if self._keep_words or not split:
                tokens.append(Token(word, start, end))
            if split:
                tokens.extend(Token(form, s, e) for form, s, e in inside)
        return self._apply_token_pattern(tokens)
