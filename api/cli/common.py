"""What every command needs: settings, and the database (``DATABASE_URL`` or the embedded PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
import msgspec

from api.platform.db.embedded import start_embedded
from api.platform.settings import Settings, SettingsError


def load_settings() -> Settings:
    """Settings from the environment, or a clear error naming the bad variable."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """Yield the database URL, starting the embedded server for the duration when none is configured."""
    if settings.db.url:
        yield settings.db.url
        return
    click.echo(f"DATABASE_URL is unset: using the embedded PostgreSQL in {settings.var_dir / 'pgdata'}", err=True)
    server, url = start_embedded(settings.var_dir)
    try:
        yield url
    finally:
        server.stop()


def with_url(settings: Settings, url: str) -> Settings:
    """The same settings, pointed at ``url``."""
    return msgspec.structs.replace(settings, db=msgspec.structs.replace(settings.db, url=url))


def secret_warning(settings: Settings) -> str | None:
    """What to tell someone minting a token without ``JWT_SECRET``: an API that has it will refuse the token.

    Call it before anything reads the secret, which generates ``var/jwt_secret`` when it is missing.
    """
    if settings.auth.jwt_secret:
        return None
    path = settings.var_dir / "jwt_secret"
    if path.exists():
        return (
            f"warning: JWT_SECRET is unset, so this token is signed with {path}; "
            "an API that has JWT_SECRET set will refuse it."
        )
    return (
        f"WARNING: JWT_SECRET is unset and {path} did not exist, so a NEW signing secret was generated there. "
        "This token works only for an API on this machine that also runs without JWT_SECRET; "
        "to mint one for a deployed API, set JWT_SECRET to the API's value."
    )
