"""Seoul's 25 autonomous districts (자치구), by their 5-digit administrative codes.

The same table is in the database (``migrations/0001_districts.sql``); a test keeps the two equal.
"""

from __future__ import annotations

from typing import NamedTuple


class District(NamedTuple):
    code: str
    name_ko: str
    name_en: str


DISTRICTS: dict[str, District] = {
    d.code: d
    for d in (
        District("11110", "종로구", "Jongno-gu"),
        District("11140", "중구", "Jung-gu"),
        District("11170", "용산구", "Yongsan-gu"),
        District("11200", "성동구", "Seongdong-gu"),
        District("11215", "광진구", "Gwangjin-gu"),
        District("11230", "동대문구", "Dongdaemun-gu"),
        District("11260", "중랑구", "Jungnang-gu"),
        District("11290", "성북구", "Seongbuk-gu"),
        District("11305", "강북구", "Gangbuk-gu"),
        District("11320", "도봉구", "Dobong-gu"),
        District("11350", "노원구", "Nowon-gu"),
        District("11380", "은평구", "Eunpyeong-gu"),
        District("11410", "서대문구", "Seodaemun-gu"),
        District("11440", "마포구", "Mapo-gu"),
        District("11470", "양천구", "Yangcheon-gu"),
        District("11500", "강서구", "Gangseo-gu"),
        District("11530", "구로구", "Guro-gu"),
        District("11545", "금천구", "Geumcheon-gu"),
        District("11560", "영등포구", "Yeongdeungpo-gu"),
        District("11590", "동작구", "Dongjak-gu"),
        District("11620", "관악구", "Gwanak-gu"),
        District("11650", "서초구", "Seocho-gu"),
        District("11680", "강남구", "Gangnam-gu"),
        District("11710", "송파구", "Songpa-gu"),
        District("11740", "강동구", "Gangdong-gu"),
    )
}

# Each district's office (구청), approximate WGS84 latitude and longitude: where a district-only answer is measured
# from (alerts read them as api.alerts.areas.DISTRICT_CENTROIDS).
DISTRICT_OFFICES: dict[str, tuple[float, float]] = {
    "11110": (37.5735, 126.9790),  # 종로구청
    "11140": (37.5641, 126.9979),  # 중구청
    "11170": (37.5324, 126.9905),  # 용산구청
    "11200": (37.5633, 127.0371),  # 성동구청
    "11215": (37.5385, 127.0824),  # 광진구청
    "11230": (37.5744, 127.0397),  # 동대문구청
    "11260": (37.6066, 127.0926),  # 중랑구청
    "11290": (37.5894, 127.0167),  # 성북구청
    "11305": (37.6397, 127.0255),  # 강북구청
    "11320": (37.6688, 127.0471),  # 도봉구청
    "11350": (37.6542, 127.0568),  # 노원구청
    "11380": (37.6027, 126.9291),  # 은평구청
    "11410": (37.5791, 126.9368),  # 서대문구청
    "11440": (37.5663, 126.9019),  # 마포구청
    "11470": (37.5170, 126.8665),  # 양천구청
    "11500": (37.5509, 126.8495),  # 강서구청
    "11530": (37.4954, 126.8875),  # 구로구청
    "11545": (37.4568, 126.8955),  # 금천구청
    "11560": (37.5264, 126.8962),  # 영등포구청
    "11590": (37.5124, 126.9393),  # 동작구청
    "11620": (37.4784, 126.9516),  # 관악구청
    "11650": (37.4837, 127.0324),  # 서초구청
    "11680": (37.5172, 127.0473),  # 강남구청
    "11710": (37.5145, 127.1059),  # 송파구청
    "11740": (37.5301, 127.1238),  # 강동구청
}


def check_district(code: str) -> str:
    """Return ``code`` if it is one of Seoul's 25 districts, else raise ``ValueError``."""
    if code not in DISTRICTS:
        raise ValueError(f"{code!r} is not one of Seoul's 25 district codes (11110 종로구 … 11740 강동구)")
    return code
