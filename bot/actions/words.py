"""What the actions put into the bot's sentences (names of kinds and hazards, distances, in Korean or English), and
what they read in a person's: the language of a message, a recognisable yes."""

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


# A yes to a report's summary, in Korean and English, standard and messy. The classifier's affirm alone is not
# enough to file a report to the city: it reads gibberish ("asdf", "블라블라") as affirm, so a summary is confirmed
# only by a message that also holds one of these (ValidateHazardReportForm.validate_report_confirmed).
# A word of one syllable (네, 응, 어, ㅇㅇ, repeated or with 요 / ~ / ! after it) must be the whole word; the longer
# Korean ones may sit inside a word with no spaces ("네신고해주세요"); the English ones stand as words.
_YES_SYLLABLES = re.compile(r"^(?:[네넵넹넴녜예옙응웅엉어ㅇ]|예스)[네넵넹넴녜예옙응웅엉어에ㅇ]*[요용염ㅎㅋ~!.?…]*$")
_YES_KO = re.compile(
    r"그래|그려|그랴|그럼요|맞아|맞어|맞습니다|맞다|맞아요|좋아|좋습니다|좋지|좋다|해\s*주세요|해\s*줘|해\s*주소|"
    r"신고해|신고하|접수해|부탁|알겠|알았|오케이|오키|ㅇㅋ|하모|당연|물론"
)
_YES_EN = re.compile(
    r"\b(?:y|ye+s+|ye+a+h*|yeh|yah|ya|yep+|yup+|ok+|o+k+a+y+|okey|k+|sure|please|pl[sz]|do\s+it|go\s+ahead|"
    r"correct|right|alright|all\s+right|fine|affirmative|absolutely|definitely|of\s+course|report\s+it|file\s+it|"
    r"send\s+it)\b",
    re.IGNORECASE,
)
# A no beside the yes ("네 아니요", "yes no", "ok wait") makes the answer unclear: it is asked again.
_NO = re.compile(
    r"아니|아뇨|안\s*돼|안\s*되|안\s*좋|싫|하지\s*마|말아|말고|취소|그만|됐어|잠깐|잠시만|"
    r"\b(?:no+|nope|nah|not|don'?t|cancel|wait|stop)\b",
    re.IGNORECASE,
)
_WORDS = re.compile(r"[\w~!.?…]+")


def says_yes(text: str | None) -> bool:
    """Whether a message holds a recognisable yes (a word of the lexicon above) and no no beside it."""
    text = (text or "").strip()
    if not text or _NO.search(text):
        return False
    if _YES_KO.search(text) or _YES_EN.search(text):
        return True
    return any(_YES_SYLLABLES.match(word) for word in _WORDS.findall(text))
