"""A sensor's alert expires, so a gauge that dies while tripped does not leave a warning in force for ever; a
live gauge whose measure stays up renews it with an Update before it expires, which tells nobody again; the
stand-down's Cancel ends the whole chain (the first alert's safety checks included)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from api.platform.auth.tokens import Principal, Role
from api.platform.settings import NotifySettings
from api.sensors import alerting, service
from api.sensors.evaluate import ALERT_MAX_AGE
from api.sensors.schemas import BatchIn, BatchRead, ReadingIn
from care import service as care
from care.schemas import Home, PlanIn, RecipientCreate
from fakes.sensor_gateway import DEMO_SENSORS
from notifications.service import Notifier

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
ROAD = DEMO_SENSORS[1]["id"]
NOTIFIER = Notifier(NotifySettings())


async def post(pool, at: datetime, cm: float) -> BatchRead:  # type: ignore[no-untyped-def]
    """One road-water reading at ``at``, posted as the gateway would at that moment."""
    async with pool.acquire() as conn:
        batch = BatchIn(readings=[ReadingIn(sensor_id=ROAD, at=at, value=cm)])
        return await service.ingest(conn, batch=batch, gateway="fake", notifier=NOTIFIER, now=at)


async def test_a_dead_gauges_alert_lapses_at_its_expiry(client, sensors, pool):
    start = NOW - timedelta(hours=5)
    raised = []
    for minute in range(8):  # 22 cm for 8 minutes (trips after 5), then the gauge goes silent
        raised += (await post(pool, start + timedelta(minutes=minute), 22.0)).alerts_raised
    [alert_id] = raised
    alert = (await client.get(f"/v1/alerts/{alert_id}")).json()
    tripped = start + timedelta(minutes=5)
    assert datetime.fromisoformat(alert["expires"]) == tripped + alerting.EXPIRES
    assert alert["in_force"] is False  # three hours after the trip, with no renewal: lapsed
    cap = (await client.get(f"/v1/alerts/{alert_id}.cap")).content
    assert b"<expires>" in cap
    in_force = (await client.get("/v1/alerts", params={"active": "true"})).json()
    assert alert_id not in {a["id"] for a in in_force}


async def test_a_live_gauge_renews_its_alert_quietly_and_the_cancel_ends_the_chain(client, operator, sensors, pool):
    worker = Principal(subject="staff:1", role=Role.social_worker, districts=("11110",))
    async with pool.acquire() as conn:
        person = await care.enroll(conn, data=_person(), principal=worker, now=NOW - timedelta(hours=8))
    start = NOW - timedelta(hours=7)
    raised, renewed, outbox = [], [], []
    for step in range(0, 7 * 12 - 2):  # 20 cm, a reading every 5 minutes, for nearly 7 hours
        done = await post(pool, start + timedelta(minutes=5 * step), 20.0)
        raised += done.alerts_raised
        renewed += done.alerts_renewed
        outbox.append(await pool.fetchval("SELECT count(*) FROM outbox"))
    [first] = raised
    # Tripped 5 minutes in; renewed within the hour before each expiry: 2 h 5 min, 4 h 5 min and 6 h 5 min in.
    assert len(renewed) == 3
    assert outbox[-1] == outbox[2] > 0  # the trip told the dong's people; the renewals told nobody
    chain = [(await client.get(f"/v1/alerts/{i}")).json() for i in [first, *renewed]]
    assert [a["msg_type"] for a in chain] == ["Alert", "Update", "Update", "Update"]
    assert [a["replaced_by"] for a in chain] == [*renewed, None]
    assert chain[-1]["in_force"] is True and all(not a["in_force"] for a in chain[:-1])
    last_renewal = datetime.fromisoformat(chain[-1]["sent"])
    assert datetime.fromisoformat(chain[-1]["expires"]) == last_renewal + alerting.EXPIRES
    checks = await pool.fetch("SELECT alert_id, due_at FROM safety_checks WHERE recipient_id = $1", person.id)
    assert [c["alert_id"] for c in checks] == [first]  # asked once, about the first alert, not at each renewal

    stood_down = []
    for minute in range(1, 33):
        stood_down += (await post(pool, NOW - timedelta(minutes=10) + timedelta(minutes=minute), 2.0)).alerts_stood_down
    assert stood_down == [first]
    cancel = (await client.get(f"/v1/alerts/{renewed[-1]}")).json()["replaced_by"]
    assert (await client.get(f"/v1/alerts/{cancel}")).json()["msg_type"] == "Cancel"
    # The Cancel refers to the last Update; the first alert's check stops climbing all the same.
    assert await pool.fetchval("SELECT due_at FROM safety_checks WHERE alert_id = $1", first) is None
    read = (await client.get(f"/v1/sensors/{ROAD}", headers=operator)).json()
    assert read["rules"][0]["alert_expires_at"] is None


def _person() -> RecipientCreate:
    return RecipientCreate(
        name="반지하 거주자",
        phone="010-3000-0101",
        district="11110",
        address="서울",
        home=Home(lat=37.5892, lon=126.9694),
        plan=PlanIn(times=["09:00"]),
    )


@given(gaps=st.lists(st.integers(min_value=1, max_value=3 * 60), min_size=1, max_size=60))
def test_renewal_keeps_a_reporting_gauges_alert_in_force_and_lets_a_silent_ones_lapse(gaps: list[int]) -> None:
    """Invariants, for a tripped rule whose gauge reports live readings after the given gaps (minutes):
    - while no gap exceeds RENEW_BEFORE, the alert is in force at every reading (it never lapses under a live
      gauge);
    - whatever the gaps, the alert in force after the last reading expires at most EXPIRES after it (a gauge
      that goes silent lets it lapse);
    - two renewals are at least EXPIRES − RENEW_BEFORE apart (a gauge reporting every minute does not make an
      Update a minute)."""
    at = datetime(2026, 8, 8, 11, 0, tzinfo=UTC)
    expires, renewals = at + alerting.EXPIRES, [at]
    lapsed = False
    for gap in gaps:
        at += timedelta(minutes=gap)
        lapsed |= expires <= at
        if alerting.renewal_due(expires, at=at, now=at, max_age=ALERT_MAX_AGE):
            expires = at + alerting.EXPIRES
            renewals.append(at)
    if max(gaps) <= alerting.RENEW_BEFORE.total_seconds() / 60:
        assert not lapsed
    assert expires <= at + alerting.EXPIRES
    spacing = [b - a for a, b in itertools.pairwise(renewals)]
    assert all(s >= alerting.EXPIRES - alerting.RENEW_BEFORE for s in spacing)


def test_a_backlogs_old_reading_renews_nothing() -> None:
    """A reading more than ALERT_MAX_AGE old (a gateway's buffer after an outage) makes no Update, even when the
    alert it would renew is about to expire."""
    now = datetime(2026, 8, 8, 20, 0, tzinfo=UTC)
    old = now - ALERT_MAX_AGE - timedelta(minutes=1)
    assert not alerting.renewal_due(old + timedelta(minutes=30), at=old, now=now, max_age=ALERT_MAX_AGE)
    assert alerting.renewal_due(now + timedelta(minutes=30), at=now, now=now, max_age=ALERT_MAX_AGE)
