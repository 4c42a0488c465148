"""Benchmark of the KakaoTalk skill: round trips through the API, Rasa and the action server, at a fixed rate.

As bench/chat_http.py it starts its own PostgreSQL database (1,000 citizens, the demo shelters), Rasa and the
action server as ``safecity run`` does, and ``safecity api``; each citizen is also a linked Kakao user. A second
process then sends turns at a fixed rate (open loop: 5 a second by default, whatever the answers' latency), each
as the next user with the next of a few messages that go to the bot, first as Open Builder's skill requests (the
fake's, headed with the secret and each answer checked against the skill format), then the same turns to
``POST /v1/chat``: the same conversation work without Kakao's side, the figure beside each of ours.

    .venv/bin/python -m bench.kakao [--seconds 30] [--rate 5] [--citizens 1000]

Prints one JSON object: each run's latency percentiles, how many answers were late (a holding reply past
``KAKAO_REPLY_BUDGET``) or apologies, and the ratio of the skill's p50 and p99 to the chat's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from itertools import cycle
from pathlib import Path

import asyncpg
import httpx

from api.cli import chatbot
from api.platform.auth.tokens import Principal, Role, TokenIssuer
from api.platform.db.embedded import EmbeddedPostgres, drop_database
from api.platform.settings import PROJECT_ROOT, AuthSettings, HttpSettings, RasaSettings, Settings
from bench.api import free_port
from bench.chat_http import MESSAGES, percentiles, prepare, start
from bench.common import SECRET
from fakes.kakao import FakeKakao

TRACKER_DB = "safecity_bench_kakao_rasa"
SKILL_SECRET = "bench-kakao-skill-secret-0123456789"  # noqa: S105 - the bench's own


async def link_all(url: str) -> None:
    """Every citizen a linked Kakao user (bench<id>), as the SMS code would have made them."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO kakao_links (user_key, phone, via, linked_at) SELECT 'bench' || id, phone, 'sms', now() "
            "FROM citizens"
        )
    finally:
        await conn.close()


