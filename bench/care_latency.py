"""Benchmark of care's latency to a phone: a missed check-in to the guardian's SMS, a call for help to the on-duty SMS.

Both are timed with the worker running as deployed (``safecity worker``: its scheduler's real jobs, and the
outbox dispatcher), to the fake Twilio in its own process, which stamps each message as it arrives. Beside each
figure, the simplest thing that does the same work is timed in the same run, and the ratio printed.

(1) Loads, in set-based SQL (generate_series), ``--plans`` people living alone over the 25 districts, each with a
    guardian and a check-in plan (two check-ins 12 hours apart, a 120-minute window, the default ladder); a social
    worker with a phone on each district's rota for the whole week, and a night desk. Everyone answered their last
    check-in and waits for the next, hours away.
(2) Starts the fakes and the worker, then makes 2% of the plans (one in 50) miss theirs: reminded at their slot and
    again as the window closed, so their guardian step (window + 30 minutes) falls due at T0, the next minute.
    Waits until the fake has every one of those guardians' SMS, and gives per plan the time from T0 (the step's
    ``due_at``) to the SMS at the fake. The simplest thing: one query for the same first guardians, and a raw
    httpx POST of each message to the same fake at the dispatcher's concurrency, timed from its start.
(3) Starts ``safecity api`` and sends ``POST /v1/care/help`` for ``--helps`` people (a citizen token each), open loop
    at ``--help-rate`` a second, the worker running on: per request, from the POST to the on-duty worker's SMS at
    the fake. The simplest thing: a raw httpx POST of the same text to the same fake, as often, at the same rate.

    .venv/bin/python -m bench.care_latency [--plans 1000000] [--helps 120] [--help-rate 2] [--timeout 900]

A quick run: ``--plans 20000``. Uses its own embedded PostgreSQL (var/bench-pgdata) or BENCH_DATABASE_URL, in a
fresh database ``safecity_bench_care_latency``. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import httpx
import msgspec

from api.accounts import service as accounts
from api.accounts.schemas import StaffCreate
from api.platform.auth.tokens import Principal, Role, TokenIssuer
from api.platform.db.embedded import EmbeddedPostgres
from api.platform.db.pool import create_pool
from api.platform.districts import DISTRICTS
from api.platform.logging import configure_logging
from api.platform.settings import PROJECT_ROOT, DatabaseSettings, LogSettings, NotifySettings, Settings
from bench.api import free_port, wait_ready
from bench.care import insert_people
from bench.common import SECRET, fresh_database, start_fakes
from care import messages, on_duty
from care.schemas import RotaIn
from notifications.schemas import Priority
from notifications.service import Notifier, Outgoing

DATABASE = "safecity_bench_care_latency"
SEOUL = ZoneInfo("Asia/Seoul")
MISSED = 50  # one plan in 50 misses its check-in: 2%
WINDOW_MIN, GUARDIAN_AFTER_MIN = 120, 30  # the plan's window and the ladder's default guardian step
OPERATOR = Principal(subject="staff:bench", role=Role.operator)
SMS_CONCURRENCY = NotifySettings().sms_concurrency  # the worker's, unless NOTIFY_SMS_CONCURRENCY says otherwise


async def load(conn: asyncpg.Connection, *, plans: int, citizens: int, next_slot: datetime) -> dict[str, float]:
    """The city with every plan waiting for ``next_slot`` (12 h after the last, answered), in set-based statements."""
    seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def part(name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        seconds[name] = round(time.perf_counter() - started, 2)

    last_slot = next_slot - timedelta(hours=12)
    times = sorted({last_slot.astimezone(SEOUL).time(), next_slot.astimezone(SEOUL).time()})
    with part("care_recipients_and_guardians"):
        await insert_people(conn, count=plans, enrolled_at=last_slot - timedelta(days=30))
    with part("checkin_plans"):
        await conn.execute(
            """
            INSERT INTO checkin_plans (recipient_id, times, days, window_min, guardian_after_min, slot_at, step,
                                       due_at, last_contact_at, updated_at)
            SELECT id, $1, '{1,2,3,4,5,6,7}', $2, $3, $4, 0, $4, $5, $5 FROM care_recipients
            """,
            times,
            WINDOW_MIN,
            GUARDIAN_AFTER_MIN,
            next_slot,
            last_slot + timedelta(minutes=5),
        )
    with part("citizens"):
        # The people who will ask for help: spread over the districts, none of those who will miss a check-in.
        await conn.execute(
            """
            INSERT INTO citizens (phone, language, district)
            SELECT phone, language, district FROM care_recipients WHERE id % $2 <> $2 / 2 ORDER BY id LIMIT $1
            """,
            citizens,
            MISSED,
        )
    with part("vacuum_analyze"):
        await conn.execute("VACUUM ANALYZE")
    return seconds


async def put_rotas(conn: asyncpg.Connection) -> dict[str, str]:
    """A social worker with a phone on duty all week in each district, and a night desk; phones by district."""
    phones: dict[str, str] = {}
    for n, district in enumerate([*sorted(DISTRICTS), None], start=1):
        phone = f"010-9000-{n:04d}"
        staff = await accounts.create_staff(
            conn,
            data=msgspec.convert(
                {
                    "email": f"duty{n}@bench.test",
                    "name": f"당직 {n}",
                    "role": "social_worker" if district else "operator",
                    "districts": [district] if district else [],
                    "phone": phone,
                },
                StaffCreate,
            ),
        )
        week = msgspec.convert({"shifts": [{"from": "mon 00:00", "to": "mon 00:00", "staff": [staff.id]}]}, RotaIn)
        await on_duty.replace_rota(conn, district=district, data=week, principal=OPERATOR)
        assert staff.phone is not None
        phones[district or "desk"] = staff.phone
    return phones


async def miss_at(conn: asyncpg.Connection, *, t0: datetime) -> int:
    """One plan in 50 missed a check-in: reminded at its slot and as the window closed; the guardian is due at t0."""
    slot = t0 - timedelta(minutes=WINDOW_MIN + GUARDIAN_AFTER_MIN)
    times = sorted({slot.astimezone(SEOUL).time(), (slot + timedelta(hours=12)).astimezone(SEOUL).time()})
    async with conn.transaction():
        status = await conn.execute(
            """
            UPDATE checkin_plans SET times = $1, slot_at = $2, step = 2, due_at = $3, updated_at = $2
            WHERE recipient_id % $4 = $4 / 2
            """,
            times,
            slot,
            t0,
            MISSED,
        )
        await conn.execute(
            """
            INSERT INTO care_steps (recipient_id, slot_at, step, taken_at)
            SELECT recipient_id, slot_at, s, slot_at + make_interval(mins => CASE s WHEN 1 THEN 0 ELSE $2 END)
            FROM checkin_plans, generate_series(1, 2) s
            WHERE recipient_id % $1 = $1 / 2
            """,
            MISSED,
            WINDOW_MIN,
        )
    return int(status.split()[-1])


# The first guardian of every plan due by $1: what the sweep's guardian step reads, in one statement.
_FIRST_GUARDIANS_DUE = """
    SELECT g.phone FROM checkin_plans p JOIN guardians g ON g.recipient_id = p.recipient_id AND g.position = 1
    WHERE p.due_at <= $1
