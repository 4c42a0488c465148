"""HTTP load from a second process: ``wrk`` when it is installed (Debian: ``apt-get install wrk``), else httpx.

    python -m bench.loadgen URL --seconds 10 --concurrency 32 [--header 'Authorization: Bearer …']
                            [--method POST] [--tokens-file tokens.txt]

``--tokens-file`` names a file of bearer tokens, one per line: each request carries the next one in turn
(``Authorization: Bearer …``), so the load spreads over many callers instead of one (with wrk, through a
Lua script). Requests carry no body.

Prints one JSON object: requests, requests/s, latency percentiles in ms, and errors (non-2xx or transport).
The httpx generator is a fallback: on two cores it tops out well below what the API serves, so its
numbers measure the generator more than the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from itertools import cycle
from pathlib import Path

import httpx


async def _worker(
    client: httpx.AsyncClient,
    url: str,
    deadline: float,
    latencies: list[float],
    errors: list[str],
    *,
    method: str = "GET",
    tokens: Iterator[str] | None = None,
):
    while time.perf_counter() < deadline:
        headers = {"Authorization": f"Bearer {next(tokens)}"} if tokens is not None else None
        started = time.perf_counter()
        try:
            response = await client.request(method, url, headers=headers)
            if not 200 <= response.status_code < 300:
                errors.append(str(response.status_code))
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)
        latencies.append(time.perf_counter() - started)


def read_tokens(path: str | Path) -> list[str]:
    tokens = [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    if not tokens:
        raise SystemExit(f"{path}: no tokens")
    return tokens


async def generate(
    url: str,
    *,
    seconds: float,
    concurrency: int,
    headers: dict[str, str],
    method: str = "GET",
    tokens_file: str | None = None,
) -> dict[str, object]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    errors: list[str] = []
    tokens = cycle(read_tokens(tokens_file)) if tokens_file else None
    options = {"method": method, "tokens": tokens}
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=10) as client:
        # Open a connection before the clock starts.
        warmup = {"Authorization": f"Bearer {next(tokens)}"} if tokens is not None else None
        await client.request(method, url, headers=warmup)
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(
            *(_worker(client, url, deadline, latencies, errors, **options) for _ in range(concurrency))
        )
        elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else [0.0] * 99
    return {
        "url": url,
        "method": method,
        "generator": "httpx",
        "seconds": round(elapsed, 2),
        "concurrency": concurrency,
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "latency_ms": {
            "p50": round(cuts[49] * 1000, 2),
            "p90": round(cuts[89] * 1000, 2),
            "p99": round(cuts[98] * 1000, 2),
        },
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
    }


# Sets the method and, given a tokens file (the script's first argument), sends each request with the next
# token. The tokens are read once per wrk thread, in init(), before the clock starts.
WRK_SCRIPT = """
wrk.method = %(method)s
local tokens = {}
local next_token = 0

function init(args)
  if args[1] then
    for line in io.lines(args[1]) do
      if line ~= "" then tokens[#tokens + 1] = line end
    end
  end
end

function request()
  if #tokens > 0 then
    next_token = next_token %% #tokens + 1
    wrk.headers["Authorization"] = "Bearer " .. tokens[next_token]
  end
  return wrk.format(nil, nil, nil, %(body)s)
end
"""


def generate_wrk(
    url: str,
    *,
    seconds: float,
    concurrency: int,
    headers: dict[str, str],
    method: str = "GET",
    tokens_file: str | None = None,
) -> dict[str, object]:
    argv = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(int(seconds), 1)}s", "--latency"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    with tempfile.TemporaryDirectory(prefix="loadgen-") as tmp:
        if method != "GET" or tokens_file:
            script = Path(tmp) / "request.lua"
            # A request without a body still says Content-Length: 0, as clients do for an empty POST.
            body = "nil" if method in ("GET", "HEAD") else '""'
            script.write_text(WRK_SCRIPT % {"method": json.dumps(method), "body": body})
            argv += ["-s", str(script)]
        argv.append(url)
        if tokens_file:
            read_tokens(tokens_file)  # fail here, not silently inside wrk
            argv += ["--", str(Path(tokens_file).resolve())]
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in ([\d.]+)(m?s)", out).group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, socket_errors.groups())) if socket_errors else 0)
    return {
        "url": url,
        "method": method,
        "generator": "wrk",
        "seconds": seconds,
        "concurrency": concurrency,
        "requests": requests,
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "latency_ms": {p: _wrk_ms(out, pct) for p, pct in (("p50", "50%"), ("p90", "90%"), ("p99", "99%"))},
        "errors": errors,
    }


def _wrk_ms(out: str, percentile: str) -> float:
    value, unit = re.search(rf"^\s+{percentile}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE).groups()
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--method", default="GET", type=str.upper)
    parser.add_argument("--tokens-file", help="bearer tokens, one per line, used in turn (one per request)")
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    options = {
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "headers": headers,
        "method": args.method,
        "tokens_file": args.tokens_file,
    }
    result = generate_wrk(args.url, **options) if shutil.which("wrk") else asyncio.run(generate(args.url, **options))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
