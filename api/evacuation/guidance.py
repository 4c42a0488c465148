"""What to do in each hazard, in Korean and English: short steps a person can act on at once; and what the
distances of a shelter answer mean.

After the national action guidelines (국민행동요령) of the Ministry of the Interior and Safety, shortened.
"""

from __future__ import annotations

from typing import NamedTuple

from api.evacuation.schemas import Hazard, MeasuredFrom, NearestShelters
from api.platform.types import Language


class GuidanceText(NamedTuple):
    title: str
    steps: tuple[str, ...]
    shelter_advice: str


_KO: dict[Hazard, GuidanceText] = {
    Hazard.heat_wave: GuidanceText(
        "폭염 행동요령",
        (
            "가장 더운 오후 2시~5시에는 바깥 활동과 작업을 멈추세요.",
            "목이 마르지 않아도 물을 자주 마시고, 술과 카페인 음료는 피하세요.",
            "외출할 때는 모자를 쓰고 가볍고 밝은 옷을 입으세요.",
            "어지럽거나 두통·메스꺼움이 있으면 시원한 곳에서 쉬고, 의식이 흐려지면 바로 119에 신고하세요.",
            "홀로 지내는 어르신과 이웃의 안부를 확인해 주세요.",
        ),
        "집이 덥다면 가까운 무더위쉼터에서 더위를 피하세요. 운영시간은 쉼터마다 다릅니다.",
    ),
    Hazard.cold_wave: GuidanceText(
        "한파 행동요령",
        (
            "외출을 줄이고, 나갈 때는 모자·장갑·목도리로 몸을 따뜻하게 하세요.",
            "수도계량기와 배관을 헌 옷 등으로 감싸 얼지 않게 하세요.",
            "난방기구를 쓸 때는 자주 환기하고 주변에 불에 타는 물건을 두지 마세요.",
            "몸이 심하게 떨리고 말이 어눌해지면 따뜻한 곳으로 옮기고 119에 신고하세요.",
            "홀로 지내는 어르신과 이웃의 안부를 확인해 주세요.",
        ),
        "집이 춥다면 가까운 한파쉼터에서 몸을 녹이세요. 운영시간은 쉼터마다 다릅니다.",
    ),
    Hazard.earthquake: GuidanceText(
        "지진 행동요령",
        (
            "흔들리는 동안에는 탁자 아래로 들어가 머리를 보호하고 탁자 다리를 꼭 잡으세요.",
            "흔들림이 멈추면 가스와 전기를 차단하고 문을 열어 출구를 확보하세요.",
            "밖으로 나갈 때는 엘리베이터가 아닌 계단을 이용하세요.",
            "건물·담장·유리창에서 떨어져, 가방 등으로 머리를 보호하며 걸어서 대피하세요.",
            "다친 사람이 있으면 119에 신고하고, 라디오와 재난문자로 정확한 정보를 확인하세요.",
        ),
        "흔들림이 멈추면 가까운 지진옥외대피장소(공원·운동장)로 걸어서 대피하고, "
        "집에 머물 수 없으면 지진실내구호소로 가세요.",
    ),
    Hazard.flooding: GuidanceText(
        "호우·침수 행동요령",
        (
            "하천변, 지하차도, 지하·반지하 공간에서 바로 벗어나 높은 곳으로 이동하세요.",
            "물이 흐르는 길이나 다리는 걷거나 차로 건너지 마세요. 무릎 높이의 물에도 휩쓸릴 수 있습니다.",
            "집에 물이 들어오기 시작하면 전기 차단기를 내리고 가스 밸브를 잠그세요.",
            "맨홀과 배수구 가까이 가지 마세요.",
            "고립되거나 위험하면 119에 신고하세요.",
        ),
        "대피 안내를 받았거나 집이 잠길 위험이 있으면 가까운 임시주거시설이나 실내구호소로 대피하세요.",
    ),
    Hazard.typhoon: GuidanceText(
        "태풍 행동요령",
        (
            "외출을 삼가고, 실내에서는 창문에서 떨어져 지내세요.",
            "바람에 날릴 수 있는 화분·간판·물건은 미리 치우거나 단단히 고정하세요.",
            "공사장, 전신주, 가로수, 오래된 담장 가까이 가지 마세요.",
            "저지대나 반지하에 산다면 비바람이 거세지기 전에 높은 곳으로 옮기세요.",
            "정전에 대비해 손전등과 휴대전화 충전을 준비하고, 위급하면 119에 신고하세요.",
        ),
        "집이 위험하다면 비바람이 거세지기 전에 가까운 임시주거시설이나 실내구호소로 대피하세요.",
    ),
    Hazard.air_raid: GuidanceText(
        "공습 대피 요령",
        (
            "공습경보가 울리면 즉시 가까운 민방위 대피시설이나 지하철역, 건물 지하층으로 대피하세요.",
            "대피할 때는 엘리베이터가 아닌 계단을 이용하고, 가스와 전기를 차단하세요.",
            "지하로 갈 수 없으면 창문이 없는 방에서 몸을 낮추세요.",
            "가스 냄새나 이상한 연기가 나면 젖은 천으로 코와 입을 막고 그 자리를 벗어나 안내에 따르세요.",
            "경보가 해제될 때까지 대피소에 머무르며 라디오와 재난문자의 안내를 따르세요.",
        ),
        "가까운 민방위 대피시설(지하 공간)로 바로 대피하세요.",
    ),
}