"""


def percentiles(seconds: Sequence[float]) -> dict[str, float | None]:
    """p50, p99 (nearest rank) and the slowest, in seconds."""
    if not seconds:
        return {"p50_s": None, "p99_s": None, "max_s": None}
    ordered = sorted(seconds)
    rank = lambda q: ordered[max(0, math.ceil(q * len(ordered)) - 1)]  # noqa: E731
    return {"p50_s": round(rank(0.50), 3), "p99_s": round(rank(0.99), 3), "max_s": round(ordered[-1], 3)}


def ratio(measured: dict[str, float | None], simplest: dict[str, float | None]) -> dict[str, float | None]:
    """How many times the simplest thing's p50 and p99 the real path takes."""
    out: dict[str, float | None] = {}
    for key in ("p50_s", "p99_s"):
        a, b = measured[key], simplest[key]
        out[key.removesuffix("_s")] = round(a / b, 1) if a is not None and b else None
    return out


class FakeTwilio:
    """The fake's recorded messages, read as they come (``/_fake/sent?after=``), and raw POSTs to its Messages API."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.base = info["twilio"]
        self.env = info["env"]
        self.seen = 0

    def reset(self) -> None:
        httpx.post(f"{self.base}/_fake/control", json={"reset": True}, timeout=10).raise_for_status()
        self.seen = 0

    async def wait_for(
        self, wanted: Callable[[dict[str, Any]], bool], count: int, *, timeout_s: float
    ) -> list[dict[str, Any]]:
        """The messages ``wanted`` picks, once ``count`` have come or the timeout has passed."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(base_url=self.base, timeout=60) as http:
            while len(found) < count and time.monotonic() < deadline:
                page = (await http.get("/_fake/sent", params={"after": self.seen})).json()
                self.seen += len(page)
                found += [m for m in page if wanted(m)]
                if len(found) < count:
                    await asyncio.sleep(0.5)
        return found

    @property
    def _messages(self) -> str:
        return f"{self.base}/2010-04-01/Accounts/{self.env['TWILIO_ACCOUNT_SID']}/Messages.json"

    @property
    def _auth(self) -> dict[str, str]:
        pair = f"{self.env['TWILIO_ACCOUNT_SID']}:{self.env['TWILIO_AUTH_TOKEN']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    def _form(self, to: str, body: str) -> dict[str, str]:
        return {"To": to, "From": self.env["TWILIO_FROM_NUMBER"], "Body": body}

    async def post_each(self, messages: Sequence[tuple[str, str]], *, concurrency: int, client: str) -> int:
        """POST each (to, body) to the Messages API, ``concurrency`` at a time, from a bare aiohttp or httpx client;
        how many times a connection failed under a request and it was sent again (at most twice each)."""
        queue = list(reversed(messages))
        retried = 0

        async def drain(post: Callable[[str, str], Awaitable[None]]) -> None:
            nonlocal retried
            while queue:
                to, body = queue.pop()
                for attempt in range(3):
                    try:
                        await post(to, body)
                        break
                    except (httpx.TransportError, aiohttp.ClientConnectionError):
                        if attempt == 2:
                            raise
                        retried += 1

        if client == "aiohttp":
            connector = aiohttp.TCPConnector(limit=concurrency)
            async with aiohttp.ClientSession(headers=self._auth, connector=connector) as session:

                async def post_aiohttp(to: str, body: str) -> None:
                    async with session.post(self._messages, data=self._form(to, body)) as answer:
                        await answer.read()
                        answer.raise_for_status()

                await asyncio.gather(*(drain(post_aiohttp) for _ in range(concurrency)))
            return retried
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(headers=self._auth, timeout=30, limits=limits) as http:

            async def post_httpx(to: str, body: str) -> None:
                (await http.post(self._messages, data=self._form(to, body))).raise_for_status()

            await asyncio.gather(*(drain(post_httpx) for _ in range(concurrency)))
        return retried

    async def post_one(self, http: httpx.AsyncClient, to: str, body: str) -> None:
        """One message from a bare httpx client (``http`` without auth: the fake's is added here)."""
        (await http.post(self._messages, data=self._form(to, body), headers=self._auth)).raise_for_status()


