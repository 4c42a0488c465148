"""``safecity rasa`` and ``safecity actions``: one chatbot process each, for a supervisor such as systemd.

``safecity run`` starts the chatbot as its children; a deployment gives each process a unit of its own
(deploy/systemd/, docs/deploying.md). These commands work out the same argv and environment as ``safecity run``
(``api.cli.chatbot.processes``) for server ``--server`` of those ``RASA_URL`` lists, and then *become* that
process (exec), so the supervisor's signals and exit status are Rasa's own.
"""

from __future__ import annotations

import asyncio
import os

import click

from api.cli.chatbot import off_because, processes
from api.cli.common import load_settings


def _exec(kind: str, server: int) -> None:
    settings = load_settings()
    if not os.environ.get("DATABASE_URL"):
        # exec would leave the embedded PostgreSQL with no process holding it; `safecity run` is for that.
        raise click.ClickException("set DATABASE_URL: on the embedded default, `safecity run` starts the chatbot")
    reason = off_because(settings)
    if reason is not None:
        raise click.ClickException(f"the chatbot is off: {reason}")
    urls = settings.rasa.urls()
    if not 1 <= server <= len(urls):
        raise click.BadParameter(f"RASA_URL lists {len(urls)} server(s): 1 to {len(urls)}", param_hint="--server")
    specs = asyncio.run(processes(settings, database_url=os.environ["DATABASE_URL"], servers=len(urls)))
    name, argv, env = [s for s in specs if s[0].startswith(kind)][server - 1]
    click.echo(f"{name}: {' '.join(argv)}", err=True)
    os.execve(argv[0], argv, {**os.environ, **env})  # noqa: S606 (argv is ours, no shell)


_SERVER = click.option(
    "--server", type=int, default=1, show_default=True, help="Which of the servers RASA_URL lists (1 is the first)."
)


@click.command()
@_SERVER
def rasa(server: int) -> None:
    """Become Rasa server SERVER (its port from RASA_URL; its action server on ACTIONS_PORT + SERVER - 1)."""
    _exec("rasa", server)


@click.command()
@_SERVER
def actions(server: int) -> None:
    """Become the action server of Rasa server SERVER (on ACTIONS_PORT + SERVER - 1)."""
    _exec("actions", server)
