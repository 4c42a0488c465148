"""The hazard desk's page shows an incident a city sensor opened: a square on the map and a badge in the list,
naming the sensor, its rule and what it measured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.platform.auth.tokens import Role
from api.platform.settings import NotifySettings
from api.sensors import service
from api.sensors.schemas import BatchIn, ReadingIn
from fakes.sensor_gateway import DEMO_SENSORS
from notifications.service import Notifier
from tests.conftest import bearer
from tests.console.conftest import sign_in


async def test_a_sensors_incident_is_drawn_on_the_desks_map_and_named_in_its_list(client, make_staff, pool, token_for):
    operator = bearer(token_for(Role.operator))
    road = DEMO_SENSORS[1]
    assert (await client.post("/v1/sensors/", json=road, headers=operator)).status_code == 201
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    async with pool.acquire() as conn:
        for minute in range(6):
            at = start + timedelta(minutes=minute)
            batch = BatchIn(readings=[ReadingIn(sensor_id=road["id"], at=at, value=24.0)])
            await service.ingest(conn, batch=batch, gateway="fake", notifier=Notifier(NotifySettings()), now=at)
    await make_staff("ops@seoul.go.kr", role="operator")
    await sign_in(client, "ops@seoul.go.kr")
    page = await client.get("/console/hazards")
    assert page.status_code == 200, page.text
    assert '<rect class="sensor ontime"' in page.text
    assert f"센서 {road['id']} · water_level · 24" in page.text
