"""A tripped rule opens an incident on the operators' hazard desk and map, marked as the sensor's (which sensor,
which rule, what it measured), in the same transaction as its alert; the stand-down resolves it with a note. A
trip of the same rule after that opens a new incident; one while the last is open again (a reporter's "not
fixed" reopened it) reuses it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import msgspec

from api.hazards import service as hazards
from api.hazards.schemas import HazardReportCreate
from api.platform.settings import NotifySettings
from api.sensors import service
from api.sensors.schemas import BatchIn, BatchRead, ReadingIn
from fakes.sensor_gateway import DEMO_SENSORS, storm
from notifications.service import Notifier
from tests.hazards import make_citizen, report_body

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
ROAD = DEMO_SENSORS[1]["id"]
NOTIFIER = Notifier(NotifySettings())


async def ingest(pool, batch: Iterable[dict], *, now: datetime) -> BatchRead:  # type: ignore[no-untyped-def]
    readings = [
        ReadingIn(sensor_id=r["sensor_id"], at=datetime.fromisoformat(r["at"]), value=r["value"]) for r in batch
    ]
    async with pool.acquire() as conn:
        return await service.ingest(conn, batch=BatchIn(readings=readings), gateway="fake", notifier=NOTIFIER, now=now)


def water(at: datetime, cm: float) -> dict:
    return {"sensor_id": ROAD, "at": at.isoformat(), "value": cm}


async def desk_map(client, operator) -> dict:  # type: ignore[no-untyped-def]
    response = await client.get("/v1/admin/hazard-desk/map", headers=operator)
    assert response.status_code == 200, response.text
    return response.json()


async def sensor_incidents(pool) -> list:  # type: ignore[no-untyped-def]
    return await pool.fetch(
        "SELECT id, status, status_reason, sensor_id, sensor_rule, sensor_measure, district, handled_at, category"
        " FROM hazard_incidents WHERE source = 'sensor' ORDER BY id"
    )


async def test_the_storm_opens_an_incident_per_tripped_rule_on_the_map_and_closes_it_on_stand_down(
    client, operator, sensors, pool
):
    start = NOW - timedelta(minutes=300)
    seen_open: dict[tuple[str, str], set[int]] = {}
    for minute, batch in enumerate(storm(start)):
        done = await ingest(pool, batch, now=start + timedelta(minutes=minute))
        if done.alerts_raised:
            # The trip's incident is on the map as soon as the batch has committed, with its sensor and rule.
            for marked in (await desk_map(client, operator))["sensors"]:
                if marked["status"] == "submitted":
                    seen_open.setdefault((marked["sensor_id"], marked["sensor_rule"]), set()).add(marked["id"])
            jongno = next(d for d in (await desk_map(client, operator))["districts"] if d["code"] == "11110")
            assert jongno["open"] >= 1
    rules = {(DEMO_SENSORS[0]["id"], "rain_60m"), (DEMO_SENSORS[0]["id"], "rain_15m"), (ROAD, "water_level")}
    assert set(seen_open) == rules and all(len(ids) == 1 for ids in seen_open.values())

    incidents = await sensor_incidents(pool)
    assert {(i["sensor_id"], i["sensor_rule"]) for i in incidents} == rules and len(incidents) == 3  # one each
    for i in incidents:
        assert (i["status"], i["category"], i["district"]) == ("resolved", "flooding", "11110")
        assert "자동 해제" in i["status_reason"] and "stood down automatically" in i["status_reason"]
        assert i["handled_at"] is not None and i["sensor_measure"] > 0
    road = next(i for i in incidents if i["sensor_rule"] == "water_level")
    assert road["sensor_measure"] >= 15  # the measure that tripped it
    events = await pool.fetch("SELECT actor, to_status FROM hazard_incident_events WHERE incident_id = $1", road["id"])
    assert [tuple(e) for e in events] == [(f"sensor:{ROAD}:water_level", "resolved")]
    # The desk's list says whose it is; the rule's state no longer holds it.
    listed = (await client.get("/v1/admin/hazard-desk/incidents", headers=operator)).json()["items"]
    assert {(i["source"], i["sensor_id"]) for i in listed} >= {("sensor", ROAD)}
    read = (await client.get(f"/v1/sensors/{ROAD}", headers=operator)).json()
    assert read["rules"][0]["incident_id"] is None and read["rules"][0]["tripped"] is False

    # The same rule trips again after the stand-down: a new incident, the old one stays resolved.
    again = NOW - timedelta(minutes=30)
    for minute in range(7):
        await ingest(pool, [water(again + timedelta(minutes=minute), 22.0)], now=again + timedelta(minutes=minute))
    after = [i for i in await sensor_incidents(pool) if i["sensor_rule"] == "water_level"]
    assert [i["status"] for i in after] == ["resolved", "submitted"] and after[1]["id"] != road["id"]
    marked = {m["id"]: m for m in (await desk_map(client, operator))["sensors"]}
    assert marked[after[1]["id"]]["sensor_measure"] == 22.0


async def test_a_trip_while_its_last_incident_is_open_again_reuses_it(client, operator, sensors, pool):
    start = NOW - timedelta(minutes=120)
    minutes = [(0, 20.0), (1, 20.0), (2, 20.0), (3, 20.0), (4, 20.0), (5, 20.0)]  # trips at minute 5
    minutes += [(6 + m, 0.0) for m in range(32)]  # below 10 cm for 30 minutes: stands down
    for minute, cm in minutes:
        await ingest(pool, [water(start + timedelta(minutes=minute), cm)], now=start + timedelta(minutes=minute))
    [first] = await sensor_incidents(pool)
    assert first["status"] == "resolved"
    # A reporter merged in said "not fixed": the incident is open again (as api.hazards.word reopens it).
    await pool.execute(
        "UPDATE hazard_incidents SET status = 'acknowledged', handled_at = NULL WHERE id = $1", first["id"]
    )
    later = start + timedelta(minutes=60)
    for minute in range(6):
        at = later + timedelta(minutes=minute)
        await ingest(pool, [water(at, 30.0)], now=at)
    [reused] = await sensor_incidents(pool)
    assert (reused["id"], reused["status"], reused["sensor_measure"]) == (first["id"], "acknowledged", 30.0)
    read = (await client.get(f"/v1/sensors/{ROAD}", headers=operator)).json()
    assert read["rules"][0]["incident_id"] == first["id"]


async def test_a_citizens_flooding_report_beside_the_sensor_is_its_own_incident(sensors, pool):
    start = NOW - timedelta(minutes=10)
    for minute in range(6):
        await ingest(pool, [water(start + timedelta(minutes=minute), 20.0)], now=start + timedelta(minutes=minute))
    [opened] = await sensor_incidents(pool)
    citizen = await make_citizen(pool, "+821055550001")
    point = (DEMO_SENSORS[1]["lat"], DEMO_SENSORS[1]["lon"])
    data = msgspec.convert(report_body(point, category="flooding"), HazardReportCreate)
    async with pool.acquire() as conn:
        filed = await hazards.report(
            conn, reporter=hazards.Reporter(subject=f"citizen:{citizen}", citizen_id=citizen), data=data, now=NOW
        )
    assert filed.incident.id != opened["id"]  # whether it is the sensor's water is an operator's call: a merge
