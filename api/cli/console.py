"""``safecity staff unlock``: lift the console's sign-in waits on an account, for an owner who rings up."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from api.cli.accounts import _in_database
from api.console import lockout


@click.command("unlock")
@click.argument("email")
def staff_unlock(email: str) -> None:
    """Forget the wrong passwords tried for EMAIL from every address, so none has to wait; its owner is told."""
    freed = _in_database(
        lambda conn: lockout.unlock(conn, email=email, source=None, actor="safecity CLI", now=datetime.now(UTC))
    )
    click.echo(f"{email.strip().lower()}: {'unlocked' if freed else 'nothing was waiting'}")