LOGS = PROJECT_ROOT / "var" / "bench-care-latency"


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``safecity <argv>``, its output to ``var/bench-care-latency/<argv[0]>.log``."""
    LOGS.mkdir(parents=True, exist_ok=True)
    with (LOGS / f"{argv[0]}.log").open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "api.cli", *argv], env=env, stdout=log, stderr=log)


def failed_runs(job: str) -> list[str]:
    """The worker's log lines that say a run of ``job`` failed (each a slot rolled back, to be run again)."""
    lines = (LOGS / "worker.log").read_text(errors="replace").splitlines()
    return [line.strip()[:300] for line in lines if "job failed" in line and job in line]


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def next_minute(after: datetime, *, lead_s: float) -> datetime:
    """The first whole minute at least ``lead_s`` after ``after``: the slot the worker's sweep runs at."""
    at = after + timedelta(seconds=lead_s)
    return at.replace(second=0, microsecond=0) + timedelta(minutes=1)


async def warm_up(url: str, fake: FakeTwilio, *, timeout_s: float) -> float | None:
    """One SMS through the worker before anything is timed, as a worker that has run a while has sent some.

    The first one a worker process sends pays for the Twilio SDK's first use (its lazily imported modules, its
    HTTP session); the seconds from its commit to the fake are given as what a cold worker adds.
    """
    fake.reset()
    pool = await create_pool(DatabaseSettings(url=url, pool_max=1))  # with the app's codecs (jsonb)
    try:
        note = Outgoing(
            dedupe_key="bench:warm-up",
            template=messages.ON_DUTY,
            params={"district": "종로구", "case": 0, "reason": "warm-up"},
            phone="+821070000000",
            priority=Priority.urgent,
        )
        async with pool.acquire() as conn, conn.transaction():
            await Notifier(NotifySettings()).enqueue_many(conn, items=[note], now=datetime.now(UTC))
        committed = time.time()
    finally:
        await pool.close()
    [sms] = await fake.wait_for(lambda m: True, 1, timeout_s=timeout_s) or [None]
    return round(sms["received_at"] - committed, 3) if sms else None


