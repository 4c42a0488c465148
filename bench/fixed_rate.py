"""Load at a fixed rate (open loop), from a process of its own: HTTP requests, or the bare SQL they stand for.

Request ``i`` is due at ``start + i / rate`` whether or not the ones before it have answered, and its latency is
counted from when it was due, so a server (or a generator) that falls behind shows it in the percentiles instead
of quietly sending less (no coordinated omission). ``late`` counts requests started more than 5 ms after they
were due: when it is more than a few, the generator was the bottleneck. ``--warmup`` seconds (2) at the same rate
go first, not counted, so that the figure is of a server that has been serving (``warm_then_measure``).

    python -m bench.fixed_rate http URL --rate 500 --seconds 10 [--method POST] [--tokens-file F] [--points]
                                                                [--idempotency-keys]
    python -m bench.fixed_rate checkin-sql DSN --rate 500 --seconds 10 --ids-file F
    python -m bench.fixed_rate knn-sql DSN --rate 50 --seconds 10

``--points`` fills ``{lat}`` and ``{lon}`` in the URL with a new random point in Seoul per request, from a fixed
seed, as ``knn-sql`` does: both see the same points in the same order. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from itertools import cycle
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import uvloop

from bench.raw_http import RawClient

# Seoul's bounding box (as bench.evacuation draws its points).
SOUTH, NORTH, WEST, EAST = 37.4283, 37.7014, 126.7644, 127.1839
SEED = 20261203
LATE_S = 0.005
RUN = f"{time.time_ns():x}"  # keys of one run never meet another run's stored responses


def points() -> Iterator[tuple[float, float]]:
    rng = random.Random(SEED)
    while True:
        yield SOUTH + rng.random() * (NORTH - SOUTH), WEST + rng.random() * (EAST - WEST)


async def open_loop(
    send: Callable[[int], Awaitable[bool]],
    *,
    rate: float,
    seconds: float,
    in_flight: int,
    due_at: dict[int, float] | None = None,
) -> dict[str, Any]:
    """Call ``send(i)`` for i = 0, 1, … at ``rate`` a second for ``seconds``; latency from each one's due time.

    ``send`` answers whether it succeeded. At most ``in_flight`` are outstanding; one due while that many are
    waits, and its wait counts in its latency. ``due_at``, when given, gets each one's due time (``time.time()``),
    for a caller that measures the end elsewhere (at a fake provider).
    """
    total = int(rate * seconds)
    latencies: list[float] = []
    slow: list[tuple[float, float]] = []  # (due, latency) of each, to see whether the slowest come together
    errors = late = 0
    gate = asyncio.Semaphore(in_flight)
    start = time.perf_counter() + 0.05
    wall = time.time() + 0.05

    async def one(i: int, due: float) -> None:
        nonlocal errors, late
        async with gate:
            if time.perf_counter() - due > LATE_S:
                late += 1
            try:
                ok = await send(i)
            except Exception:
                ok = False
            if not ok:
                errors += 1
            latencies.append(time.perf_counter() - due)
            slow.append((due - start, latencies[-1]))

    tasks = []
    for i in range(total):
        due = start + i / rate
        if due_at is not None:
            due_at[i] = wall + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else [0.0] * 99
    return {
        "rate": rate,
        "seconds": round(elapsed, 2),
        "requests": total,
        "achieved_per_s": round(total / elapsed, 1),
        "latency_ms": {
            "p50": round(cuts[49] * 1000, 2),
            "p90": round(cuts[89] * 1000, 2),
            "p99": round(cuts[98] * 1000, 2),
        },
        "errors": errors,
        "late": late,
        "in_flight": in_flight,
        # When the slowest 1 % were due (seconds into the run, with their latency in ms): spread out, or together.
        "slowest_due_s": [(round(at, 2), round(took * 1000)) for at, took in sorted(slow) if took >= cuts[98]][:60],
    }


async def warm_then_measure(
    send: Callable[[int], Awaitable[bool]],
    args: argparse.Namespace,
    *,
    before_measuring: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """``args.warmup`` seconds at the same rate first, not counted, then the measured run.

    What a server serving all day has and a fresh one has not: the client's connections open, the server's pool
    grown to what the rate needs, each connection's prepared statements. Without it the first tenth of a second
    of a run, every connection being opened at once, was all of its slowest 1 % (``slowest_due_s``), and the bare
    SQL's pool, opened whole before its clock started, was not held to the same.
    """
    warm = (
        await open_loop(send, rate=args.rate, seconds=args.warmup, in_flight=args.in_flight) if args.warmup > 0 else {}
    )
    before_measuring()
    figure = await open_loop(send, rate=args.rate, seconds=args.seconds, in_flight=args.in_flight)
    # What the server's CPU across the whole run is to be divided by: the warm-up's requests too.
    return {**figure, "warmup_s": args.warmup, "sent_in_all": figure["requests"] + warm.get("requests", 0)}


async def http(args: argparse.Namespace) -> dict[str, Any]:
    tokens = cycle(args.tokens) if args.tokens else None
    where = points()
    keys = itertools.count()
    parts = urlsplit(args.url)
    base = f"{parts.scheme}://{parts.netloc}"
    template = parts.path + (f"?{parts.query}" if parts.query else "")
    client = RawClient(base, connections=args.in_flight)
    answers: Counter[str] = Counter()  # by status, or by the exception that took the place of one

    def request() -> tuple[str, dict[str, str]]:
        headers = {"Authorization": f"Bearer {next(tokens)}"} if tokens is not None else {}
        if args.idempotency_keys:  # as the app sends each check-in: a key of its own, so a retry is one
            headers["Idempotency-Key"] = f"bench-{RUN}-{next(keys)}"
        target = template
        if args.points:
            lat, lon = next(where)
            target = template.format(lat=f"{lat:.6f}", lon=f"{lon:.6f}")
        return target, headers

    try:
        target, headers = request()  # a connection open before the clock starts
        await client.request(args.method, target, headers)

        async def send(_: int) -> bool:
            target, headers = request()
            try:
                status = await client.request(args.method, target, headers)
            except Exception as exc:
                answers[type(exc).__name__] += 1
                raise
            answers[str(status)] += 1
            return 200 <= status < 300

        figure = await warm_then_measure(send, args, before_measuring=answers.clear)
        return {"target": args.url, "method": args.method, "client": "bench/raw_http.py", **figure,
                "answers": dict(answers)}  # fmt: skip
    finally:
        await client.aclose()


async def checkin_sql(args: argparse.Namespace) -> dict[str, Any]:
    """The check-in's own row, inserted bare: one pooled connection and one INSERT per request."""
    ids = cycle(args.ids)
    async with asyncpg.create_pool(args.dsn, min_size=args.pool, max_size=args.pool) as pool:

        async def send(_: int) -> bool:
            async with pool.acquire() as conn:
                await conn.execute(
                    "INSERT INTO checkins (recipient_id, channel, kind, at) VALUES ($1, 'app', 'checkin', now())",
                    next(ids),
                )
            return True

        return {"target": "INSERT INTO checkins", **await warm_then_measure(send, args)}


