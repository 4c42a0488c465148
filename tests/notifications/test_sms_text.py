"""SMS length in segments (GSM-7 and UCS-2) and splitting long texts into numbered parts."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.sms_text import GSM_BASIC, GSM_EXTENDED, is_gsm, segments, split_sms

KOREAN = (
    "서울시 안전 안내 문자입니다. 오늘 오후 세 시부터 강풍 경보가 발효되었습니다. "
    "외출을 자제하시고 창문과 출입문을 단단히 닫아 주십시오. 간판과 공사장 자재가 날릴 수 있으니 "
    "건물 주변을 지날 때 주의하십시오. 대피가 필요하면 가까운 주민센터나 지정 대피소로 이동하십시오.\n"
    "문의는 다산콜센터 120으로 연락 주십시오."
)
ENGLISH = (
    "Seoul safety notice. A strong wind warning is in effect from 3 p.m. today. Please stay indoors, "
    "close your windows and doors, and keep away from signboards and construction sites. If you need to "
    "evacuate, go to the nearest community centre or designated shelter. For questions call 120! "
    "Thank you for keeping yourself and your neighbours safe during the storm."
)
PREFIX = re.compile(r"^\((\d+)/(\d+)\) ")


def _content(parts: list[str]) -> list[str]:
    return [PREFIX.sub("", part, count=1) for part in parts]


def test_the_tables_are_the_gsm_03_38_alphabet() -> None:
    assert len(GSM_BASIC) == 128
    assert len(GSM_EXTENDED) == 10
    assert is_gsm("Hello @ £5, {ok}? ~ €")
    assert not is_gsm("안녕하세요")
    assert not is_gsm("curly ’quote’")


@pytest.mark.parametrize(
    ("length", "expected"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm_boundaries(length: int, expected: int) -> None:
    assert segments("a" * length) == expected


@pytest.mark.parametrize(
    ("length", "expected"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_korean_is_ucs2(length: int, expected: int) -> None:
    assert segments("가" * length) == expected


def test_extension_characters_cost_two_septets() -> None:
    assert segments("€" * 80) == 1
    assert segments("€" * 80 + "a") == 2
    assert segments("[" * 80) == 1
    assert segments("a" * 159 + "^") == 2


def test_an_escape_sequence_is_not_split_between_parts() -> None:
    # 306 septets would be two parts of 153, but the € cannot straddle them.
    assert segments("a" * 152 + "€" + "a" * 152) == 3


def test_one_non_gsm_character_makes_the_whole_message_ucs2() -> None:
    assert segments("a" * 70) == 1
    assert segments("a" * 69 + "가") == 1
    assert segments("a" * 70 + "가") == 2
    assert segments("a" * 159 + "가") == 3


def test_ucs2_counts_utf16_code_units() -> None:
    assert segments("😀" * 35) == 1
    assert segments("😀" * 35 + "가") == 2


def test_empty_text_is_one_segment() -> None:
    assert segments("") == 1


def test_a_text_that_fits_is_returned_whole() -> None:
    assert split_sms("가" * 134, 2) == ["가" * 134]
    assert split_sms(KOREAN, 10) == [KOREAN]


@pytest.mark.parametrize("text", [KOREAN, ENGLISH])
@pytest.mark.parametrize("max_segments", [1, 2])
def test_split_parts_fit_and_keep_every_word(text: str, max_segments: int) -> None:
    parts = split_sms(text, max_segments)
    assert len(parts) > 1
    for number, part in enumerate(parts, start=1):
        assert segments(part) <= max_segments
        match = PREFIX.match(part)
        assert match is not None
        assert (int(match[1]), int(match[2])) == (number, len(parts))
    assert " ".join(_content(parts)).split() == text.split()


def test_parts_break_at_a_sentence_end_in_reach() -> None:
    text = " ".join(f"{n}번 대피소가 지금 열려 있습니다." for n in range(1, 13))
    parts = _content(split_sms(text, 1))
    assert len(parts) > 2
    assert all(part.endswith("습니다.") for part in parts), parts


def test_an_early_sentence_end_does_not_waste_a_part() -> None:
    # The only sentence end is near the start: break at the last space instead of sending a stub.
    text = "알림. " + " ".join(["강풍 경보가 발효되었으니 주의하십시오"] * 8)
    parts = _content(split_sms(text, 1))
    assert parts[0] != "알림."
    assert len(parts[0]) > 40


def test_parts_never_break_mid_word() -> None:
    words = set(KOREAN.split())
    for part in _content(split_sms(KOREAN, 1)):
        assert set(part.split()) <= words


def test_prefix_format() -> None:
    parts = split_sms("word " * 100, 1)
    assert parts[0].startswith("(1/")
    assert parts[-1].startswith(f"({len(parts)}/{len(parts)}) ")
    assert all(not part.endswith(" ") for part in parts)


def test_ten_or_more_parts_have_room_for_the_wider_prefix() -> None:
    text = " ".join(["안전"] * 400)
    parts = split_sms(text, 1)
    assert len(parts) >= 10
    assert parts[9].startswith(f"(10/{len(parts)}) ")
    assert all(segments(part) <= 1 for part in parts)
    assert " ".join(_content(parts)).split() == text.split()


def test_a_word_longer_than_a_part_is_cut() -> None:
    word = "가" * 300
    parts = split_sms(f"시작 {word} 끝", 1)
    assert all(segments(part) <= 1 for part in parts)
    assert "".join(_content(parts)).replace(" ", "") == f"시작{word}끝"


def test_newlines_are_break_points() -> None:
    text = "\n".join(["첫째 줄입니다"] + ["가나다라마바사"] * 20)
    parts = _content(split_sms(text, 1))
    assert parts[0].startswith("첫째 줄입니다\n")
    assert " ".join(parts).split() == text.split()


def test_max_segments_must_be_positive() -> None:
    with pytest.raises(ValueError):
        split_sms("hello", 0)


def _packed(text: str) -> int:
    """Segments by the plain definition: each character's units, packed greedily into parts."""
    gsm = is_gsm(text)
    units = [2 if (c in GSM_EXTENDED if gsm else ord(c) > 0xFFFF) else 1 for c in text]
    if sum(units) <= (160 if gsm else 70):
        return 1
    parts, used = 1, 0
    for unit in units:
        if used + unit > (153 if gsm else 67):
            parts, used = parts + 1, 0
        used += unit
    return parts


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from([*"aZ 09.", *GSM_EXTENDED, "가", "é", "😀", "\n"]), max_size=400))
def test_the_count_is_the_greedy_packing_of_each_characters_units(text: str) -> None:
    """Invariant: however the count is computed, it is what packing each character's septets (GSM-7) or UTF-16
    code units (UCS-2) greedily into parts gives, so a text is never sent in more parts than it takes."""
    assert segments(text) == _packed(text)
