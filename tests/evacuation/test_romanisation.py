"""English answers carry each shelter's name and address in Latin letters beside the Hangul."""

from __future__ import annotations

import pytest

from api.evacuation import service
from api.platform.romanisation import romanise

NEAREST = "/v1/shelters/nearest"


@pytest.mark.parametrize(
    ("hangul", "latin"),
    [
        ("백합경로당", "Baekapgyeongnodang"),
        ("광화문 무더위쉼터", "Gwanghwamun Mudeowiswimteo"),
        ("[데모] 시청역 지하 민방위대피시설", "[Demo] Sicheongyeok Jiha Minbangwidaepisiseol"),
        ("왕십리역", "Wangsimniyeok"),  # the sound changes across syllables, not letter by letter (wangsibli)
        ("서울특별시 마포구 월드컵로 215", "Seoul Mapo-gu Woldeukeop-ro 215"),
        ("서울특별시 관악구 신림동 1555-1", "Seoul Gwanak-gu Sillim-dong 1555-1"),
        ("서울특별시 동작구 동작대로29길 214(사당동)", "Seoul Dongjak-gu Dongjak-daero 29-gil 214(Sadang-dong)"),
        ("서울특별시 중구 을지로3가 10", "Seoul Jung-gu Eulji-ro 3-ga 10"),
        ("서울특별시 종로구 종로 1", "Seoul Jongno-gu Jongno 1"),
        ("KT빌딩 B동", "KTbilding B-dong"),
        ("Seoul City Hall", "Seoul City Hall"),
    ],
)
def test_names_and_addresses_read_as_on_seouls_signs(hangul, latin):
    assert romanise(hangul) == latin


async def test_every_answer_carries_the_romanised_name_and_address(client, real_shelters):
    response = await client.get(NEAREST, params={"lat": 37.5645, "lon": 126.9011, "hazard": "heat_wave", "limit": 1})
    [shelter] = response.json()["shelters"]
    assert (shelter["name"], shelter["name_romanised"]) == ("백합경로당", "Baekapgyeongnodang")
    assert shelter["address"] == "서울특별시 마포구 월드컵로 215"
    assert shelter["address_romanised"] == "Seoul Mapo-gu Woldeukeop-ro 215"
    read = (await client.get(f"/v1/shelters/{shelter['id']}")).json()
    assert (read["name_romanised"], read["address_romanised"]) == (
        shelter["name_romanised"],
        shelter["address_romanised"],
    )


async def test_english_guidance_gives_the_romanised_name_beside_the_hangul(client, conn):
    await service.load_demo(conn)
    params = {"lat": 37.5657, "lon": 126.9769, "hazard": "air_raid", "lang": "en", "limit": 1}
    [shelter] = (await client.get("/v1/guidance", params=params)).json()["shelters"]
    assert shelter["name"] == "[데모] 시청역 지하 민방위대피시설"
    assert shelter["name_romanised"] == "[Demo] Sicheongyeok Jiha Minbangwidaepisiseol"
    assert shelter["address_romanised"] == "Seoul Jung-gu Taepyeong-ro Ildae Jiha (Demo)"


def test_every_real_name_and_address_romanises_to_latin_letters(parsed_files):
    rows = [row for parsed in parsed_files.values() for row in parsed.rows]
    for text in {t for row in rows for t in (row.name, row.address) if t}:
        latin = romanise(text)
        assert latin and not any("\uac00" <= ch <= "\ud7a3" for ch in latin), (text, latin)
