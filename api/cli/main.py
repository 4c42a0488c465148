"""The ``safecity`` command group and its process commands."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import click

from api.cli.accounts import staff, token
from api.cli.chatbot_commands import actions, rasa
from api.cli.common import database_url, load_settings, with_url
from api.cli.console import staff_unlock
from api.cli.evacuation import import_shelters, load_demo

SEOUL = ZoneInfo("Asia/Seoul")


@click.group()
def main() -> None:
    """safecity: Seoul's smart and safe city backend."""
    from api.platform.logging import configure_logging

    # Logs go to stderr, so that what a command prints on stdout (a token, JSON) stays clean for scripts.
    configure_logging(load_settings().log, process="cli")


main.add_command(token)
staff.add_command(staff_unlock)
main.add_command(staff)
main.add_command(import_shelters)
main.add_command(load_demo)
main.add_command(rasa)
main.add_command(actions)


@main.command()
def migrate() -> None:
    """Apply pending database migrations (migrations/NNNN_*.sql)."""
    from api.platform.db.migrations import MigrationError
    from api.platform.db.migrations import migrate as apply

    settings = load_settings()

    async def go(url: str) -> list[str]:
        conn = await asyncpg.connect(url)
        try:
            return [m.filename for m in await apply(conn, Path(settings.paths.migrations_dir))]
        finally:
            await conn.close()

    with database_url(settings) as url:
        try:
            applied = asyncio.run(go(url))
        except MigrationError as exc:
            raise click.ClickException(f"migration failed: {exc}") from exc
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise click.ClickException(f"cannot reach the database: {type(exc).__name__}: {exc}") from exc
    for name in applied:
        click.echo(f"applied {name}", err=True)
    click.echo(f"{len(applied)} migration(s) applied; the schema is current.", err=True)


@main.command()
@click.option("--host", default=None, help="Interface to listen on (HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (PORT, default 8000).")
@click.option("--workers", type=int, default=None, help="Worker processes (WEB_CONCURRENCY, default 1).")
def api(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the HTTP API (uvicorn)."""
    import uvicorn

    from api.platform.logging import configure_logging
    from api.platform.server import uvicorn_options

    settings = load_settings()
    configure_logging(settings.log, process="api")
    # uvicorn stops gracefully on SIGTERM and then raises it again, to end as the signal says: with the default
    # handler that would kill the process before ``database_url`` lets go of the embedded PostgreSQL.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    processes = workers or settings.http.workers
    if processes > 1:  # each process counts its own requests; /metrics sums them from there
        from api.platform.metrics import multiprocess_dir

        multiprocess_dir(settings.paths.var_dir)
    with database_url(settings) as url:
        os.environ["DATABASE_URL"] = url
        uvicorn.run(
            "api.app:app_from_env",
            factory=True,
            host=host or settings.http.host,
            port=port or settings.http.port,
            workers=processes,
            log_config=None,
            access_log=False,
            proxy_headers=True,
            server_header=False,
            **uvicorn_options(settings.http),
        )


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _stopped_while_starting(signum: int, frame: object) -> None:
    click.echo("worker stopped while starting", err=True)
    raise SystemExit(0)


@main.command()
@click.option("--dispatch/--no-dispatch", default=True, help="Send the outbox's messages (default on).")
@click.option("--schedule/--no-schedule", default=True, help="Run the scheduled jobs (default on).")
def worker(dispatch: bool, schedule: bool) -> None:
    """Run the scheduler (each job slot once across all workers) and the outbox dispatcher."""
    # Until the event loop takes SIGTERM over, a stop (from `safecity run`, say) ends the process cleanly.
    signal.signal(signal.SIGTERM, _stopped_while_starting)
    from api.platform.logging import configure_logging
    from api.worker import serve

    settings = load_settings()
    configure_logging(settings.log, process="worker")
    with database_url(settings) as url:
        asyncio.run(serve(with_url(settings, url), dispatch=dispatch, schedule=schedule))


@main.command()
@click.option("--api", "apis", type=click.IntRange(1, 16), default=1, help="API processes, on PORT, PORT+1… (1).")
@click.option("--worker", "workers", type=click.IntRange(1, 16), default=1, help="Worker processes (1).")
@click.option(
    "--rasa", "rasas", type=click.IntRange(1, 8), default=1, help="Rasa servers, each with its action server (1)."
)
def run(apis: int, workers: int, rasas: int) -> None:
    """Run the whole system: the API, the worker and (when built and trained) the chatbot, all stopped on Ctrl-C."""
    from api.cli.supervisor import Counts, supervise

    settings = load_settings()
    with database_url(settings) as url:
        counts = Counts(api=apis, worker=workers, rasa=rasas)
        sys.exit(asyncio.run(supervise(database_url=url, settings=settings, counts=counts)))


@main.group()
def jobs() -> None:
    """Scheduled jobs."""


@jobs.command("list")
def jobs_list() -> None:
    """List every scheduled job."""
    from api.worker import JOBS

    settings = load_settings()
    for job in (j.for_settings(settings) for j in JOBS.values()):
        click.echo(f"{job.name}\tevery {job.every}\t{job.description}")


@jobs.command("run")
@click.argument("name")
@click.option("--now", "now_text", default=None, help="Run as of this ISO-8601 time (no offset = Asia/Seoul).")
def jobs_run(name: str, now_text: str | None) -> None:
    """Run one job once, for the slot that NOW falls in, and print what it did as JSON."""
    import msgspec

    from api.platform.db.pool import create_pool
    from api.platform.jobs.runner import run_job
    from api.worker import JOBS

    if name not in JOBS:
        raise click.ClickException(f"no job named {name!r}; `safecity jobs list` shows them")
    now = _parse_now(now_text)
    settings = load_settings()

    async def go(url: str) -> object:
        pool = await create_pool(with_url(settings, url).db)
        try:
            return await run_job(pool, JOBS[name], now=now, settings=settings)
        finally:
            await pool.close()

    with database_url(settings) as url:
        result = asyncio.run(go(url))
    click.echo(msgspec.json.encode(result).decode())


def _parse_now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not an ISO-8601 time", param_hint="--now") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=SEOUL)).astimezone(UTC)
