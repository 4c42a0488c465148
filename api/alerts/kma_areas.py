"""Seoul's KMA weather-warning areas (특보구역) and the districts each one covers.

Source: KMA's area-code sheet (``kma_warning_area_codes_210715.xlsx``: L1100100 서울(동남권) … L1100400
서울(서북권), and L1010100 "서울 종료", the single Seoul area the four replaced) and its station sheet
(``kma_warning_area_codes_stations.xlsx``), which puts each district's weather station in its area: 강남·서초·
강동·송파 in 동남권; 도봉·노원·동대문·중랑·광진·성북·성동·강북 in 동북권; 강서·양천·금천·구로·관악·영등포
and the KMA headquarters and 현충원 stations (both in 동작구) in 서남권; 서울 (108, in 종로구)·마포·서대문·용산·
은평·중구 in 서북권. That is also the commonly published grouping.
"""

from __future__ import annotations

from api.platform.districts import DISTRICTS

SOUTH_EAST = "L1100100"  # 서울동남권
NORTH_EAST = "L1100200"  # 서울동북권
SOUTH_WEST = "L1100300"  # 서울서남권
NORTH_WEST = "L1100400"  # 서울서북권
# Seoul as one area, retired in 2021 when the four above replaced it; older announcements still carry it.
SEOUL_LEGACY = "L1010100"

SEOUL_KMA_AREAS: tuple[str, ...] = (SOUTH_EAST, NORTH_EAST, SOUTH_WEST, NORTH_WEST)

KMA_AREA_NAMES: dict[str, str] = {
    SOUTH_EAST: "서울동남권",
    NORTH_EAST: "서울동북권",
    SOUTH_WEST: "서울서남권",
    NORTH_WEST: "서울서북권",
    SEOUL_LEGACY: "서울",
}

KMA_AREA_DISTRICTS: dict[str, frozenset[str]] = {
    # 강남구 서초구 송파구 강동구
    SOUTH_EAST: frozenset({"11680", "11650", "11710", "11740"}),
    # 성동구 광진구 동대문구 중랑구 성북구 강북구 도봉구 노원구
    NORTH_EAST: frozenset({"11200", "11215", "11230", "11260", "11290", "11305", "11320", "11350"}),
    # 양천구 강서구 구로구 금천구 영등포구 동작구 관악구
    SOUTH_WEST: frozenset({"11470", "11500", "11530", "11545", "11560", "11590", "11620"}),
    # 종로구 중구 용산구 은평구 서대문구 마포구
    NORTH_WEST: frozenset({"11110", "11140", "11170", "11380", "11410", "11440"}),
    SEOUL_LEGACY: frozenset(DISTRICTS),
}


def districts_for_kma_area(code: str) -> set[str]:
    """The district codes a KMA warning-area code covers; an area outside Seoul (or unknown) covers none."""
    return set(KMA_AREA_DISTRICTS.get(code.strip(), ()))


def kma_area_for_district(district: str) -> str:
    """The current KMA warning area a Seoul district lies in; ``KeyError`` for a code that is not a district."""
    for area in SEOUL_KMA_AREAS:
        if district in KMA_AREA_DISTRICTS[area]:
            return area
    raise KeyError(district)
