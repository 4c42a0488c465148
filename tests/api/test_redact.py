"""Contact details out of public text: Korean and international phone numbers, e-mail addresses, and no more."""

from __future__ import annotations

import pytest

from api.platform.redact import EMAIL_MARK, PHONE_MARK, redact_contacts


@pytest.mark.parametrize(
    "number",
    [
        "010-1234-5678",
        "01012345678",
        "010 1234 5678",
        "010.1234.5678",
        "(010)1234-5678",
        "+82 10 1234 5678",
        "+821012345678",
        "82-10-1234-5678",
        "02-123-4567",
        "02-1234-5678",
        "(02) 123-4567",
        "+82-2-123-4567",
        "031-123-4567",
        "1588-1234",
        "+1 415 555 2671",
        "+44 20 7946 0958",
        "０１０－１２３４－５６７８",
    ],
)
def test_phone_numbers_in_any_usual_form_are_replaced(number):
    assert redact_contacts(f"연락처 {number} 로 전화 주세요") == f"연락처 {PHONE_MARK} 로 전화 주세요"
    # Glued to the words around it, as people type on a phone.
    assert redact_contacts(f"연락처{number}입니다") == f"연락처{PHONE_MARK}입니다"
    assert redact_contacts(f"tel{number}") == f"tel{PHONE_MARK}"


def test_several_numbers_and_addresses_all_go():
    text = "김지수 kim.jisoo+safe@seoul.go.kr, 010-1111-2222, 010-3333-4444 / jisoo@example.co.kr"
    assert redact_contacts(text) == f"김지수 {EMAIL_MARK}, {PHONE_MARK}, {PHONE_MARK} / {EMAIL_MARK}"


@pytest.mark.parametrize(
    "text",
    [
        "세종대로 110 앞, 지름 2m 깊이 30cm",
        "2024년 11월 3일 10시쯤 봤어요",
        "37.5663, 126.9779 근처",
        "버스 7016번 정류장",
        "",
    ],
)
def test_numbers_that_are_not_phones_stay(text):
    assert redact_contacts(text) == text
