"""Benchmark of the API's memory and connections under the attacks of issue 14 (item 4).

Starts ``safecity api`` (one process) on a fresh database and reads its resident memory (VmRSS) idle, then:

(1) 40 concurrent 9.9 MB bodies to ``POST /v1/auth/otp`` (a valid JSON object with one huge string), each
    announced by Content-Length, and again 40 sent chunked (no Content-Length, so only a streamed limit stops
    them); then 40 concurrent 9.9 MB photos (a real JPEG, padded) from one signed-in citizen to the one route
    that takes 10 MB. RSS after each wave, once the server has answered.
(2) 2,000 connections that never finish a request: a third connect and say nothing, a third trickle a request
    header one byte a second, a third send one ``GET /health`` and then keep the connection idle. It counts how
    many of them the server still holds (has not closed) after ``--wait`` seconds, past the header and
    keep-alive timeouts, and the sockets the API process has open (``/proc/<pid>/fd``), and RSS.

The ceiling is the same two attacks on a bare uvicorn app in the same run (an ASGI app that reads every body
chunk and throws it away, with uvicorn's defaults): its RSS is what the transport alone costs. The ratios are
each RSS over the idle RSS of the same server.

    .venv/bin/python -m bench.hardening [--bodies 40] [--body-mb 9.9] [--connections 2000] [--wait 15]

Uses its own embedded PostgreSQL (var/bench-pgdata) or BENCH_DATABASE_URL, in a fresh database
``safecity_bench_hardening``. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import io
import json
import os
import platform
import resource
import subprocess
import sys
import time
from typing import Any

import asyncpg
import httpx
from PIL import Image

from api.accounts.service import ensure_citizen
from api.platform.auth.tokens import Principal, Role, TokenIssuer
from api.platform.db.embedded import EmbeddedPostgres
from api.platform.settings import PROJECT_ROOT, Settings
from bench.api import free_port, wait_ready
from bench.common import SECRET, fresh_database

DATABASE = "safecity_bench_hardening"
PHONE = "+821099990014"
CHUNK = 64 * 1024


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ceiling: reads each body to the end, keeping nothing, and answers 200."""
    if scope["type"] == "lifespan":
        for event in ("startup", "shutdown"):
            await receive()
            await send({"type": f"lifespan.{event}.complete"})
        return
    more = scope["type"] == "http"
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for {pid}")


