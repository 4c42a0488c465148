"""CPU seconds spent by a process, and by a PostgreSQL server with all its backends, read from /proc.

A fixed-rate figure that misses its target says the machine was short, not by how much. The CPU each request cost
(the API process and the database, measured across the run) says how many cores the target needs: at R requests a
second costing c CPU-seconds each, R × c cores, whatever else shared the machine while it ran.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # the fields after "(comm)", from field 3 (state) on


def tree_seconds(pid: int) -> float:
    """The CPU so far of ``pid`` and every process under it, live or ended (a server's workers, a database's backends).

    A process's own time misses the workers it spawned (the action server serves from a child process), so each
    process's figure is its whole tree's: every live descendant's utime + stime, and the cutime + cstime of each, which
    holds the children that ended and were waited for.
    """
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = _stat(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue  # it ended meanwhile: its time is in its parent's cutime now
            parents[int(entry.name)] = int(fields[1])  # the parent's pid (field 4)
            ticks[int(entry.name)] = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    total, frontier = ticks.get(pid, 0), [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent:
                total += ticks[child]
                frontier.append(child)
    return total / _TICK


def postgres_seconds(pgdata: Path) -> float:
    """The server's CPU so far: the postmaster, the backends that ended, and every live backend."""
    return tree_seconds(int((pgdata / "postmaster.pid").read_text().split()[0]))


def meter(**readers: Callable[[], float]) -> Callable[[int], dict[str, float]]:
    """Start counting; the function returned gives each reader's CPU milliseconds per request for ``requests``."""
    start = {name: read() for name, read in readers.items()}

    def per_request(requests: int) -> dict[str, float]:
        return {name: round((read() - start[name]) * 1000 / max(requests, 1), 3) for name, read in readers.items()}

    return per_request
