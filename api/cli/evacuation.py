"""``safecity import-shelters`` and ``safecity load-demo-shelters``.

Both print a JSON report on stdout: loaded, updated, unchanged, deactivated (and demo shelters retired by an
official file), and each rejected row's reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import click
import msgspec

from api.evacuation import demo, service
from api.evacuation.importer import UnreadableFile, parse
from api.evacuation.schemas import ImportReport, ShelterKind
from api.platform.errors import Problem


def _run(work: Callable[[asyncpg.Connection], Awaitable[ImportReport | None]]) -> ImportReport | None:
    # Imported here: the `safecity` group in api.cli imports this module to add its commands.
    from api.cli.common import database_url, load_settings

    async def go(url: str) -> ImportReport | None:
        conn = await asyncpg.connect(url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    with database_url(load_settings()) as url:
        try:
            return asyncio.run(go(url))
        except asyncpg.UndefinedTableError as exc:
            raise click.ClickException(f"{exc}: run `safecity migrate` first") from exc
        except (OSError, asyncpg.InterfaceError) as exc:
            raise click.ClickException(f"cannot reach the database: {type(exc).__name__}: {exc}") from exc


@click.command("import-shelters")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    type=click.Choice([k.value for k in ShelterKind]),
    help="The kind of shelter the file lists (default: recognised from its header, else its name).",
)
@click.option("--source", default="seoul-open-data", show_default=True, help="Where the file comes from.")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The date the data is as of (default: the file's modification date, UTC).",
)
@click.option("--keep-missing", is_flag=True, help="Leave active the shelters of this kind and source the file omits.")
def import_shelters(file: Path, kind: str | None, source: str, as_of: datetime | None, keep_missing: bool) -> None:
    """Import a shelter CSV file from the Seoul Open Data Plaza (UTF-8 or CP949), upserting by source id."""
    if source == demo.SOURCE:
        raise click.BadParameter(f"{demo.SOURCE!r} is kept for the demo set", param_hint="--source")
    try:
        parsed = parse(file.read_bytes(), kind=ShelterKind(kind) if kind else None, filename=file.name)
    except UnreadableFile as exc:
        raise click.ClickException(str(exc)) from exc
    day = as_of.date() if as_of else _modified_on(file)
    report = _run(
        lambda conn: service.import_file(
            conn, parsed, file=file.name, source=source, as_of=day, deactivate_missing=not keep_missing
        )
    )
    click.echo(msgspec.json.encode(report).decode())


def _modified_on(file: Path) -> date:
    # A re-import of the same file must change nothing, so the default is the file's date, not today's.
    return datetime.fromtimestamp(file.stat().st_mtime, UTC).date()


@click.command("load-demo-shelters")
@click.option("--if-empty", is_flag=True, help="Only when no shelter at all is stored (the embedded default).")
def load_demo(if_empty: bool) -> None:
    """Load the small demo set of shelters (source "demo", each named [데모]), not real shelters."""
    try:
        report = _run(lambda conn: service.load_demo(conn, if_empty=if_empty))
    except Problem as exc:
        raise click.ClickException(exc.detail) from exc
    if report is None:
        click.echo("shelters are already stored; the demo set was not loaded", err=True)
        return
    click.echo(msgspec.json.encode(report).decode())
