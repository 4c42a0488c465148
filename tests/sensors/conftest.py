"""The sensors' tests share an operator, a gateway and the fake gateway's two demo sensors, registered."""

from __future__ import annotations

import pytest

from api.platform.auth.tokens import Role, Scope
from fakes.sensor_gateway import DEMO_SENSORS
from tests.conftest import bearer


@pytest.fixture
def operator(token_for):  # type: ignore[no-untyped-def]
    return bearer(token_for(Role.operator))


@pytest.fixture
def gateway(token_for):  # type: ignore[no-untyped-def]
    return bearer(token_for(Role.service, subject="service:gw-1", scopes=(Scope.sensors_write,)))


@pytest.fixture
async def sensors(client, operator):  # type: ignore[no-untyped-def]
    for sensor in DEMO_SENSORS:
        response = await client.post("/v1/sensors/", json=sensor, headers=operator)
        assert response.status_code == 201, response.text
    return [s["id"] for s in DEMO_SENSORS]
