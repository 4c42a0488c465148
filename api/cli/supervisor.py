"""``safecity run``: the whole system as child processes, their output prefixed, all stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from dataclasses import dataclass, field

from api.platform.settings import Settings

_STOP_GRACE_S = 10.0
_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
_LINE_LIMIT = 1 << 20  # a JSON log line with a long traceback fits whole


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # on top of the supervisor's own


@dataclass(frozen=True, slots=True)
class Counts:
    """How many of each process ``safecity run`` starts (``--api``, ``--worker``, ``--rasa``)."""

    api: int = 1
    worker: int = 1
    rasa: int = 1


def processes(settings: Settings | None = None, counts: Counts = Counts()) -> list[ProcessSpec]:
    """The processes of the whole system that always run: the APIs and the workers.

    API ``i`` listens on ``PORT + i``; worker ``i`` serves its metrics on ``WORKER_METRICS_PORT + i``. One of
    each keeps the plain names (``api``, ``worker``); more are ``api-1``, ``api-2``….
    """
    settings = settings or Settings.from_env()
    safecity = [sys.executable, "-m", "api.cli"]
    specs = []
    for i in range(counts.api):
        port = ["--port", str(settings.http.port + i)] if counts.api > 1 else []
        specs.append(ProcessSpec(_name("api", i, counts.api), [*safecity, "api", *port]))
    for i in range(counts.worker):
        metrics = settings.metrics.worker_port
        env = {"WORKER_METRICS_PORT": str(metrics + i)} if counts.worker > 1 and metrics else {}
        specs.append(ProcessSpec(_name("worker", i, counts.worker), [*safecity, "worker"], env))
    return specs


def _name(kind: str, i: int, count: int) -> str:
    return f"{kind}-{i + 1}" if count > 1 else kind


async def chatbot_processes(
    settings: Settings, *, database_url: str, servers: int = 1
) -> tuple[list[ProcessSpec], dict[str, str]]:
    """Rasa and the action server, ``servers`` of each, when the bot is built and trained, and the environment that
    tells the API and the workers where they listen; otherwise none, and the log says why."""
    from api.cli import chatbot

    reason = chatbot.off_because(settings)
    if reason:
        _say(f"the chatbot is off: {reason}; chat and texts to the bot get a short apology")
        return [], {}
    specs = await chatbot.processes(settings, database_url=database_url, servers=servers)
    return [ProcessSpec(name, argv, env) for name, argv, env in specs], {
        "RASA_URL": ",".join(settings.rasa.urls(servers))
    }


async def supervise(*, database_url: str, settings: Settings | None = None, counts: Counts = Counts()) -> int:
    """Start every process; when one exits, or on SIGINT/SIGTERM, stop the rest. Returns an exit status."""
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
    if sys.stdout.isatty() and not os.environ.get("LOG_FORMAT"):
        # The children write into our pipes, not to the terminal, so they are told what it is.
        env["LOG_FORMAT"] = "console"
    settings = settings or Settings.from_env()
    bots, bot_env = await chatbot_processes(settings, database_url=database_url, servers=counts.rasa)
    env.update(bot_env)
    specs = processes(settings, counts) + bots
    width = max(len(s.name) for s in specs)
    children: dict[str, asyncio.subprocess.Process] = {}
    for spec in specs:
        children[spec.name] = await asyncio.create_subprocess_exec(
            *spec.argv,
            env={**env, **spec.env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
            preexec_fn=_die_with_parent,
        )
    pumps = [asyncio.create_task(_pump(name.ljust(width), proc)) for name, proc in children.items()]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    waits = {asyncio.create_task(proc.wait()): name for name, proc in children.items()}
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*waits, stopper], return_when=asyncio.FIRST_COMPLETED)
    status = 0
    for task in done:
        if task in waits:
            name = waits[task]
            code = task.result()
            _say(f"{name} exited with status {code}; stopping the others")
            status = code or 1
    await _stop_all(children)
    await asyncio.gather(*pumps, return_exceptions=True)
    stopper.cancel()
    return status


async def _pump(prefix: str, proc: asyncio.subprocess.Process) -> None:
    """Copy a child's output line by line, cutting a line longer than ``_LINE_LIMIT`` rather than stalling."""
    assert proc.stdout is not None
    pending = b""
    cutting = False  # inside a line already cut: drop the rest of it
    while chunk := await proc.stdout.read(1 << 16):
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            if not cutting:
                _write(prefix, line)
            cutting = False
        if len(pending) > _LINE_LIMIT and not cutting:
            _write(prefix, pending[:_LINE_LIMIT] + b" [cut]")
            cutting = True
        if cutting:
            pending = b""
    if pending and not cutting:
        _write(prefix, pending)


def _write(prefix: str, line: bytes) -> None:
    sys.stdout.write(f"{prefix} | {line.decode(errors='replace')}\n")
    sys.stdout.flush()


async def _stop_all(children: dict[str, asyncio.subprocess.Process]) -> None:
    # Each child leads its own process group (start_new_session), and the group is what is signalled: the action
    # server (Sanic) runs its workers as processes of their own, which outlive a signal to their parent alone.
    for proc in children.values():
        _signal_group(proc, signal.SIGTERM)
    try:
        async with asyncio.timeout(_STOP_GRACE_S):
            await asyncio.gather(*(p.wait() for p in children.values()))
    except TimeoutError:
        for name, proc in children.items():
            if proc.returncode is None:
                _say(f"{name} did not stop in {_STOP_GRACE_S:.0f}s; killing it")
                _signal_group(proc, signal.SIGKILL)
                await proc.wait()
    for proc in children.values():
        _signal_group(proc, signal.SIGKILL)  # whatever of a group is left once its leader has gone


def _signal_group(proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _die_with_parent() -> None:
    """In the child: be sent SIGTERM if the supervisor dies, even by SIGKILL, so no process is left behind."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _say(text: str) -> None:
    sys.stdout.write(f"safecity | {text}\n")
    sys.stdout.flush()
