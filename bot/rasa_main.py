"""``rasa`` as ``safecity run`` starts it: Rasa's own command line, without its libraries' deprecation warnings.

Rasa 3.6 uses APIs its libraries have deprecated (argparse's nested groups, SQLAlchemy 1.x's declarative base,
pkg_resources, pyparsing's camelCase names in matplotlib) and warns of them at every start; nothing in them is
ours to act on. Filters cannot hide them for good (``PYTHONWARNINGS`` included): Sanic, pyparsing and others put
their own in front when they are imported. So the one place every shown warning passes, ``showwarning``, leaves
out deprecations; every other warning Rasa gives still shows.

It also checks the action server's answers with a validator built once (bot/action_results.py), not Rasa's
``jsonschema.validate``, which checks its own constant schema again at every answer.
"""

import sys
import warnings
from typing import Any

_show = warnings.showwarning


def _show_unless_deprecation(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    if not issubclass(category, DeprecationWarning | PendingDeprecationWarning):
        _show(message, category, *args, **kwargs)


warnings.showwarning = _show_unless_deprecation

from rasa.__main__ import main  # noqa: E402  (after the hook, so that the warnings of its imports pass it)

from bot import action_results  # noqa: E402  (bot/ is on PYTHONPATH, as for bot.nlu and bot.lock_store)

action_results.install()

if __name__ == "__main__":
    sys.argv[0] = "rasa"
    main()