async def knn_sql(args: argparse.Namespace) -> dict[str, Any]:
    """The bare KNN: the three nearest active shelters of the hazard's first kind, by the GiST index."""
    where = points()
    async with asyncpg.create_pool(args.dsn, min_size=args.pool, max_size=args.pool) as pool:

        async def send(_: int) -> bool:
            lat, lon = next(where)
            async with pool.acquire() as conn:
                rows = await conn.fetch(
                    "SELECT id, name, lat, lon FROM shelters WHERE active AND kind = $3"
                    " ORDER BY plane <-> geo_plane_m($1, $2) LIMIT 3",
                    lat,
                    lon,
                    args.kind,
                )
            return len(rows) == 3

        return {"target": "bare KNN (ORDER BY plane <-> point LIMIT 3)", **await warm_then_measure(send, args)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    for mode in ("http", "checkin-sql", "knn-sql"):
        p = sub.add_parser(mode)
        p.add_argument("url" if mode == "http" else "dsn")
        p.add_argument("--rate", type=float, required=True)
        p.add_argument("--seconds", type=float, default=10)
        p.add_argument("--in-flight", type=int, default=64)
        p.add_argument("--warmup", type=float, default=2, help="seconds at the rate first, not counted")
        if mode == "http":
            p.add_argument("--method", default="GET", type=str.upper)
            p.add_argument("--tokens-file")
            p.add_argument("--points", action="store_true")
            p.add_argument("--idempotency-keys", action="store_true", help="a new Idempotency-Key per request")
        else:
            p.add_argument("--pool", type=int, default=10)
        if mode == "checkin-sql":
            p.add_argument("--ids-file", required=True)
        if mode == "knn-sql":
            p.add_argument("--kind", default="heat_wave")
    args = parser.parse_args()
    # Read before the clock starts, and never from inside the event loop.
    args.tokens = Path(args.tokens_file).read_text().split() if getattr(args, "tokens_file", None) else []
    args.ids = [int(x) for x in Path(args.ids_file).read_text().split()] if getattr(args, "ids_file", None) else []
    run = {"http": http, "checkin-sql": checkin_sql, "knn-sql": knn_sql}[args.mode]
    # uvloop, as the API's uvicorn runs: the generator's own CPU a request is then small beside the server's.
    print(json.dumps(uvloop.run(run(args))))


if __name__ == "__main__":
    main()
