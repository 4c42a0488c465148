"""A small demo set of shelters for the embedded default: plausible places, invented shelters.

Every one is labelled as demo data in its name and notes and stored with source "demo", so nobody takes
it for a real shelter. Real shelters come from Seoul's open-data files (`safecity import-shelters`).
"""

from __future__ import annotations

from datetime import date

from api.evacuation.schemas import ShelterKind, ShelterRow

SOURCE = "demo"
AS_OF = date(2025, 7, 1)
NOTE = "데모 데이터: 실제 대피소가 아닙니다. Demo data, not a real shelter."

# source id | kind | district | lat | lon | people | area m² | wheelchair accessible | name | address
_DEMO = """
demo-heat-1|heat_wave|11110|37.5733|126.9769|40|120|yes|광화문 무더위쉼터|종로구 세종대로 일대
demo-heat-2|heat_wave|11440|37.5556|126.9019|25|80||망원 경로당 무더위쉼터|마포구 망원동 일대
demo-heat-3|heat_wave|11680|37.4995|127.0365|60|150|yes|역삼 주민센터 무더위쉼터|강남구 역삼동 일대
demo-cold-1|cold_wave|11140|37.5660|126.9910|30|90|yes|을지로 한파쉼터|중구 을지로 일대
demo-cold-2|cold_wave|11350|37.6547|127.0610|50|200|yes|상계 복지관 한파쉼터|노원구 상계동 일대
demo-cold-3|cold_wave|11620|37.4842|126.9297|20|70||신림 경로당 한파쉼터|관악구 신림동 일대
demo-outdoor-1|earthquake_outdoor|11560|37.5256|126.9226||12000||여의도 공원 옥외대피장소|영등포구 여의도동 일대
demo-outdoor-2|earthquake_outdoor|11710|37.5206|127.1215||30000||올림픽공원 옥외대피장소|송파구 방이동 일대
demo-outdoor-3|earthquake_outdoor|11200|37.5446|127.0557||4000||성수 초등학교 운동장 옥외대피장소|성동구 성수동 일대
demo-indoor-1|earthquake_indoor|11500|37.5414|126.8402|300|900|yes|화곡 중학교 체육관 실내구호소|강서구 화곡동 일대
demo-indoor-2|earthquake_indoor|11380|37.6105|126.9297|250|800||불광 고등학교 강당 실내구호소|은평구 불광동 일대
demo-housing-1|temporary_housing|11230|37.5897|127.0577|80|300|yes|회기 주민센터 임시주거시설|동대문구 회기동 일대
demo-housing-2|temporary_housing|11740|37.5386|127.1237|150|600|yes|천호 체육센터 임시주거시설|강동구 천호동 일대
demo-civil-1|civil_defense|11140|37.5657|126.9769|2000|5000|yes|시청역 지하 민방위대피시설|중구 태평로 일대 지하
demo-civil-2|civil_defense|11530|37.4852|126.9015|1500|4000||구로디지털단지역 민방위대피시설|구로구 구로동 일대 지하
"""


def shelters() -> list[ShelterRow]:
    """The demo shelters, each named "[데모]" and noted as not real."""
    rows = []
    for line in _DEMO.strip().splitlines():
        source_id, kind, district, lat, lon, people, area, wheelchair, name, address = (
            cell.strip() for cell in line.split("|")
        )
        rows.append(
            ShelterRow(
                kind=ShelterKind(kind),
                source_id=source_id,
                name=f"[데모] {name}",
                address=f"서울특별시 {address} (데모)",
                district=district,
                lat=float(lat),
                lon=float(lon),
                capacity_people=int(people) if people else None,
                area_m2=float(area),
                facility_type="데모 (demo)",
                opening_notes=NOTE,
                contact=None,
                # Blank: not known, as for most real shelters.
                wheelchair_accessible=True if wheelchair == "yes" else None,
            )
        )
    return rows
