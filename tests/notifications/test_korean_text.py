"""Text rules for Korean numbers: EUC-KR only, the replacement table, lengths in bytes, checked at enqueue."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import msgspec
import pytest

import api.alerts.messages
import api.chat.messages
import api.hazards.messages
import care.flood.messages
import care.messages
import care.safety.messages
from api.platform.settings import NotifySettings
from notifications import korean_text, templates
from notifications.korean_text import NotEucKr, euckr_bytes, prepare
from notifications.service import NotificationError, Notifier
from tests.notifications.conftest import NOW, deliveries

# Imported for the templates they register; the test below reads every template of every domain.
DOMAIN_TEMPLATE_MODULES = (
    api.alerts.messages,
    api.chat.messages,
    api.hazards.messages,
    care.flood.messages,
    care.messages,
    care.safety.messages,
)


def test_bytes_are_counted_as_carriers_count_them() -> None:
    assert euckr_bytes("abc") == 3
    assert euckr_bytes("안녕하세요") == 10
    assert euckr_bytes("[안전서울] 1") == 12
    with pytest.raises(NotEucKr, match=r"U\+1F600"):
        euckr_bytes("😀")


def test_the_table_replaces_emoji_and_typography() -> None:
    assert prepare("🚨 호우경보 — 대피하세요") == "[긴급] 호우경보 - 대피하세요"
    assert prepare("⚠️ 주의") == "[주의] 주의"  # the variation selector goes with its emoji
    assert prepare("• 물\u00a0챙기기") == "· 물 챙기기"
    assert prepare("이미 EUC-KR인 글 ※ → ①") == "이미 EUC-KR인 글 ※ → ①"


def test_a_character_outside_the_table_is_refused_by_name() -> None:
    with pytest.raises(NotEucKr) as refused:
        prepare("괜찮아요 🦄")
    assert refused.value.characters == ["🦄"]
    assert "U+1F984 UNICORN FACE" in str(refused.value)
    # Hangul outside the 2,350 syllables of KS X 1001 cannot go either.
    with pytest.raises(NotEucKr, match="똠"):
        prepare("똠양꿍")


def test_decomposed_hangul_is_composed_first() -> None:
    assert prepare("\u1100\u1161") == "가"


def _sample(template: templates.Template) -> dict[str, object]:
    return {name: "1" for name in template.variables()}


def test_every_template_in_both_languages_suits_korean_carriers() -> None:
    """Each template renders to an EUC-KR text, unchanged by the table, that fits one LMS."""
    assert len(templates.TEMPLATES) > 20  # the domains' templates are registered, not only notifications'
    for name, template in sorted(templates.TEMPLATES.items()):
        for language in templates.LANGUAGES:
            rendered = templates.render(name, language, _sample(template))
            for text in (rendered.sms_body, rendered.title or ""):
                assert korean_text.encodable(text), f"{name} ({language}) is not EUC-KR: {text!r}"
            assert euckr_bytes(rendered.sms_body) <= korean_text.LMS_MAX_BYTES, name


@pytest.fixture
def emoji_templates() -> Iterator[None]:
    added = [
        templates._t("test.emoji_mapped", urgent=False, ko=(None, "🚨 {text}"), en=(None, "🚨 {text}")),
        templates._t("test.emoji_unmapped", urgent=False, ko=(None, "🦄 {text}"), en=(None, "🦄 {text}")),
    ]
    for template in added:
        templates.register(template)
    yield
    for template in added:
        templates.TEMPLATES.pop(template.name)


@pytest.fixture
def lms_notifier() -> Notifier:
    return Notifier(msgspec.structs.replace(NotifySettings(), korean_lms=True))


async def test_an_emoji_in_a_template_is_replaced_for_a_korean_number(
    pool: asyncpg.Pool, notifier: Notifier, emoji_templates: None
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await notifier.to_phone(
            conn, phone="010-1234-5678", language="ko", template="test.emoji_mapped", params={"text": "대피"}, now=NOW
        )
        await notifier.to_phone(
            conn, phone="+14155550100", language="en", template="test.emoji_mapped", params={"text": "go"}, now=NOW
        )
    korea, abroad = await deliveries(pool)
    assert korea["body"] == "[안전서울] [긴급] 대피"
    assert abroad["body"] == "[safecity] 🚨 go"  # other countries' carriers take Unicode


async def test_an_unmapped_emoji_is_refused_inside_the_callers_transaction(
    pool: asyncpg.Pool, notifier: Notifier, emoji_templates: None
) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(NotificationError, match=r"test.emoji_unmapped.*U\+1F984"):
            async with conn.transaction():
                await conn.execute("INSERT INTO citizens (phone, language) VALUES ('+821099990000', 'ko')")
                await notifier.to_phone(
                    conn,
                    phone="+821099990000",
                    language="ko",
                    template="test.emoji_unmapped",
                    params={"text": "x"},
                    now=NOW,
                )
        # The change that caused the message rolled back with it.
        assert await conn.fetchval("SELECT count(*) FROM citizens") == 0
    assert await deliveries(pool) == []


async def test_a_long_text_to_korea_is_one_lms_when_solapi_sends(pool: asyncpg.Pool, lms_notifier: Notifier) -> None:
    text = "저지대와 지하 공간을 벗어나 가까운 대피소로 가세요. " * 10
    async with pool.acquire() as conn, conn.transaction():
        await lms_notifier.to_phone(
            conn, phone="+821012345678", language="ko", template="notice.test", params={"text": text}, now=NOW
        )
    [row] = await deliveries(pool)
    assert row["body"] == "[안전서울] 안전서울 알림 시험\n" + text
    assert euckr_bytes(row["body"]) > korean_text.SMS_MAX_BYTES


async def test_a_long_text_through_twilio_is_still_numbered_parts(pool: asyncpg.Pool, notifier: Notifier) -> None:
    text = "저지대와 지하 공간을 벗어나 가까운 대피소로 가세요. " * 12
    async with pool.acquire() as conn, conn.transaction():
        await notifier.to_phone(
            conn, phone="+821012345678", language="ko", template="notice.test", params={"text": text}, now=NOW
        )
    rows = await deliveries(pool)
    assert len(rows) > 1 and rows[0]["body"].startswith("(1/")


async def test_a_text_past_one_lms_is_refused(pool: asyncpg.Pool, lms_notifier: Notifier) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(NotificationError, match="2000 bytes"):
            async with conn.transaction():
                await lms_notifier.to_phone(
                    conn,
                    phone="+821012345678",
                    language="ko",
                    template="notice.test",
                    params={"text": "가" * 1000},
                    now=NOW,
                )


async def test_what_fills_a_template_never_holds_it_back_its_odd_characters_are_replaced(
    pool: asyncpg.Pool, notifier: Notifier
) -> None:
    # A feed's headline with an emoji outside the table, a name with a syllable outside KS X 1001: the message
    # still goes, with "?" in their place (the template's own words are checked by the test above).
    async with pool.acquire() as conn, conn.transaction():
        await notifier.to_phone(
            conn,
            phone="+821099990001",
            language="ko",
            template="notice.test",
            params={"text": "🦄 똠방각하 대피하세요"},
            now=NOW,
        )
    [row] = await deliveries(pool)
    assert row["body"].endswith("? ?방각하 대피하세요")
    assert korean_text.encodable(row["body"])