async def drive(url: str, *, target: str, senders: list[str], seconds: float, rate: float) -> dict[str, object]:
    """The load generator (its own process): a turn every 1/rate seconds, each awaited in a task of its own."""
    latencies: list[float] = []
    errors: list[str] = []
    outcomes = {"late": 0, "apologies": 0}
    fake = FakeKakao(secret=SKILL_SECRET)
    turns = cycle(senders)
    messages = cycle(MESSAGES)

    async def one(client: httpx.AsyncClient) -> None:
        sender, message = next(turns), next(messages)
        started = time.perf_counter()
        try:
            if target == "kakao":
                answer = await fake.say(client, message, user=f"bench{sender}")
                text = " ".join(answer.texts)
                status = answer.status
            else:
                headers = {"Authorization": f"Bearer {sender}"}
                response = await client.post("/v1/chat", json={"message": message}, headers=headers)
                status = response.status_code
                text = "" if response.json().get("bot_available", True) else "죄송합니다"
            if status != 200:
                errors.append(str(status))
            outcomes["late"] += "늦어지고" in text or "slow right now" in text
            outcomes["apologies"] += "죄송합니다. 지금은 챗봇" in text or text == "죄송합니다"
        except (httpx.HTTPError, AssertionError) as exc:
            errors.append(type(exc).__name__)
        latencies.append(time.perf_counter() - started)

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        await one(client)  # a connection, and Rasa's first tracker, before the clock starts
        latencies.clear()
        errors.clear()
        outcomes = dict.fromkeys(outcomes, 0)
        tasks = []
        started = time.perf_counter()
        behind = 0.0
        for i in range(int(seconds * rate)):
            wait = started + i / rate - time.perf_counter()
            behind = max(behind, -wait)
            await asyncio.sleep(max(wait, 0))
            tasks.append(asyncio.create_task(one(client)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return {
        "turns": len(latencies),
        "rate_per_s": rate,
        "answered_per_s": round(len(latencies) / elapsed, 2),
        "latency_ms": percentiles(latencies),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        **outcomes,
        "generator_behind_ms": round(behind * 1000, 1),
    }


def load(url: str, *, target: str, senders: list[str], seconds: float, rate: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-kakao-") as tmp:
        senders_file = Path(tmp) / "senders.txt"
        senders_file.write_text("\n".join(senders) + "\n")
        argv = [sys.executable, "-m", "bench.kakao", "--drive", url, "--target", target, "--senders-file",
                str(senders_file), "--seconds", str(seconds), "--rate", str(rate)]  # fmt: skip
        return json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)


def run(server_url: str, args: argparse.Namespace) -> dict[str, object]:
    url, citizen_ids = asyncio.run(prepare(server_url, citizens=args.citizens))
    asyncio.run(link_all(url))
    api_port, rasa_port, actions_port = free_port(), free_port(), free_port()
    settings = Settings(
        auth=AuthSettings(jwt_secret=SECRET),
        http=HttpSettings(port=api_port),
        rasa=RasaSettings(url=f"http://127.0.0.1:{rasa_port}", actions_port=actions_port, tracker_db=TRACKER_DB),
    )
    reason = chatbot.off_because(settings)
    if reason:
        raise SystemExit(f"the chatbot cannot start: {reason}")
    asyncio.run(drop_database(server_url, TRACKER_DB))
    issuer = TokenIssuer(settings)
    tokens = [issuer.issue(Principal(subject=f"citizen:{i}", role=Role.citizen), ttl_s=3600) for i in citizen_ids]
    log = Path(tempfile.mkdtemp(prefix="bench-kakao-")) / "processes.log"
    # The action server (Sanic) gives its worker 30 s to start by default: not enough on a busy 2-core machine.
    slow_start = {"LOG_LEVEL": "WARNING", "SANIC_WORKER_ACK_TIMEOUT": "600"}
    procs = [start(argv, {**os.environ, **env, **slow_start}, log)
             for _, argv, env in asyncio.run(chatbot.processes(settings, database_url=url))]  # fmt: skip
    api_env = {**os.environ, "DATABASE_URL": url, "PORT": str(api_port), "JWT_SECRET": SECRET, "DB_POOL_MAX": "10",
               "RASA_URL": f"http://127.0.0.1:{rasa_port}", "RASA_ENABLED": "true", "RASA_TIMEOUT": "10",
               "KAKAO_SKILL_SECRET": SKILL_SECRET, "LOG_LEVEL": "WARNING"}  # fmt: skip
    procs.append(start([sys.executable, "-m", "api.cli", "api"], api_env, log))
    try:
        base = f"http://127.0.0.1:{api_port}"
        # Up to 10 minutes each: on a shared 2-core machine Rasa's imports alone can take several.
        chatbot.wait_up(f"{base}/ready", procs, log, timeout_s=600)
        chatbot.wait_up(f"http://127.0.0.1:{actions_port}/health", procs, log, timeout_s=600)
        chatbot.wait_up(f"http://127.0.0.1:{rasa_port}/webhooks/rest/", procs, log, timeout_s=600)
        options = {"seconds": args.seconds, "rate": args.rate}
        kakao = load(base, target="kakao", senders=[str(i) for i in citizen_ids], **options)
        chat = load(base, target="chat", senders=tokens, **options)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    ratio = {
        p: round(kakao["latency_ms"][p] / chat["latency_ms"][p], 2)  # type: ignore[index]
        for p in ("p50", "p99")
        if chat["latency_ms"][p]  # type: ignore[index]
    }
    return {"kakao_skill": kakao, "chat_api": chat, "kakao_over_chat": ratio}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=5.0, help="turns a second, sent whatever the latency")
    parser.add_argument("--citizens", type=int, default=1000)
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--target", choices=("kakao", "chat"), default="kakao", help=argparse.SUPPRESS)
    parser.add_argument("--senders-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        senders = Path(args.senders_file).read_text().split()
        result = asyncio.run(
            drive(args.drive, target=args.target, senders=senders, seconds=args.seconds, rate=args.rate)
        )
        print(json.dumps(result))
        return

    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    try:
        results = run(server_url, args)
    finally:
        if embedded is not None:
            embedded.stop()
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average": os.getloadavg()}
    report = {"benchmark": "kakao", "machine": machine, "seconds": args.seconds, "rate_per_s": args.rate,
              "messages": MESSAGES, **results}  # fmt: skip
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
