"""The slot rule, proven over random plans and random signs of life against a model of it (hypothesis).

The rule (docs/care.md, "Which sign of life answers which slot"): a sign of life at t answers the current slot
only if t is inside the slot's window before it; then the next slot is the first check-in time after both t and
the answered slot. Otherwise no slot moves. Invariants checked after every event, each for every kind of sign
of life (app check-in, SMS check-in word, any other text, a help request, a home sensor):

1. the plan's next check-in is exactly the model's: nothing postpones a slot it did not answer;
2. an answered slot is followed by the very next planned check-in time: nothing skips a slot;
3. a help request never moves a slot it is outside the window of.
"""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.platform.auth.tokens import Principal, Role
from api.platform.settings import NotifySettings
from care import service
from care.inbound import handle_sms
from care.schemas import GuardianIn, PlanIn, RecipientCreate
from notifications.inbound import InboundSms
from notifications.service import Notifier

SEOUL = ZoneInfo("Asia/Seoul")
WORKER = Principal(subject="staff:1", role=Role.social_worker, districts=("11110",))
START = datetime(2026, 11, 23, 0, 30, tzinfo=SEOUL)  # a Monday, before any check-in time
EXAMPLES = int(os.environ.get("SAFECITY_MODEL_EXAMPLES", "25"))
KINDS = ("app", "sms_checkin", "sms_text", "help", "help_app", "sensor")


def planned_after(times: list[time], after: datetime) -> datetime:
    """The first check-in time strictly after ``after`` (every day), in Seoul."""
    local = after.astimezone(SEOUL)
    for day in range(3):
        date = (local + timedelta(days=day)).date()
        for t in sorted(times):
            slot = datetime.combine(date, t, tzinfo=SEOUL)
            if slot > after:
                return slot
    raise AssertionError("no check-in time within three days")


plans = st.fixed_dictionaries(
    {
        "times": st.lists(
            st.sampled_from(["06:00", "09:00", "12:00", "15:30", "19:00", "21:00"]), min_size=1, max_size=3, unique=True
        ),
        "window": st.sampled_from([30, 60, 120]),
    }
)
events = st.lists(
    st.tuples(st.integers(min_value=1, max_value=36 * 60), st.sampled_from(KINDS)), min_size=1, max_size=8
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(plan=plans, happenings=events)
async def test_only_a_sign_of_life_in_a_slots_window_moves_it_and_only_to_the_next_one(pool, plan, happenings):
    notifier = Notifier(NotifySettings())
    async with pool.acquire() as conn:
        await conn.execute("TRUNCATE care_recipients, outbox, notices CASCADE")
        data = RecipientCreate(
            name="김순자",
            phone="010-1234-0000",
            district="11110",
            address="서울 종로구 세종대로 1",
            guardians=[GuardianIn(name="김민수", phone="010-9876-0000", relation="아들")],
            plan=PlanIn(times=plan["times"], window_minutes=plan["window"]),
        )
        recipient_id = (await service.enroll(conn, data=data, principal=WORKER, now=START)).id
        slot = await conn.fetchval("SELECT slot_at FROM checkin_plans WHERE recipient_id = $1", recipient_id)
    times = [time.fromisoformat(t) for t in plan["times"]]
    window = timedelta(minutes=plan["window"])
    assert slot == planned_after(times, START)
    for n, (minute, kind) in enumerate(sorted(happenings)):
        at = START + timedelta(minutes=minute)
        async with pool.acquire() as conn:
            await _sign_of_life(conn, notifier, recipient_id, kind, at, sid=f"SMrule{n}")
            stored = await conn.fetchval("SELECT slot_at FROM checkin_plans WHERE recipient_id = $1", recipient_id)
        answered = at >= slot - window
        expected = planned_after(times, max(at, slot)) if answered else slot
        seen, want = stored.astimezone(SEOUL), expected.astimezone(SEOUL)
        assert stored == expected, f"{kind} at {at:%d %H:%M}: slot {seen:%d %H:%M}, the rule says {want:%d %H:%M} (KST)"
        if answered:  # the very next planned time after the answered slot (or after t, if t was past it)
            assert stored == planned_after(times, max(at, slot))
        elif kind == "help":
            assert stored == slot
        slot = stored


async def _sign_of_life(conn, notifier, recipient_id: int, kind: str, at: datetime, *, sid: str) -> None:  # type: ignore[no-untyped-def]
    if kind in ("sms_checkin", "sms_text", "help"):
        body = {"sms_checkin": "괜찮아요", "sms_text": "오늘 병원 다녀왔어요", "help": "도와주세요"}[kind]
        sms = InboundSms(message_sid=sid, phone="+821012340000", to=None, body=body, received_at=at)
        async with conn.transaction():
            await handle_sms(conn, sms, notifier)
    elif kind == "help_app":
        await service.ask_for_help(conn, notifier=notifier, recipient_id=recipient_id, channel="app", at=at)
    else:
        channel, checkin_kind = ("app", "checkin") if kind == "app" else ("sensor", "signal")
        await service.check_in(
            conn, notifier=notifier, recipient_id=recipient_id, channel=channel, kind=checkin_kind, at=at
        )
