"""What the actions put into the bot's sentences: names of kinds and hazards, distances, in Korean or English."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker

REPORT_KINDS: dict[str, tuple[str, str]] = {
    "sinkhole": ("싱크홀", "a sinkhole"),
    "road_damage": ("도로 파손", "road damage"),
    "fallen_tree": ("쓰러진 나무", "a fallen tree"),
    "flooding": ("침수", "flooding"),
    "landslide_risk": ("산사태 위험", "a landslide risk"),
    "fire_smoke": ("화재·연기", "fire or smoke"),
    "gas_smell": ("가스 냄새", "a gas smell"),
    "damaged_structure": ("건물·시설물 손상", "a damaged structure"),
    "broken_streetlight": ("가로등 고장", "a broken streetlight"),
    "icy_road": ("빙판길", "an icy road"),
    "other": ("기타 위험", "a hazard"),
}
SHELTER_HAZARDS = ("heat_wave", "cold_wave", "earthquake", "flooding", "typhoon", "air_raid")
# An alert's hazard word → the shelter that suits it (as the API's fan-out chooses).
ALERT_TO_SHELTER = {
    "heat_wave": "heat_wave",
    "cold_wave": "cold_wave",
    "heavy_snow": "cold_wave",
    "heavy_rain": "flooding",
    "flood": "flooding",
    "flooding": "flooding",
    "typhoon": "typhoon",
    "earthquake": "earthquake",
    "tsunami": "earthquake",
    "air_raid": "air_raid",
}


def language(tracker: Tracker) -> str:
    return "en" if tracker.get_slot("language") == "en" else "ko"


def kind_label(kind: str, lang: str) -> str:
    ko, en = REPORT_KINDS.get(kind, REPORT_KINDS["other"])
    return en if lang == "en" else ko


def distance(metres: float) -> str:
    return f"{round(metres / 10) * 10:.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km".replace(".0 km", " km")


def shelter_words(shelter: dict[str, Any], lang: str) -> dict[str, str]:
    """The shelter's name, address and distance for a sentence; in English, the romanised words beside the Hangul."""
    name, address = shelter["name"], shelter.get("address")
    if lang == "en":
        name = f"{shelter.get('name_romanised') or name} ({name})"
        address = f"{shelter.get('address_romanised') or address} ({address})" if address else None
    return {"name": name, "address": address or "-", "distance": distance(shelter["distance_m"])}


# What an answer's distances are measured from (the API's measured_from), as the sentences name it.
_ORIGINS = {
    "home": ("댁", "your home"),
    "district_office": ("구청", "your district office"),
    "point": ("말씀하신 곳", "the place you named"),
}


def origin_words(measured_from: str, place: dict[str, Any] | None, lang: str) -> str:
    """Where the distance is measured from, in words: the place named, the person's home, the district office."""
    if measured_from == "point" and place:
        return place_name(place, lang)
    ko, en = _ORIGINS.get(measured_from, _ORIGINS["point"])
    return en if lang == "en" else ko


def walk(minutes: int, lang: str) -> str:
    return f"{minutes} min" if lang == "en" else f"{minutes}분"


def place_name(place: dict[str, Any], lang: str) -> str:
    return place["name_en"] if lang == "en" else place["name"]


def user_text(tracker: Tracker) -> str | None:
    """The latest message, cut to what a check-in or help request keeps."""
    text = (tracker.latest_message or {}).get("text") or ""
    return text.strip()[:1600] or None


_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def message_language(text: str) -> str | None:
    """The language a message is plainly in: ``ko`` for any Hangul, ``en`` for a Latin word of 3+ letters.

    Short or language-less messages ("OK", "119", "강남역 ok" is Korean) say nothing, and the reply keeps the
    conversation's language.
    """
    if _HANGUL.search(text or ""):
        return "ko"
    if _LATIN_WORD.search(text or ""):
        return "en"
    return None