def open_sockets(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
    return count


async def _status(reader: asyncio.StreamReader) -> str:
    try:
        line = await asyncio.wait_for(reader.readline(), 60)
    except (TimeoutError, ConnectionError):
        return "no answer"
    parts = line.split()
    return parts[1].decode() if len(parts) > 1 else "closed"


def sign_in_body(size: int) -> bytes:
    return b'{"phone": "' + b"0" * (size - 13) + b'"}'


async def send_body(port: int, body: bytes, *, chunked: bool, path: bytes = b"/v1/auth/otp", head: bytes = b"") -> str:
    """One big POST; the status it got ('no answer' when the server hung up without one)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    size = len(body)
    framing = b"transfer-encoding: chunked" if chunked else b"content-length: %d" % size
    head = head or b"content-type: application/json\r\n"
    writer.write(b"POST %s HTTP/1.1\r\nhost: bench\r\n%s%s\r\n\r\n" % (path, head, framing))
    answered = asyncio.ensure_future(_status(reader))
    try:
        for start in range(0, size, CHUNK):
            if answered.done():
                break
            piece = body[start : start + CHUNK]
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            await writer.drain()
        if chunked and not answered.done():
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except ConnectionError:
        pass
    status = await answered
    writer.close()
    return status


async def body_wave(port: int, *, count: int, body: bytes, chunked: bool, **request: Any) -> dict[str, int]:
    statuses = await asyncio.gather(*(send_body(port, body, chunked=chunked, **request) for _ in range(count)))
    return dict(collections.Counter(statuses))


def photo_upload(size: int) -> tuple[bytes, bytes]:
    """A multipart upload of a real JPEG padded to ``size`` bytes, and its head (type and boundary)."""
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 200)).save(out, "JPEG")
    photo = out.getvalue() + b"\x00" * (size - len(out.getvalue()))
    body = (
        b'--bench\r\ncontent-disposition: form-data; name="photo"; filename="a.jpg"\r\n'
        b"content-type: image/jpeg\r\n\r\n%s\r\n--bench--\r\n" % photo
    )
    return body, b"content-type: multipart/form-data; boundary=bench\r\n"


async def citizen_with_a_report(url: str, port: int) -> tuple[str, int]:
    """A signed-in citizen's bearer token and a report of theirs, to attach photos to."""
    conn = await asyncpg.connect(url)
    try:
        citizen_id = await ensure_citizen(conn, phone=PHONE)
    finally:
        await conn.close()
    token = TokenIssuer(Settings.from_env({"JWT_SECRET": SECRET})).issue(
        Principal(subject=f"citizen:{citizen_id}", role=Role.citizen, phone=PHONE), ttl_s=3600
    )
    report = {"category": "sinkhole", "description": "bench", "location": {"lat": 37.5663, "lon": 126.9779}}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        response = await client.post("/v1/hazard-reports", json=report, headers={"authorization": f"Bearer {token}"})
        response.raise_for_status()
    return token, response.json()["id"]


class Held:
    """One connection that never finishes a request; ``closed`` once the server has hung up."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.closed = False
        self.tasks: list[asyncio.Task[None]] = []

    async def open(self, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        if self.kind == "keep_alive":
            self.writer.write(b"GET /health HTTP/1.1\r\nhost: bench\r\n\r\n")
        elif self.kind == "trickle":
            self.writer.write(b"GET /health HTTP/1.1\r\n")
            self.tasks.append(asyncio.ensure_future(self._trickle()))
        self.tasks.append(asyncio.ensure_future(self._watch()))

    async def _trickle(self) -> None:
        with contextlib.suppress(ConnectionError):
            while not self.closed:
                self.writer.write(b"x")
                await self.writer.drain()
                await asyncio.sleep(1)

    async def _watch(self) -> None:
        with contextlib.suppress(ConnectionError):
            while await self.reader.read(65536):
                pass
        self.closed = True

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.writer.close()


async def connection_flood(port: int, pid: int, *, count: int, wait_s: float) -> dict[str, Any]:
    kinds = ("silent", "trickle", "keep_alive")
    held = [Held(kinds[i % 3]) for i in range(count)]
    for start in range(0, count, 200):  # in batches, so the listen backlog is never the limit
        await asyncio.gather(*(h.open(port) for h in held[start : start + 200]))
    await asyncio.sleep(1)
    peak = {"sockets": open_sockets(pid), "rss_mb": rss_mb(pid)}
    await asyncio.sleep(wait_s)
    result = {
        "opened": count,
        "at_peak": peak,
        "after_wait": {"sockets": open_sockets(pid), "rss_mb": rss_mb(pid)},
        "still_held": {kind: sum(1 for h in held if h.kind == kind and not h.closed) for kind in kinds},
    }
    for h in held:
        h.close()
    return result


def attack(port: int, pid: int, args: argparse.Namespace, *, photos_to: tuple[str, int] | None) -> dict[str, Any]:
    size = int(args.body_mb * 1_000_000)
    idle = rss_mb(pid)
    out: dict[str, Any] = {"idle": {"rss_mb": idle, "sockets": open_sockets(pid)}}
    token, report_id = photos_to or ("", 0)
    photo, photo_head = photo_upload(size)
    waves: list[tuple[str, bytes, bool, dict[str, Any]]] = [
        ("bodies_content_length", sign_in_body(size), False, {}),
        ("bodies_chunked", sign_in_body(size), True, {}),
        # A citizen who signed in (an SMS code is all it takes) on the one route that takes 10 MB.
        (
            "photos_signed_in",
            photo,
            False,
            {
                "path": b"/v1/hazard-reports/%d/photos" % report_id,
                "head": photo_head + b"authorization: Bearer %s\r\n" % token.encode(),
            },
        ),
    ]
    for name, body, chunked, request in waves:
        started = time.monotonic()
        statuses = asyncio.run(body_wave(port, count=args.bodies, body=body, chunked=chunked, **request))
        time.sleep(2)  # let the server finish what it had read and free it
        after = rss_mb(pid)
        out[name] = {
            "statuses": statuses,
            "seconds": round(time.monotonic() - started, 1),
            "rss_mb": after,
            "ratio_to_idle": round(after / idle, 2),
        }
    flood = asyncio.run(connection_flood(port, pid, count=args.connections, wait_s=args.wait))
    flood["after_wait"]["ratio_to_idle"] = round(flood["after_wait"]["rss_mb"] / idle, 2)
    out["connections"] = flood
    return out


def serve(argv: list[str], env: dict[str, str], port: int, ready_path: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}{ready_path}")
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bodies", type=int, default=40)
    parser.add_argument("--body-mb", type=float, default=9.9)
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--wait", type=float, default=15.0, help="seconds past the server's timeouts")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the servers inherit it

    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    try:
        url = asyncio.run(fresh_database(server_url, DATABASE))
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "PORT": str(port), "JWT_SECRET": SECRET, "LOG_LEVEL": "WARNING"}
        api = serve([sys.executable, "-m", "api.cli", "api"], env, port, "/ready")
        try:
            photos_to = asyncio.run(citizen_with_a_report(url, port))
            results = {"api": attack(port, api.pid, args, photos_to=photos_to)}
        finally:
            stop(api)
        port = free_port()
        bare_argv = [sys.executable, "-m", "uvicorn", "bench.hardening:bare_app", "--port", str(port)]
        bare = serve([*bare_argv, "--log-level", "warning", "--no-access-log"], dict(os.environ), port, "/")
        try:
            results["ceiling_bare_uvicorn"] = attack(port, bare.pid, args, photos_to=None)
        finally:
            stop(bare)
    finally:
        if embedded is not None:
            embedded.stop()
    print(
        json.dumps(
            {
                "benchmark": "hardening",
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "attack": {
                    "bodies": args.bodies,
                    "body_mb": args.body_mb,
                    "connections": args.connections,
                    "wait_s": args.wait,
                },
                "server": "safecity api: 1 uvicorn process; the ceiling: bare uvicorn, a body-discarding ASGI app",
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