async def missed_window(url: str, fake: FakeTwilio, *, timeout_s: float) -> dict[str, object]:
    """(2): 2% of the plans miss a check-in; from their guardian step's due time to each guardian's SMS at the fake."""
    fake.reset()
    conn = await asyncpg.connect(url)
    try:
        t0 = next_minute(datetime.now(UTC), lead_s=10)
        due = await miss_at(conn, t0=t0)
        guardians = {r["phone"] for r in await conn.fetch(_FIRST_GUARDIANS_DUE, t0)}
        await asyncio.sleep(max(0.0, t0.timestamp() - time.time()))
        found = await fake.wait_for(lambda m: m["To"] in guardians, due, timeout_s=timeout_s)
        last = max((m["received_at"] for m in found), default=time.time())
        sweeps = await conn.fetch(
            """
            SELECT slot, started_at, finished_at, result FROM job_runs
            WHERE job = 'care.sweep' AND slot >= $1 AND slot <= $2 ORDER BY slot
            """,
            t0,
            datetime.fromtimestamp(last, UTC),
        )
        measured = percentiles([m["received_at"] - t0.timestamp() for m in found])

        # The simplest thing: the same guardians in one query, each message POSTed to the fake by a bare client:
        # aiohttp, the HTTP client under the Twilio SDK the dispatcher uses, and httpx, for comparison.
        bodies = {m["To"]: m["Body"] for m in found}
        simplest = {}
        for client in ("aiohttp", "httpx"):
            fake.reset()
            started = time.time()
            # The plans have climbed a step since: the same plans, due again 30 minutes later (the case step).
            rows = await conn.fetch(_FIRST_GUARDIANS_DUE, t0 + timedelta(minutes=30))
            queried = time.time()
            messages = [(r["phone"], bodies.get(r["phone"], "")) for r in rows]
            retried = await fake.post_each(messages, concurrency=SMS_CONCURRENCY, client=client)
            bare = await fake.wait_for(lambda m: True, len(rows), timeout_s=timeout_s)
            simplest[client] = {
                "messages": len(bare),
                "resent_after_a_connection_failed": retried,
                "query_s": round(queried - started, 3),
                **percentiles([m["received_at"] - started for m in bare]),
            }
    finally:
        await conn.close()
    ran = [
        {
            "slot_after_t0_s": round((r["slot"] - t0).total_seconds()),
            "started_after_t0_s": round(r["started_at"].timestamp() - t0.timestamp(), 3),
            "seconds": round((r["finished_at"] - r["started_at"]).total_seconds(), 3) if r["finished_at"] else None,
            "result": json.loads(r["result"]) if isinstance(r["result"], str) else r["result"],
        }
        for r in sweeps
    ]
    failures = failed_runs("care.sweep")
    return {
        "t0": t0.isoformat(),
        "plans_missed": due,
        "guardian_sms_at_fake": len(found),
        **measured,
        # The care.sweep runs recorded from T0 to the last guardian's SMS (a failed run leaves no row: its slot
        # is rolled back), and the worker's log lines for the runs that failed.
        "sweep_runs": ran,
        "sweep_failures": {"count": len(failures), "first": failures[:1]},
        "simplest": {
            "what": "one query for the due plans' first guardians, then a raw POST of each message to the same "
            f"fake, {SMS_CONCURRENCY} at a time, timed from its start; by aiohttp, and by httpx",
            **simplest,
        },
        "ratio": ratio(measured, simplest["aiohttp"]),
        "ratio_to_httpx": ratio(measured, simplest["httpx"]),
    }


