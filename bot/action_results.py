"""Rasa's check of each action server answer, with its schema checked once instead of at every answer.

Rasa 3.6 validates every answer of the action server with ``jsonschema.validate(answer, schema)``, which first
checks the schema itself against JSON Schema's meta-schema, and builds a validator, each time. The schema is
Rasa's own constant (``RemoteAction.action_response_format_spec``). Measured with py-spy on a Rasa server under
``bench.chat_http``, that check of the schema was about two thirds of the server's CPU per turn (docs/chatbot.md,
"Measured"). Here the schema is checked and its validator built once; every answer is still validated against
it, and one that fails goes through Rasa's own check, so it fails with Rasa's own error, as before.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction

_rasa_check = RemoteAction._validate_action_result


@cache
def validator() -> Validator:
    """The validator of Rasa's schema for action answers, the schema checked against its meta-schema once."""
    schema = RemoteAction.action_response_format_spec()
    kind = validator_for(schema)
    kind.check_schema(schema)
    return kind(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    if validator().is_valid(result):
        return True
    return _rasa_check(self, result)  # raises Rasa's ValidationError, with its message


def install() -> None:
    """Use the cached check in this process's Rasa."""
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
