"""The scale-out proof: 2 APIs, 2 workers and 2 Rasa servers under a bounded mixed load, PostgreSQL restarted midway.

    nice -n 10 .venv/bin/python -m bench.scaleout [--seconds 120] [--restart-at 50]

Starts its own embedded PostgreSQL (var/bench-scaleout-pgdata) with a fresh database: people in care across the 25
districts (some of whose check-in windows closed hours ago, so the care sweep climbs their ladders during the run,
one step a minute), each also a citizen of the app; the demo shelters. Starts the fake FCM and Twilio, then
``safecity run --api 2 --worker 2 --rasa 2`` pointed at them. Then, at fixed rates, from this process, to both
APIs in turn: check-ins (``POST /v1/care/checkins``), hazard reports, chat turns, and one city-wide warning
(``POST /v1/alerts/cap``, all 25 districts); a client retries a failed check-in or report with the same
Idempotency-Key, on the other API, as the app does. At ``--restart-at`` seconds PostgreSQL is restarted
(``pg_ctl restart -m fast``: every connection is cut). When the load ends it waits for the outbox to drain and
checks, printing one JSON object (bench/scaleout_checks.py):

- every 2xx is in the database (check-ins, reports, the warning, the chat turns in Rasa's tracker store);
- every outbox row that is sent reached the fakes exactly once, except rows in flight at the restart (counted);
- no ladder step was taken twice, and each step's messages were enqueued once;
- each conversation's turns are whole in the tracker store (user, bot…, user, bot…).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

from api.alerts.areas import DISTRICT_CENTROIDS
from api.cli import chatbot
from api.evacuation.service import load_demo
from api.platform.auth.tokens import Principal, Role, Scope, TokenIssuer
from api.platform.db.embedded import EmbeddedPostgres, drop_database
from api.platform.districts import DISTRICTS
from api.platform.settings import PROJECT_ROOT, AuthSettings, Settings
from bench.api import free_port
from bench.care import insert_people
from bench.common import SECRET, fresh_database, start_fakes
from bench.scaleout_checks import check_all, in_flight
from tests.alerts import cap_xml

DATABASE = "safecity_bench_scaleout"
TRACKER_DB = "safecity_bench_scaleout_rasa"
CAP_SENDER = "safety@seoul.go.kr"
CHAT_TEXTS = ["안녕하세요", "고마워요", "hello", "thank you", "지금 특보 있어요?", "잘 지내요"]
RETRY_FOR_S = 40.0  # a client keeps retrying a failed check-in or report this long (the restart is shorter)


@dataclass
class Outcome:
    kind: str
    key: str
    status: int | None  # the last answer's; None: no answer at all
    attempts: int
    latency_s: float
    body: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


async def seed(url: str, *, people: int, missed: int) -> list[dict]:
    """People in care (``missed`` of them with a window that closed 2.5 hours ago), each a citizen; their ids."""
    conn = await asyncpg.connect(url)
    try:
        now = datetime.now(UTC)
        await insert_people(conn, count=people, enrolled_at=now)
        await conn.execute(
            """
            INSERT INTO checkin_plans (recipient_id, times, days, window_min, guardian_after_min, case_after_min,
                                       urgent_after_min, slot_at, step, due_at, updated_at)
            SELECT id, '{09:00,19:00}', '{1,2,3,4,5,6,7}', 120, 0, 0, 0, slot, 0, slot, $1::timestamptz
            FROM (
                SELECT id, CASE WHEN id <= $2 THEN $1::timestamptz - interval '150 minutes'
                                ELSE care_next_slot('{09:00,19:00}'::time[], '{1,2,3,4,5,6,7}'::smallint[],
                                                    $1::timestamptz) END AS slot
                FROM care_recipients
            ) r
            """,
            now,
            missed,
        )
        rows = await conn.fetch(
            """
            INSERT INTO citizens (phone, language, district)
            SELECT phone, language, district FROM care_recipients ORDER BY id
            RETURNING id, phone, district
            """
        )
        await load_demo(conn)
    finally:
        await conn.close()
    return [dict(r) for r in rows]


def tokens(people: list[dict]) -> tuple[list[tuple[dict, str]], str]:
    """A citizen token per person, and a service token that may publish CAP warnings as ``CAP_SENDER``."""
    issuer = TokenIssuer(Settings(auth=AuthSettings(jwt_secret=SECRET)))
    citizens = [
        (p, issuer.issue(Principal(subject=f"citizen:{p['id']}", role=Role.citizen, phone=p["phone"]), ttl_s=3600))
        for p in people
    ]
    publisher = Principal(
        subject="service:bench-warnings", role=Role.service, scopes=(Scope.alerts_publish,), cap_senders=(CAP_SENDER,)
    )
    return citizens, issuer.issue(publisher, ttl_s=3600)


class Load:
    """Open-loop requests at fixed rates to the APIs in turn; every outcome kept for the checks."""

    def __init__(self, apis: list[str], citizens: list[tuple[dict, str]], publisher: str) -> None:
        self.apis = apis
        self.citizens = citizens
        self.publisher = publisher
        self.outcomes: list[Outcome] = []
        self._turn = 0
        self._rng = random.Random(22)
        self.http = httpx.AsyncClient(timeout=30)

    def _api(self) -> int:
        self._turn += 1
        return self._turn % len(self.apis)

    async def _post(self, kind: str, path: str, *, token: str, retry: bool, **kwargs: object) -> Outcome:
        key = uuid.uuid4().hex
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        if retry:
            headers["Idempotency-Key"] = key
        started = time.monotonic()
        api, attempts, status, body = self._api(), 0, None, {}
        while True:
            attempts += 1
            try:
                response = await self.http.post(f"{self.apis[api]}{path}", headers=headers, **kwargs)  # type: ignore[arg-type]
                status = response.status_code
                body = response.json() if response.content else {}
            except (httpx.TransportError, ValueError):
                status = None
            done = status is not None and (200 <= status < 300 or (400 <= status < 500 and status != 429))
            if done or not retry or time.monotonic() - started > RETRY_FOR_S:
                break
            api = (api + 1) % len(self.apis)  # as a load balancer would: the other API
            await asyncio.sleep(0.5)
        outcome = Outcome(
            kind, key, status, attempts, time.monotonic() - started, body if isinstance(body, dict) else {}
        )
        self.outcomes.append(outcome)
        return outcome

    async def checkin(self) -> None:
        person, token = self._rng.choice(self.citizens)
        outcome = await self._post("checkin", "/v1/care/checkins", token=token, retry=True)
        outcome.extra["recipient_phone"] = person["phone"]

    async def report(self) -> None:
        person, token = self._rng.choice(self.citizens)
        lat, lon = DISTRICT_CENTROIDS[person["district"]]
        key_note = uuid.uuid4().hex[:12]
        body = {
            "category": self._rng.choice(["sinkhole", "fallen_tree", "broken_streetlight", "road_damage"]),
            "description": f"벤치 신고 {key_note}",
            "location": {"lat": lat + self._rng.uniform(-0.003, 0.003), "lon": lon + self._rng.uniform(-0.003, 0.003)},
        }
        outcome = await self._post("report", "/v1/hazard-reports", token=token, retry=True, json=body)
        outcome.extra["note"] = key_note

    async def chat(self) -> None:
        person, token = self._rng.choice(self.citizens[:20])  # a few conversations, each with several turns
        text = self._rng.choice(CHAT_TEXTS)
        outcome = await self._post("chat", "/v1/chat", token=token, retry=False, json={"message": text})
        outcome.extra.update(sender=f"citizen-{person['id']}", text=text)

    async def warning(self) -> None:
        xml = cap_xml(
            "bench-scaleout-city-wide", severity="Severe", event="호우경보", geocodes=tuple(sorted(DISTRICTS))
        )
        headers = {"Content-Type": "application/cap+xml"}
        await self._post("warning", "/v1/alerts/cap", token=self.publisher, retry=True, content=xml, headers=headers)


async def drive(load: Load, *, seconds: float, rates: dict[str, float], warning_at: float, restart_at: float,
                restart: object) -> dict:  # fmt: skip
    """Fire each kind at its rate for ``seconds``; the warning once; the restart once; wait for every request."""
    tasks: list[asyncio.Task] = []
    started = time.monotonic()
    next_at = dict.fromkeys(rates, 0.0)
    warned = restarted = False
    restart_info: dict = {}
    while (elapsed := time.monotonic() - started) < seconds:
        for kind, rate in rates.items():
            while next_at[kind] <= elapsed:
                tasks.append(asyncio.create_task(getattr(load, kind)()))
                next_at[kind] += 1 / rate
        if not warned and elapsed >= warning_at:
            warned = True
            tasks.append(asyncio.create_task(load.warning()))
        if not restarted and elapsed >= restart_at:
            restarted = True
            restart_info = await restart()  # type: ignore[operator]
        await asyncio.sleep(0.02)
    await asyncio.gather(*tasks)
    return restart_info


def pg_restart(server: EmbeddedPostgres, url: str) -> object:
    """What restarts PostgreSQL: the rows being sent just before (in flight), then ``pg_ctl restart -m fast``."""
    pgserver = server._server  # the wheel's handle: where its binaries are and the user the server runs as
    pg_ctl = Path(pgserver.bin_path) / "pg_ctl"
    argv = [str(pg_ctl), "-D", str(server.pgdata), "-m", "fast", "-w", "-l", str(server.pgdata / "restart.log")]

    async def restart() -> dict:
        flying = await in_flight(url)
        began = time.monotonic()
        # In a thread: pg_ctl waits for the server, and the load's requests go on meanwhile.
        done = await asyncio.to_thread(
            subprocess.run, [*argv, "restart"], user=pgserver.system_user, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"pg_ctl restart failed: {done.stderr}")
        return {"restart_s": round(time.monotonic() - began, 2), "outbox_rows_sending_at_restart": flying}

    return restart


async def drain(url: str, *, timeout_s: float) -> dict:
    """Wait until no outbox row is due or being sent (rows retrying later are left); how long it took."""
    began = time.monotonic()
    while True:
        conn = await asyncpg.connect(url)
        try:
            left = await conn.fetchval(
                "SELECT count(*) FROM outbox "
                "WHERE state = 'sending' OR (state = 'pending' AND next_attempt_at <= now())"
            )
            later = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE state = 'pending' AND next_attempt_at > now()"
            )
        finally:
            await conn.close()
        if left == 0 or time.monotonic() - began > timeout_s:
            return {"drain_s": round(time.monotonic() - began, 1), "due_left": left, "pending_later": later}
        await asyncio.sleep(1)


def latency(outcomes: list[Outcome]) -> dict:
    by_kind: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_kind.setdefault(o.kind, []).append(o)
    summary = {}
    for kind, items in by_kind.items():
        times = sorted(o.latency_s for o in items)
        summary[kind] = {
            "requests": len(items),
            "statuses": dict(Counter(str(o.status) for o in items)),
            "retried": sum(o.attempts > 1 for o in items),
            "p50_ms": round(1000 * statistics.median(times), 1),
            "p99_ms": round(1000 * times[min(len(times) - 1, int(0.99 * len(times)))], 1),
        }
    return summary


def consecutive_free_ports(n: int) -> int:
    """The first of ``n`` consecutive ports nothing listens on now."""
    while True:
        first = free_port()
        try:
            with contextlib.ExitStack() as stack:
                for port in range(first, first + n):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue


def wait_up(url: str, proc: subprocess.Popen, timeout_s: float = 400) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"safecity run stopped while starting (status {proc.returncode})")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not answer in {timeout_s:.0f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--restart-at", type=float, default=46)
    parser.add_argument("--warning-at", type=float, default=45)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--missed", type=int, default=60, help="people whose check-in window closed (ladders climb)")
    parser.add_argument("--checkins", type=float, default=4.0, help="per second")
    parser.add_argument("--reports", type=float, default=1.0, help="per second")
    parser.add_argument("--chats", type=float, default=0.5, help="per second")
    parser.add_argument("--no-chatbot", action="store_true", help="a quick run without Rasa: chat gets the apology")
    parser.add_argument("--log", default=str(PROJECT_ROOT / "var" / "bench-scaleout.log"))
    args = parser.parse_args()
    if not args.no_chatbot and chatbot.off_because(Settings()):
        raise SystemExit(f"the chatbot cannot start: {chatbot.off_because(Settings())}")

    pgdata = PROJECT_ROOT / "var" / "bench-scaleout-pgdata"
    server = EmbeddedPostgres(pgdata)
    server_url = server.start()
    fakes, info = start_fakes()
    run: subprocess.Popen | None = None
    try:
        asyncio.run(drop_database(server_url, TRACKER_DB))
        url = asyncio.run(fresh_database(server_url, DATABASE))
        people = asyncio.run(seed(url, people=args.people, missed=args.missed))
        citizens, publisher = tokens(people)
        port, rasa_port, actions_port = (consecutive_free_ports(2) for _ in range(3))
        env = {
            **os.environ,
            **info["env"],
            "DATABASE_URL": url,
            "JWT_SECRET": SECRET,
            "PORT": str(port),
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "RASA_URL": f"http://127.0.0.1:{rasa_port}",
            "ACTIONS_PORT": str(actions_port),
            "RASA_TRACKER_DB": TRACKER_DB,
            "RASA_TIMEOUT": "10",
            "WORKER_METRICS_PORT": "0",
            "NOTIFY_LEASE": "20",  # a row whose worker lost it is taken again within the drain
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "WARNING",
            "SAFECITY_VAR_DIR": str(PROJECT_ROOT / "var" / "bench-scaleout"),
            "RASA_ENABLED": "false" if args.no_chatbot else "true",
        }
        Path(args.log).parent.mkdir(parents=True, exist_ok=True)
        with open(args.log, "w") as log:
            run = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "run", "--api", "2", "--worker", "2", "--rasa", "2"],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, start_new_session=True,
            )  # fmt: skip
            apis = [f"http://127.0.0.1:{port + i}" for i in range(2)]
            started = time.monotonic()
            for api in apis:
                wait_up(f"{api}/ready", run)
            for i in range(0 if args.no_chatbot else 2):
                wait_up(f"http://127.0.0.1:{rasa_port + i}/webhooks/rest/", run)
            startup_s = time.monotonic() - started
            result = asyncio.run(measure(args, url, server_url, server, apis, citizens, publisher, info))
            result["startup_s"] = round(startup_s, 1)
    finally:
        if run is not None and run.poll() is None:
            os.killpg(run.pid, signal.SIGINT)
            try:
                run.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
        fakes.terminate()
        fakes.wait()
        server.stop()
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    print(json.dumps(result, ensure_ascii=False, indent=2))


async def measure(args: argparse.Namespace, url: str, server_url: str, server: EmbeddedPostgres, apis: list[str],
                  citizens: list[tuple[dict, str]], publisher: str, info: dict) -> dict:  # fmt: skip
    load = Load(apis, citizens, publisher)
    rates = {"checkin": args.checkins, "report": args.reports, "chat": args.chats}
    began = time.monotonic()
    try:
        restart = await drive(
            load, seconds=args.seconds, rates=rates, warning_at=args.warning_at, restart_at=args.restart_at,
            restart=pg_restart(server, url),
        )  # fmt: skip
    finally:
        await load.http.aclose()
    load_s = time.monotonic() - began
    drained = await drain(url, timeout_s=180)
    offered = {kind: round(rate * args.seconds) for kind, rate in rates.items()}
    answered = Counter(o.kind for o in load.outcomes if o.status is not None and 200 <= o.status < 300)
    checks = await check_all(
        url, server_url=server_url, tracker_db=TRACKER_DB, outcomes=load.outcomes, fakes=info, restart=restart
    )
    return {
        "command": "nice -n 10 .venv/bin/python -m bench.scaleout "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "log"),
        "processes": {"api": 2, "worker": 2, "rasa": 2, "actions": 2},
        "load_s": round(load_s, 1),
        "restart": restart,
        "drain": drained,
        "requests": latency(load.outcomes),
        # Beside each offered count, what came back 2xx: the simplest comparator of a bounded load.
        "answered_2xx_of_offered": {
            kind: {
                "offered": offered.get(kind, 1),
                "2xx": answered[kind],
                "ratio": round(answered[kind] / offered.get(kind, 1), 3),
            }
            for kind in [*rates, "warning"]
        },
        "checks": checks,
    }


if __name__ == "__main__":
    main()