async def citizens_of(url: str, n: int) -> list[tuple[int, str]]:
    conn = await asyncpg.connect(url)
    try:
        return [
            (r["id"], r["phone"]) for r in await conn.fetch("SELECT id, phone FROM citizens ORDER BY id LIMIT $1", n)
        ]
    finally:
        await conn.close()


async def open_loop(n: int, rate: float, one: Callable[[int], Any]) -> list[Any]:
    """``one(i)`` for i in 0…n-1, the i-th started at i/rate seconds, each without waiting for the ones before."""
    started = time.monotonic()
    tasks = []
    for i in range(n):
        await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
        tasks.append(asyncio.create_task(one(i)))
    return await asyncio.gather(*tasks)


async def help_requests(
    base: str, fake: FakeTwilio, tokens: list[str], duty: set[str], *, rate: float, timeout_s: float
) -> dict[str, object]:
    """(3): each help request, from its POST to the on-duty worker's SMS at the fake; and a raw POST, as often."""
    fake.reset()
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:

        async def ask(i: int) -> tuple[int, float, float]:
            sent = time.time()
            answer = await http.post("/v1/care/help", headers={"Authorization": f"Bearer {tokens[i]}"})
            if answer.status_code != 201:
                raise SystemExit(f"POST /v1/care/help answered {answer.status_code}: {answer.text}")
            return answer.json()["case_id"], sent, time.time() - sent

        asked = await open_loop(len(tokens), rate, ask)
    cases = {f"#{case_id}:": (sent, took) for case_id, sent, took in asked}

    def case_of(m: dict[str, Any]) -> str | None:
        return next((c for c in cases if c in m["Body"]), None) if m["To"] in duty else None

    found = await fake.wait_for(lambda m: case_of(m) is not None, len(cases), timeout_s=timeout_s)
    timings = [(m["received_at"], *cases[case_of(m) or ""]) for m in found]
    measured = percentiles([received - sent for received, sent, _ in timings])

    fake.reset()
    text = found[0]["Body"] if found else "[긴급 사례]"
    async with httpx.AsyncClient(timeout=30) as bare_http:

        async def post(i: int) -> float:
            sent = time.time()
            await fake.post_one(bare_http, f"+8210{80_000_000 + i}", text)
            return sent

        starts = await open_loop(len(tokens), rate, post)
    bare = await fake.wait_for(lambda m: True, len(starts), timeout_s=timeout_s)
    sent_at = {f"+8210{80_000_000 + i}": s for i, s in enumerate(starts)}
    simplest = percentiles([m["received_at"] - sent_at[m["To"]] for m in bare])
    return {
        "requests": len(tokens),
        "rate_per_s": rate,
        "on_duty_sms_at_fake": len(found),
        **measured,
        "http_answer": percentiles([took for _, _, took in asked]),
        "after_http_answer": percentiles([received - sent - took for received, sent, took in timings]),
        "simplest": {
            "what": "a raw httpx POST of the same text to the same fake, as many, at the same rate",
            "messages": len(bare),
            **simplest,
        },
        "ratio": ratio(measured, simplest),
    }