_EN: dict[Hazard, GuidanceText] = {
    Hazard.heat_wave: GuidanceText(
        "Heat wave: what to do",
        (
            "Stop outdoor activity and work in the hottest hours, 2 to 5 p.m.",
            "Drink water often, even before you feel thirsty; avoid alcohol and caffeine.",
            "Outdoors, wear a hat and light, loose, light-coloured clothes.",
            "If you feel dizzy, have a headache or feel sick, rest somewhere cool; if someone becomes confused or "
            "faints, call 119 at once.",
            "Check on older neighbours and people living alone.",
        ),
        "If your home is hot, cool off in the nearest heat-wave shelter. Opening hours vary by shelter.",
    ),
    Hazard.cold_wave: GuidanceText(
        "Cold wave: what to do",
        (
            "Go out less; when you do, keep warm with a hat, gloves and a scarf.",
            "Wrap water meters and pipes (old clothes will do) so that they do not freeze.",
            "When you use a heater, air the room often and keep anything that burns away from it.",
            "If someone shivers hard or slurs their speech, move them somewhere warm and call 119.",
            "Check on older neighbours and people living alone.",
        ),
        "If your home is cold, warm up in the nearest cold-wave shelter. Opening hours vary by shelter.",
    ),
    Hazard.earthquake: GuidanceText(
        "Earthquake: what to do",
        (
            "While the ground shakes, get under a table, protect your head and hold on to a table leg.",
            "When the shaking stops, turn off gas and electricity and open the door to keep a way out.",
            "Use the stairs, not the lift, to leave the building.",
            "Keep away from buildings, walls and windows; walk, protecting your head with a bag.",
            "If anyone is hurt, call 119; follow the radio and emergency text alerts, not rumours.",
        ),
        "When the shaking stops, walk to the nearest earthquake outdoor evacuation site (a park or sports "
        "ground); if you cannot stay at home, go to an earthquake indoor relief shelter.",
    ),
    Hazard.flooding: GuidanceText(
        "Heavy rain and flooding: what to do",
        (
            "Leave riversides, underpasses, basements and semi-basement homes now and move to higher ground.",
            "Do not walk or drive through flowing water or over flooded bridges; knee-deep water can sweep you away.",
            "If water comes into your home, switch off the electricity at the breaker and close the gas valve.",
            "Stay away from manholes and drains.",
            "If you are cut off or in danger, call 119.",
        ),
        "If you are told to evacuate or your home may flood, go to the nearest temporary housing facility or "
        "indoor relief shelter.",
    ),
    Hazard.typhoon: GuidanceText(
        "Typhoon: what to do",
        (
            "Stay indoors and keep away from windows.",
            "Bring in or tie down anything the wind could carry: pots, signs, loose objects.",
            "Keep away from building sites, utility poles, street trees and old walls.",
            "If you live low-lying or in a semi-basement, move to higher ground before the storm strengthens.",
            "Have a torch ready and your phone charged in case of a power cut; call 119 in an emergency.",
        ),
        "If your home is unsafe, go to the nearest temporary housing facility or indoor relief shelter before "
        "the storm strengthens.",
    ),
    Hazard.air_raid: GuidanceText(
        "Air raid: what to do",
        (
            "When the air-raid siren sounds, go at once to the nearest civil-defense shelter, subway station or "
            "basement.",
            "Use the stairs, not the lift, and turn off gas and electricity as you leave.",
            "If you cannot get underground, stay low in a room without windows.",
            "If you smell gas or see strange smoke, cover your nose and mouth with a wet cloth, leave the area "
            "and follow official instructions.",
            "Stay in the shelter until the all-clear; follow the radio and emergency text alerts.",
        ),
        "Go at once to the nearest civil-defense shelter (an underground space).",
    ),
}

_TEXTS = {Language.ko: _KO, Language.en: _EN}


def for_hazard(hazard: Hazard, language: Language) -> GuidanceText:
    """The guidance for a hazard in a language."""
    return _TEXTS[language][hazard]


_MEASURED_FROM: dict[Language, dict[MeasuredFrom, str]] = {
    Language.ko: {
        MeasuredFrom.point: "알려 주신 곳에서 잰 직선거리입니다.",
        MeasuredFrom.home: "댁에서 잰 직선거리입니다.",
        MeasuredFrom.district_office: "구청 기준 거리입니다. 계신 곳에서 잰 거리가 아니어서 걸리는 시간은 알려 드리지 "
        "않습니다. 계신 곳을 알려 주시면 그곳에서 찾아 드립니다.",
    },
    Language.en: {
        MeasuredFrom.point: "Distances are in a straight line from the point given.",
        MeasuredFrom.home: "Distances are in a straight line from your home.",
        MeasuredFrom.district_office: "Distances are from the district office (구청), not from where you are, so no "
        "walking time is given. Say where you are for an answer from there.",
    },
}
_NOTHING_NEARBY = {
    Language.ko: "근처({cap} 안)에 알맞은 대피소가 없습니다. 가장 가까운 곳을 알려 드리니, 구청이나 120 다산콜센터에도 "
    "문의해 주세요.",
    Language.en: "There is no suitable shelter nearby (within {cap}). The nearest is given; you may also ask your "
    "district office or call 120 (Dasan Call Center).",
}


def shelter_note(near: NearestShelters, language: Language) -> str:
    """Where the answer's distances are measured from, and, when nothing suitable is near, that it is not."""
    note = _MEASURED_FROM[language][near.measured_from]
    if near.nothing_nearby and near.shelters:
        note = f"{_NOTHING_NEARBY[language].format(cap=distance_words(near.distance_cap_m))} {note}"
    return note


def distance_words(metres: float) -> str:
    """A distance as people say it: metres to the ten below a kilometre, else kilometres to one decimal."""
    return f"{round(metres / 10) * 10:.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km".replace(".0 km", " km")
