"""What an alert is about, in one word of our own, and which shelters suit it."""

from __future__ import annotations

import re
from enum import StrEnum

from api.alerts.cap import CapInfo
from api.evacuation.schemas import Hazard


class HazardKind(StrEnum):
    heavy_rain = "heavy_rain"
    flood = "flood"
    typhoon = "typhoon"
    heat_wave = "heat_wave"
    cold_wave = "cold_wave"
    heavy_snow = "heavy_snow"
    strong_wind = "strong_wind"
    dry = "dry"
    storm_surge = "storm_surge"
    high_seas = "high_seas"
    yellow_dust = "yellow_dust"
    earthquake = "earthquake"
    tsunami = "tsunami"
    fire = "fire"
    air_raid = "air_raid"
    thunderstorm = "thunderstorm"
    other = "other"


# First match wins, so the narrower words come before the wider ones ("flash flood" before "flood").
_WORDS: tuple[tuple[HazardKind, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        (HazardKind.typhoon, r"typhoon|hurricane|cyclone|태풍"),
        (HazardKind.tsunami, r"tsunami|지진해일|쓰나미"),
        (HazardKind.earthquake, r"earthquake|seismic|지진"),
        (HazardKind.storm_surge, r"storm surge|폭풍해일"),
        (HazardKind.heavy_rain, r"heavy rain|rainfall|호우|폭우|집중호우"),
        (HazardKind.flood, r"flood|inundation|홍수|침수|범람"),
        (HazardKind.thunderstorm, r"thunderstorm|tornado|뇌우|낙뢰"),
        (HazardKind.heat_wave, r"heat|폭염|무더위"),
        (HazardKind.cold_wave, r"cold wave|extreme cold|wind chill|freez|한파"),
        (HazardKind.heavy_snow, r"snow|blizzard|winter storm|대설|폭설"),
        (HazardKind.strong_wind, r"\bwind|gale|강풍"),
        (HazardKind.high_seas, r"high seas|marine|풍랑"),
        (HazardKind.yellow_dust, r"dust|황사|미세먼지"),
        (HazardKind.dry, r"dry|drought|건조"),
        (HazardKind.fire, r"fire|wildfire|산불|화재"),
        (HazardKind.air_raid, r"air raid|missile|공습|민방공"),
    )
)

# The shelters to point people to; a hazard missing here gets guidance without a shelter.
SHELTER_HAZARD: dict[HazardKind, Hazard] = {
    HazardKind.heavy_rain: Hazard.flooding,
    HazardKind.flood: Hazard.flooding,
    HazardKind.storm_surge: Hazard.flooding,
    HazardKind.typhoon: Hazard.typhoon,
    HazardKind.heat_wave: Hazard.heat_wave,
    HazardKind.cold_wave: Hazard.cold_wave,
    HazardKind.heavy_snow: Hazard.cold_wave,
    HazardKind.earthquake: Hazard.earthquake,
    HazardKind.tsunami: Hazard.earthquake,
    HazardKind.air_raid: Hazard.air_raid,
}


def classify(info: CapInfo) -> HazardKind:
    """Our hazard word for an info block: an eventCode naming one of ours, else words in the event or headline."""
    for _, value in info.event_codes:
        if value in HazardKind.__members__:
            return HazardKind(value)
    text = f"{info.event} {info.headline or ''}"
    for kind, pattern in _WORDS:
        if pattern.search(text):
            return kind
    return HazardKind.other
