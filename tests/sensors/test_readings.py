"""City sensors: the registry, a gateway's batches (bad readings refused or deduplicated with the reason, the
good ones stored once), and a storm from the fake gateway raising a local alert over the sensor's dong that
reaches its people through the same fan-out and CAP export as every alert, and stands down when the water goes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.alerts.cap_render import validate_cap12
from api.platform.auth.tokens import Principal, Role
from api.platform.settings import NotifySettings
from api.sensors import service
from api.sensors.schemas import BatchIn, ReadingIn
from care import service as care
from care.schemas import Home, PlanIn, RecipientCreate
from fakes.sensor_gateway import DEMO_SENSORS, storm
from notifications.service import Notifier
from tests.conftest import bearer, problem

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
RAIN, ROAD = DEMO_SENSORS[0], DEMO_SENSORS[1]


def reading(sensor: str, value: float, at: datetime = NOW) -> dict:
    return {"sensor_id": sensor, "at": at.isoformat(), "value": value}


async def test_a_sensor_is_registered_in_its_dong_with_seouls_default_thresholds(client, operator, sensors):
    read = (await client.get(f"/v1/sensors/{RAIN['id']}", headers=operator)).json()
    assert (read["dong"], read["dong_name_ko"], read["district"], read["unit"]) == ("11110101", "청운동", "11110", "mm")
    rules = {r["name"]: (r["window_minutes"], r["trip_at"]) for r in read["rules"]}
    assert rules == {"rain_60m": (60, 55.0), "rain_15m": (15, 20.0)}
    road = (await client.get(f"/v1/sensors/{ROAD['id']}", headers=operator)).json()
    assert [(r["trip_at"], r["clear_at"], r["trip_after_minutes"]) for r in road["rules"]] == [(15.0, 10.0, 5)]

    again = await client.post("/v1/sensors/", json=RAIN, headers=operator)
    assert again.status_code == 409 and problem(again)["code"] == "sensor_exists"
    river = {**RAIN, "id": "river-1", "kind": "river_level"}
    assert problem(await client.post("/v1/sensors/", json=river, headers=operator))["code"] == "rules_required"
    busan = {**RAIN, "id": "busan-1", "lat": 35.1, "lon": 129.0}
    assert problem(await client.post("/v1/sensors/", json=busan, headers=operator))["code"] == "sensor_outside_seoul"
    flipped = {**river, "rules": [{"name": "level", "trip_at": 5, "clear_at": 6}]}
    assert (await client.post("/v1/sensors/", json=flipped, headers=operator)).status_code == 400


async def test_bad_readings_are_refused_with_the_reason_and_the_good_ones_commit(client, gateway, sensors, pool):
    batch = [
        reading(RAIN["id"], 0.4),
        reading("nobody", 1.0),
        reading(RAIN["id"], 0.5, NOW + timedelta(hours=1)),
        reading(RAIN["id"], 0.5, NOW - timedelta(days=30)),
        reading(RAIN["id"], -2.0, NOW - timedelta(minutes=1)),
        reading(ROAD["id"], 4000.0),  # 40 m of water on a road
        reading(RAIN["id"], 0.4),  # the same sensor and time again in the batch
        reading(ROAD["id"], 3.0),
    ]
    response = await client.post("/v1/sensors/readings", json={"readings": batch}, headers=gateway)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["received"], body["stored"]) == (8, 2)
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [
        (1, "unknown_sensor"),
        (2, "in_future"),
        (3, "too_old"),
        (4, "impossible_value"),
        (5, "impossible_value"),
    ]
    assert "allowed 0 to 300 cm" in body["rejected"][4]["reason"]
    assert [(d["index"], d["code"]) for d in body["duplicates"]] == [(6, "duplicate")]

    resent = (await client.post("/v1/sensors/readings", json={"readings": batch}, headers=gateway)).json()
    assert resent["stored"] == 0 and [d["index"] for d in resent["duplicates"]] == [0, 6, 7]
    stored = await pool.fetch("SELECT sensor_id, value, gateway FROM sensor_readings ORDER BY sensor_id")
    assert [tuple(r) for r in stored] == [(RAIN["id"], 0.4, "service:gw-1"), (ROAD["id"], 3.0, "service:gw-1")]
    # Kept in the day's partition of a table partitioned by time.
    partition = await pool.fetchval("SELECT tableoid::regclass::text FROM sensor_readings LIMIT 1")
    assert partition == f"sensor_readings_{NOW:%Y%m%d}"


async def test_more_than_ten_thousand_readings_is_413_and_nothing_is_stored(client, gateway, sensors, pool, token_for):
    batch = [reading(RAIN["id"], 0.1, NOW - timedelta(seconds=i)) for i in range(10_001)]
    response = await client.post("/v1/sensors/readings", json={"readings": batch}, headers=gateway)
    assert response.status_code == 413
    assert problem(response)["code"] == "batch_too_large"
    assert await pool.fetchval("SELECT count(*) FROM sensor_readings") == 0
    citizen = bearer(token_for(Role.citizen))
    assert (await client.post("/v1/sensors/readings", json={"readings": batch[:1]}, headers=citizen)).status_code == 403


async def test_a_storm_raises_a_local_alert_over_the_dong_told_to_its_people_and_stands_down(
    client, sensors, pool, shared_data
):
    worker = Principal(subject="staff:1", role=Role.social_worker, districts=("11110", "11680"))
    async with pool.acquire() as conn:
        near = await care.enroll(
            conn, data=_person("010-3000-0001", "11110", 37.5892, 126.9694), principal=worker, now=NOW
        )
        far = await care.enroll(
            conn, data=_person("010-3000-0002", "11680", 37.4979, 127.0276), principal=worker, now=NOW
        )
    notifier = Notifier(NotifySettings())
    start = NOW - timedelta(minutes=240)
    raised, stood_down = [], []
    async with pool.acquire() as conn:
        for minute, batch in enumerate(storm(start)):
            readings = [
                ReadingIn(sensor_id=r["sensor_id"], at=datetime.fromisoformat(r["at"]), value=r["value"]) for r in batch
            ]
            done = await service.ingest(
                conn,
                batch=BatchIn(readings=readings),
                gateway="fake",
                notifier=notifier,
                now=start + timedelta(minutes=minute),
            )
            raised += done.alerts_raised
            stood_down += done.alerts_stood_down
    # Three rules tripped (an hour's rain, a quarter's, the road's water), each once, and each stood down.
    assert len(raised) == 3 and sorted(stood_down) == sorted(raised)
    alert = (await client.get(f"/v1/alerts/{raised[0]}")).json()
    assert alert["source"] == "sensor" and alert["in_force"] is False
    assert alert["areas"][0]["method"] == "polygon" and "11110101" in alert["areas"][0]["dongs"]
    cap = await client.get(f"/v1/alerts/{raised[0]}.cap")
    assert cap.status_code == 200 and b"<msgType>Alert</msgType>" in cap.content
    cancel = (await client.get(f"/v1/alerts/{alert['replaced_by']}.cap")).content
    for document in (cap.content, cancel):
        assert validate_cap12(document, shared_data / "cap-schema" / "cap12.xsd") == []
    told = await pool.fetch(
        "SELECT n.dedupe_key, o.template FROM outbox o JOIN notices n ON n.id = o.notice_id"
        " WHERE n.dedupe_key LIKE 'care:%:alert:%' ORDER BY o.id"
    )
    assert {r["dedupe_key"].split(":")[1] for r in told} == {str(near.id)}  # the dong's people, not Gangnam's
    assert far.id not in {int(r["dedupe_key"].split(":")[1]) for r in told}
    assert "alerts.all_clear" in {r["template"] for r in told}


def _person(phone: str, district: str, lat: float, lon: float) -> RecipientCreate:
    return RecipientCreate(
        name="반지하 거주자",
        phone=phone,
        district=district,
        address="서울",
        home=Home(lat=lat, lon=lon),
        plan=PlanIn(times=["09:00"]),
    )


async def test_a_day_without_its_partition_gets_one_and_the_reading_is_kept(client, gateway, sensors, pool):
    day = NOW - timedelta(days=6)
    await pool.execute(f"DROP TABLE sensor_readings_{day:%Y%m%d}")  # as if the partition job had not run
    response = await client.post(
        "/v1/sensors/readings", json={"readings": [reading(RAIN["id"], 0.2, day)]}, headers=gateway
    )
    assert response.json()["stored"] == 1
    assert (
        await pool.fetchval("SELECT tableoid::regclass::text FROM sensor_readings") == f"sensor_readings_{day:%Y%m%d}"
    )