def run(url: str, info: dict[str, Any], args: argparse.Namespace, duty: dict[str, str]) -> dict[str, object]:
    """The worker as deployed, then (2), then the API and (3)."""
    env = {
        **os.environ,
        **info["env"],
        "DATABASE_URL": url,
        "JWT_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        "WORKER_METRICS_PORT": "0",
        "RASA_ENABLED": "false",
    }
    fake = FakeTwilio(info)
    worker = start(["worker"], env)
    try:
        time.sleep(3)  # let it connect, listen and schedule
        cold = asyncio.run(warm_up(url, fake, timeout_s=args.timeout))
        missed = asyncio.run(missed_window(url, fake, timeout_s=args.timeout))
        if worker.poll() is not None:
            raise SystemExit("the worker died during the benchmark")
        port = free_port()
        api = start(["api"], {**env, "PORT": str(port), "DB_POOL_MAX": "10"})
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(f"{base}/ready")
            issuer = TokenIssuer(Settings.from_env({"JWT_SECRET": SECRET}))
            tokens = [
                issuer.issue(Principal(subject=f"citizen:{cid}", role=Role.citizen, phone=phone), ttl_s=3600)
                for cid, phone in asyncio.run(citizens_of(url, args.helps))
            ]
            helped = asyncio.run(
                help_requests(base, fake, tokens, set(duty.values()), rate=args.help_rate, timeout_s=args.timeout)
            )
        finally:
            stop(api)
    finally:
        stop(worker)
    return {
        "cold_worker_first_sms_s": cold,
        "missed_window_to_guardian_sms": missed,
        "help_to_on_duty_sms": helped,
    }


async def prepare(server_url: str, args: argparse.Namespace) -> tuple[str, dict[str, object], dict[str, str]]:
    url = await fresh_database(server_url, DATABASE)
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        next_slot = next_minute(datetime.now(UTC), lead_s=6 * 3600)  # hours after the benchmark has ended
        parts = await load(conn, plans=args.plans, citizens=args.helps, next_slot=next_slot)
        duty = await put_rotas(conn)
        info = {
            "load_seconds": round(time.perf_counter() - started, 2),
            "load_parts_seconds": parts,
            "postgres": await conn.fetchval("SHOW server_version"),
            "shared_buffers": await conn.fetchval("SHOW shared_buffers"),
            "database_size": await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))"),
        }
    finally:
        await conn.close()
    return url, info, duty


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=1_000_000)
    parser.add_argument("--helps", type=int, default=120, help="help requests, each from another person")
    parser.add_argument("--help-rate", type=float, default=2.0, help="help requests a second (open loop)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the fake to have them all")
    args = parser.parse_args()
    configure_logging(LogSettings(level="WARNING"), process="bench")  # stdout carries the JSON alone

    embedded = None
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(PROJECT_ROOT / "var" / "bench-pgdata")
        server_url = embedded.start()
    fakes, info = start_fakes()
    load_at_start = os.getloadavg()[0]
    try:
        url, loaded, duty = asyncio.run(prepare(server_url, args))
        measured = run(url, info, args, duty)
    finally:
        fakes.terminate()
        fakes.wait(timeout=10)
        if embedded is not None:
            embedded.stop()
    print(
        json.dumps(
            {
                "benchmark": "care_latency",
                "machine": {
                    "cpus": os.cpu_count(),
                    # Other work on the machine slows every figure alike; the ratios are of the same run.
                    "load_average_1m_at_start_and_end": [round(load_at_start, 2), round(os.getloadavg()[0], 2)],
                    "python": platform.python_version(),
                    "postgres": loaded.pop("postgres"),
                    "shared_buffers": loaded.pop("shared_buffers"),
                },
                "plans": args.plans,
                "worker": f"safecity worker (its scheduler and dispatcher), NOTIFY_SMS_CONCURRENCY={SMS_CONCURRENCY}",
                **loaded,
                **measured,
            },
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
