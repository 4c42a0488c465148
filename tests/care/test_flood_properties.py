"""Properties of the flood dispatch and its escalation, over random registries, storms and answers."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from api.platform.jobs.runner import run_job
from api.worker import JOBS
from care.flood import service as flood
from care.flood.dispatch import SILENT_AFTER
from care.flood.schemas import WithdrawIn
from notifications.service import Notifier
from tests.care.flood_helpers import DUTY_PHONE, OPERATOR, SUSONG, T0, add_duty_worker, add_household, text, warn

# Homes in three districts: 대치동 and 삼성동 (강남구), 서초동 (서초구), 수송동 (종로구).
PLACES = {
    "11680": (37.4994, 127.0630),
    "11650": (37.4837, 127.0324),
    "11110": SUSONG,
}
ANSWERS = {
    "household": ["괜찮아요", "안전", "도움필요"],
    "partner": ["도착", "대피완료", "도움 필요", "도착했어요"],
}

household = st.fixed_dictionaries(
    {
        "district": st.sampled_from(sorted(PLACES)),
        "partners": st.integers(1, 3),
        "withdrawn": st.booleans(),
        # Who answers, if anyone, and with what: (None) silence; ("household", i); ("partner", i)
        "answer": st.one_of(
            st.none(),
            st.tuples(st.just("household"), st.integers(0, 2)),
            st.tuples(st.just("partner"), st.integers(0, 3)),
        ),
    }
)


# In words, for any registry, any sequence of heavy-rain warnings over some of its districts, and any answers:
# - every household with consent in a covered district gets exactly one "are you safe?" (per phone) for the storm,
#   however many warnings cover it while its check is open, and each of its partners exactly one ask;
# - no household outside the covered districts, or with its consent withdrawn, nor any of their partners, gets any;
# - every check nobody answered is told to the duty worker exactly once, after the silence time, and none answered;
# - every check with a call for help is told to the duty worker exactly once, at once (before any job has run).
@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    homes=st.lists(household, min_size=1, max_size=6),
    storms=st.lists(st.sets(st.sampled_from(sorted(PLACES)), min_size=1), min_size=1, max_size=3),
)
async def test_everyone_covered_is_asked_once_nobody_else_and_every_silence_and_help_told_once(
    pool, settings, app, homes, storms
) -> None:
    notifier = Notifier(settings.notify)
    async with pool.acquire() as conn:
        await conn.execute(
            "TRUNCATE flood_households, flood_checks, flood_answers, alerts, outbox, notices, sms_inbound, job_runs,"
            " care_rota_shifts, staff CASCADE"
        )
    await add_duty_worker(pool, district="11680")
    await add_duty_worker(pool, district="11650", phone="+821070002222")
    await add_duty_worker(pool, district="11110", phone="+821070003333")
    duty = {DUTY_PHONE, "+821070002222", "+821070003333"}
    ids, phones, partners = [], {}, {}
    for i, home in enumerate(homes):
        own = f"010-2{i:03d}-0001"
        theirs = [f"010-3{i:03d}-{j:04d}" for j in range(home["partners"])]
        hid = await add_household(pool, at=PLACES[home["district"]], phones=[own], partners=theirs, name=f"가구{i}")
        if home["withdrawn"]:
            async with pool.acquire() as conn:
                await flood.withdraw(
                    conn,
                    household_id=hid,
                    data=WithdrawIn(reason="본인"),
                    principal=OPERATOR,
                    notifier=notifier,
                    now=T0,
                )
        ids.append(hid)
        phones[hid] = "+8210" + own[4:].replace("-", "")
        partners[hid] = ["+8210" + p[4:].replace("-", "") for p in theirs]

    covered = set().union(*storms)
    for n, districts in enumerate(storms):
        await warn(pool, notifier, f"storm-{n}", geocodes=tuple(sorted(districts)), at=T0 + timedelta(minutes=n))
    asked_at = T0 + timedelta(minutes=len(storms))
    helped = set()
    answered = set()
    for hid, home in zip(ids, homes, strict=True):
        if home["answer"] is None or home["withdrawn"] or home["district"] not in covered:
            continue
        who, pick = home["answer"]
        words = ANSWERS[who][pick % len(ANSWERS[who])]
        phone = phones[hid] if who == "household" else partners[hid][pick % len(partners[hid])]
        await text(pool, notifier, app.state.inbound_handlers, phone=phone, body=words, at=asked_at, sid=f"SM-{hid}")
        answered.add(hid)
        if "도움" in words:
            helped.add(hid)

    async with pool.acquire() as conn:
        before = await conn.fetch("SELECT body, template FROM outbox WHERE template = 'flood.duty_help'")
    assert len(before) == len(helped)  # at once, in the answer's transaction
    for minutes in (10, 29, 30, 31, 60, 61):
        await run_job(pool, JOBS["care.flood-escalation"], now=asked_at + timedelta(minutes=minutes), settings=settings)

    async with pool.acquire() as conn:
        # One row per message: a long text may be sent in parts, each its own row of the same notice.
        rows = await conn.fetch(
            """
            SELECT DISTINCT ON (notice_id, recipient) recipient, template, body FROM outbox
            WHERE channel = 'sms' ORDER BY notice_id, recipient, id
            """
        )
    sent = Counter((r["recipient"], r["template"]) for r in rows)
    for hid, home in zip(ids, homes, strict=True):
        inside = home["district"] in covered and not home["withdrawn"]
        assert sent[(phones[hid], "flood.household_ask")] == (1 if inside else 0)
        for p in partners[hid]:
            assert sent[(p, "flood.partner_ask")] == (1 if inside else 0)
        if not inside:
            assert not {phones[hid], *partners[hid]} & {r["recipient"] for r in rows}
    silent = [r for r in rows if r["template"] == "flood.duty_silent"]
    expected_silent = [
        h for h, home in zip(ids, homes, strict=True) if home["district"] in covered and not home["withdrawn"]
    ]
    expected_silent = [h for h in expected_silent if h not in answered]
    assert sorted(int(r["body"].split("가구번호 ")[1].split(")")[0]) for r in silent) == sorted(expected_silent)
    helps = [r for r in rows if r["template"] == "flood.duty_help"]
    assert sorted(int(r["body"].split("가구번호 ")[1].split(")")[0]) for r in helps) == sorted(helped)
    assert {r["recipient"] for r in (*silent, *helps)} <= duty
    assert timedelta(minutes=30) == SILENT_AFTER  # the job runs above straddle it
