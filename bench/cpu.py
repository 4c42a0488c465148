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


def process_seconds(pid: int, *, children: bool = False) -> float:
    """utime + stime of ``pid`` (and of its children it has waited for, with ``children``), in seconds."""
    fields = _stat(pid)
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: backends that have ended
    return ticks / _TICK


def tree_seconds(pid: int) -> float:
    """A process and its live children (uvicorn's worker processes under ``--workers``), in seconds."""
    total = process_seconds(pid, children=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = _stat(int(entry.name))
                if int(fields[1]) == pid:
                    total += (int(fields[11]) + int(fields[12])) / _TICK
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue
    return total


def postgres_seconds(pgdata: Path) -> float:
    """The server's CPU so far: the postmaster, the backends that ended, and every live backend."""
    return tree_seconds(int((pgdata / "postmaster.pid").read_text().split()[0]))


def meter(**readers: Callable[[], float]) -> Callable[[int], dict[str, float]]:
    """Start counting; the function returned gives each reader's CPU milliseconds per request for ``requests``."""
    start = {name: read() for name, read in readers.items()}

    def per_request(requests: int) -> dict[str, float]:
        return {name: round((read() - start[name]) * 1000 / max(requests, 1), 3) for name, read in readers.items()}

    return per_request
