"""A small gazetteer of Seoul, ours: the 25 district offices, major subway stations and a few landmarks.

Coordinates are approximate (to about 100 m), enough to find the nearest shelter or to pin a hazard report
near where someone says it is. Names are matched by containment either way, ignoring spaces, punctuation
and case, so "강남 역", "강남역 앞" and "gangnam station" all find 강남역.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from api.alerts.areas import DISTRICT_CENTROIDS
from api.platform.districts import DISTRICTS


class Place(NamedTuple):
    name: str
    name_en: str
    lat: float
    lon: float
    district: str
    aliases: tuple[str, ...] = ()


_STATIONS: tuple[tuple[str, str, float, float, str], ...] = (
    ("서울역", "Seoul Station", 37.5547, 126.9707, "11140"),
    ("시청역", "City Hall Station", 37.5657, 126.9770, "11140"),
    ("을지로입구역", "Euljiro 1-ga Station", 37.5660, 126.9826, "11140"),
    ("명동역", "Myeong-dong Station", 37.5609, 126.9863, "11140"),
    ("동대문역사문화공원역", "Dongdaemun History & Culture Park Station", 37.5652, 127.0079, "11140"),
    ("종각역", "Jonggak Station", 37.5702, 126.9831, "11110"),
    ("종로3가역", "Jongno 3-ga Station", 37.5714, 126.9918, "11110"),
    ("광화문역", "Gwanghwamun Station", 37.5716, 126.9768, "11110"),
    ("경복궁역", "Gyeongbokgung Station", 37.5757, 126.9735, "11110"),
    ("안국역", "Anguk Station", 37.5765, 126.9854, "11110"),
    ("혜화역", "Hyehwa Station", 37.5822, 127.0019, "11110"),
    ("동대문역", "Dongdaemun Station", 37.5714, 127.0095, "11110"),
    ("용산역", "Yongsan Station", 37.5298, 126.9648, "11170"),
    ("삼각지역", "Samgakji Station", 37.5347, 126.9731, "11170"),
    ("이태원역", "Itaewon Station", 37.5345, 126.9943, "11170"),
    ("왕십리역", "Wangsimni Station", 37.5612, 127.0371, "11200"),
    ("성수역", "Seongsu Station", 37.5446, 127.0557, "11200"),
    ("건대입구역", "Konkuk University Station", 37.5404, 127.0692, "11215"),
    ("청량리역", "Cheongnyangni Station", 37.5801, 127.0485, "11230"),
    ("회기역", "Hoegi Station", 37.5897, 127.0578, "11230"),
    ("상봉역", "Sangbong Station", 37.5967, 127.0853, "11260"),
    ("성신여대입구역", "Sungshin Women's University Station", 37.5926, 127.0164, "11290"),
    ("수유역", "Suyu Station", 37.6380, 127.0257, "11305"),
    ("창동역", "Chang-dong Station", 37.6531, 127.0477, "11320"),
    ("노원역", "Nowon Station", 37.6552, 127.0613, "11350"),
    ("연신내역", "Yeonsinnae Station", 37.6190, 126.9210, "11380"),
    ("신촌역", "Sinchon Station", 37.5552, 126.9369, "11440"),
    ("홍대입구역", "Hongik University Station", 37.5572, 126.9245, "11440"),
    ("합정역", "Hapjeong Station", 37.5495, 126.9139, "11440"),
    ("공덕역", "Gongdeok Station", 37.5443, 126.9517, "11440"),
    ("목동역", "Mok-dong Station", 37.5262, 126.8647, "11470"),
    ("김포공항역", "Gimpo International Airport Station", 37.5624, 126.8013, "11500"),
    ("발산역", "Balsan Station", 37.5589, 126.8379, "11500"),
    ("신도림역", "Sindorim Station", 37.5088, 126.8912, "11530"),
    ("구로디지털단지역", "Guro Digital Complex Station", 37.4852, 126.9015, "11530"),
    ("가산디지털단지역", "Gasan Digital Complex Station", 37.4816, 126.8827, "11545"),
    ("영등포역", "Yeongdeungpo Station", 37.5156, 126.9075, "11560"),
    ("여의도역", "Yeouido Station", 37.5217, 126.9243, "11560"),
    ("노량진역", "Noryangjin Station", 37.5142, 126.9424, "11590"),
    ("사당역", "Sadang Station", 37.4765, 126.9816, "11590"),
    ("신림역", "Sillim Station", 37.4842, 126.9297, "11620"),
    ("서울대입구역", "Seoul National University Station", 37.4812, 126.9527, "11620"),
    ("교대역", "Seoul National University of Education Station", 37.4934, 127.0140, "11650"),
    ("고속터미널역", "Express Bus Terminal Station", 37.5049, 127.0049, "11650"),
    ("양재역", "Yangjae Station", 37.4841, 127.0346, "11650"),
    ("강남역", "Gangnam Station", 37.4979, 127.0276, "11680"),
    ("선릉역", "Seolleung Station", 37.5045, 127.0490, "11680"),
    ("삼성역", "Samseong Station", 37.5088, 127.0631, "11680"),
    ("압구정역", "Apgujeong Station", 37.5270, 127.0284, "11680"),
    ("잠실역", "Jamsil Station", 37.5133, 127.1001, "11710"),
    ("가락시장역", "Garak Market Station", 37.4925, 127.1182, "11710"),
    ("천호역", "Cheonho Station", 37.5386, 127.1236, "11740"),
)

_LANDMARKS: tuple[Place, ...] = (
    Place("서울시청", "Seoul City Hall", 37.5663, 126.9779, "11140", ("시청", "City Hall")),
    Place("광화문광장", "Gwanghwamun Square", 37.5724, 126.9769, "11110"),
    Place("경복궁", "Gyeongbokgung Palace", 37.5796, 126.9770, "11110"),
    Place("남산서울타워", "N Seoul Tower", 37.5512, 126.9882, "11170", ("남산타워", "Namsan Tower")),
    Place("동대문디자인플라자", "Dongdaemun Design Plaza", 37.5667, 127.0090, "11140", ("DDP",)),
    Place("서울숲", "Seoul Forest", 37.5444, 127.0374, "11200"),
    Place("여의도한강공원", "Yeouido Hangang Park", 37.5284, 126.9326, "11560"),
    Place("코엑스", "COEX", 37.5116, 127.0592, "11680"),
    Place("롯데월드타워", "Lotte World Tower", 37.5126, 127.1025, "11710", ("롯데타워",)),
    Place("올림픽공원", "Olympic Park", 37.5207, 127.1216, "11710"),
    Place("서울대학교", "Seoul National University", 37.4599, 126.9519, "11620", ("서울대",)),
)


def _offices() -> tuple[Place, ...]:
    offices = []
    for code, (lat, lon) in DISTRICT_CENTROIDS.items():
        d = DISTRICTS[code]
        short_en = d.name_en.removesuffix("-gu")
        # The code too, so the bot can find a district's office from a profile's district.
        aliases = (code, d.name_ko, d.name_en, f"{d.name_ko} 구청", f"{short_en} District Office")
        offices.append(Place(f"{d.name_ko}청", f"{d.name_en} Office", lat, lon, code, aliases))
    return tuple(offices)


def _stations() -> tuple[Place, ...]:
    # "강남" alone is left to containment; "Gangnam Stn" and the bare English name are aliases.
    return tuple(
        Place(ko, en, lat, lon, code, (en.removesuffix(" Station") + " Stn",)) for ko, en, lat, lon, code in _STATIONS
    )


PLACES: tuple[Place, ...] = (*_offices(), *_stations(), *_LANDMARKS)
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """What names are compared as: NFKC, no spaces or punctuation, case-folded."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text)).casefold()


_INDEX: tuple[tuple[Place, tuple[str, ...]], ...] = tuple(
    (p, tuple(dict.fromkeys(normalise(n) for n in (p.name, p.name_en, *p.aliases)))) for p in PLACES
)


def search(query: str, *, limit: int = 5) -> list[Place]:
    """Places whose names contain the query or are contained in it: exact first, then the closest in length."""
    q = normalise(query)
    if len(q) < 2:
        return []
    ranked: list[tuple[int, int, str, Place]] = []
    for place, names in _INDEX:
        best: tuple[int, int] | None = None
        for name in names:
            if name == q:
                score = (0, 0)
            elif q in name:
                score = (1, len(name) - len(q))  # the query is part of a longer name
            elif name in q:
                score = (2, len(q) - len(name))  # the name with words around it ("강남역 앞 사거리")
            else:
                continue
            best = score if best is None else min(best, score)
        if best is not None:
            ranked.append((*best, place.name, place))
    ranked.sort(key=lambda r: r[:3])
    return [r[3] for r in ranked[:limit]]
