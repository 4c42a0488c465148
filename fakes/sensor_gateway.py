"""A fake sensor gateway replaying a storm: a rain gauge and a road-water sensor in one dong, minute by minute.

The storm is the shape of Seoul's August 2022 evening (a rain rate rising to about 100 mm/h over an hour, then
falling off), compressed or stretched by ``peak_mm_h`` and ``minutes``: the hourly sum crosses 55 mm and the
15-minute sum 20 mm on the way up, the road water passes 15 cm near the peak, and both fall back below their
stand-down levels and stay there. Used by the tests (``storm``, with times of their own) and, from the command
line beside ``make run``, as a demo in real time (a reading a minute, stamped now; the rules' durations are
real minutes, so a shorter ``--minutes`` squeezes the storm, not the 30 minutes a stand-down waits):

    python -m fakes.sensor_gateway --url http://127.0.0.1:8000 --operator-token … --gateway-token … --minutes 120
"""

from __future__ import annotations

import argparse
import asyncio
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

# Near 청운동 in 종로구; the demo's sensors. Coordinates are a point inside the dong, not a real installation.
DEMO_SENSORS: list[dict[str, Any]] = [
    {
        "id": "demo-rain-jongno-1",
        "kind": "rain_gauge",
        "name": "데모 강우계 (종로)",
        "lat": 37.5860,
        "lon": 126.9690,
        "owner": "demo: 서울시 물순환안전국",
    },
    {
        "id": "demo-road-jongno-1",
        "kind": "road_water",
        "name": "데모 도로 수위계 (종로)",
        "lat": 37.5860,
        "lon": 126.9695,
        "owner": "demo: 서울시 물순환안전국",
    },
]


def rain_rate(minute: int, *, minutes: int, peak_mm_h: float) -> float:
    """The rain rate (mm/h) at this minute of the storm: a smooth rise to the peak a third of the way in, then a
    longer fall, and dry for the last quarter."""
    dry_from = int(minutes * 0.75)
    if minute >= dry_from:
        return 0.0
    x = minute / dry_from
    return peak_mm_h * math.sin(math.pi * x) ** 3 if x < 1 else 0.0


def storm(
    start: datetime,
    *,
    minutes: int = 240,
    peak_mm_h: float = 100.0,
    rain_id: str = "demo-rain-jongno-1",
    road_id: str = "demo-road-jongno-1",
) -> Iterator[list[dict[str, Any]]]:
    """One batch per minute: the rain gauge's mm in that minute and the road's water depth in cm."""
    water = 0.0
    for minute in range(minutes):
        at = start + timedelta(minutes=minute)
        rate = rain_rate(minute, minutes=minutes, peak_mm_h=peak_mm_h)
        # The road fills when the rain outruns the drains (about 40 mm/h) and drains at 1.5 cm a minute when not.
        water = max(0.0, water + (rate - 40) / 60 * 0.5) if rate > 40 else max(0.0, water - 1.5)
        yield [
            {"sensor_id": rain_id, "at": at.isoformat(), "value": round(rate / 60, 3)},
            {"sensor_id": road_id, "at": at.isoformat(), "value": round(water, 1)},
        ]


async def replay(url: str, *, operator: str, gateway: str, minutes: int) -> None:
    """Register the demo sensors (if new) and post the storm, one batch a minute, in real time."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for sensor in DEMO_SENSORS:
            response = await client.post("/v1/sensors/", json=sensor, headers={"Authorization": f"Bearer {operator}"})
            if response.status_code not in (201, 409):
                raise SystemExit(f"registering {sensor['id']}: {response.status_code} {response.text}")
        start = datetime.now(UTC).replace(second=0, microsecond=0)
        for minute, batch in enumerate(storm(start, minutes=minutes)):
            await asyncio.sleep(max(0.0, (start + timedelta(minutes=minute) - datetime.now(UTC)).total_seconds()))
            response = await client.post(
                "/v1/sensors/readings", json={"readings": batch}, headers={"Authorization": f"Bearer {gateway}"}
            )
            body = response.json()
            print(
                minute, batch[0]["value"], batch[1]["value"], body.get("alerts_raised"), body.get("alerts_stood_down")
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--operator-token", required=True)
    parser.add_argument("--gateway-token", required=True)
    parser.add_argument("--minutes", type=int, default=240, help="the storm's length, in real minutes")
    args = parser.parse_args()
    asyncio.run(replay(args.url, operator=args.operator_token, gateway=args.gateway_token, minutes=args.minutes))


if __name__ == "__main__":
    main()
