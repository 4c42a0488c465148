"""Ingesting alerts: stored once, replaced through references, and told to the right people by the right channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from api.alerts.cap import parse_cap
from api.alerts.service import AlertRefused, ingest
from api.evacuation import service as evacuation
from api.platform.auth.tokens import Principal, Role
from api.platform.settings import Settings
from care import service as care
from care.schemas import GuardianIn, Home, PlanIn, RecipientCreate
from notifications.service import Notifier
from tests.alerts import cap_xml

NOW = datetime(2026, 7, 14, 3, 0, tzinfo=UTC)  # 12:00 in Seoul, in the rainy season
WORKER = Principal(subject="staff:1", role=Role.social_worker, districts=("11680",))
GANGNAM, JONGNO = "11680", "11110"


@pytest.fixture
def notifier(settings: Settings) -> Notifier:
    return Notifier(settings.notify)


@pytest.fixture
async def people(pool: asyncpg.Pool) -> dict[str, int]:
    """Citizens of Gangnam with and without the app, one opted out, one in Jongno; one person in care in Gangnam."""
    async with pool.acquire() as conn, conn.transaction():
        await evacuation.load_demo(conn, if_empty=True)
        ids = {}
        for name, phone, district, language in (
            ("app", "+821011110001", GANGNAM, "ko"),
            ("sms_ko", "+821011110002", GANGNAM, "ko"),
            ("sms_en", "+821011110003", GANGNAM, "en"),
            ("opted_out", "+821011110004", GANGNAM, "ko"),
            ("jongno", "+821011110005", JONGNO, "ko"),
        ):
            ids[name] = await conn.fetchval(
                "INSERT INTO citizens (phone, district, language) VALUES ($1, $2, $3) RETURNING id",
                phone,
                district,
                language,
            )
        await conn.execute(
            "INSERT INTO devices (citizen_id, platform, fcm_token) VALUES ($1, 'android', $2)", ids["app"], "t" * 40
        )
        await conn.execute(
            "INSERT INTO sms_opt_outs (phone, keyword, source, opted_out_at)"
            " VALUES ('+821011110004', 'STOP', 'sms', $1)",
            NOW,
        )
        recipient = await care.enroll(
            conn,
            data=RecipientCreate(
                name="박영자",
                phone="010-2222-0001",
                district=GANGNAM,
                address="서울 강남구 학동로 426",
                home=Home(lat=37.5172, lon=127.0473),
                guardians=[GuardianIn(name="박민수", phone="010-2222-0002", relation="아들")],
                plan=PlanIn(times=["09:00"]),
            ),
            principal=WORKER,
            now=NOW - timedelta(days=1),
        )
        ids["recipient"] = recipient.id
    return ids


async def outbox(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch("SELECT channel, recipient, template, language, state, body FROM outbox ORDER BY id")


async def run(pool: asyncpg.Pool, notifier: Notifier, xml: bytes, *, now: datetime = NOW):  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        return await ingest(conn, parse_cap(xml), source="post", notifier=notifier, now=now)


async def test_a_severe_warning_reaches_topic_sms_and_care_and_asks_are_you_safe(pool, notifier, people) -> None:
    result = await run(pool, notifier, cap_xml("rain-1", sent=NOW))

    assert result.outcome == "created"
    rows = await outbox(pool)
    by = {(r["channel"], r["recipient"]): r for r in rows}
    # One push for the district's topic, not one per device; no push to the app user's device itself.
    assert by[("push", "district-11680")]["template"] == "alerts.warning"
    assert ("push", "t" * 40) not in by
    # SMS to those without the app, each in their language; the opted-out number recorded, not sent.
    assert by[("sms", "+821011110002")]["language"] == "ko"
    assert "서울 동남권 호우경보" in by[("sms", "+821011110002")]["body"]
    assert "Heavy rain warning" in by[("sms", "+821011110003")]["body"]
    assert by[("sms", "+821011110004")]["state"] == "suppressed"
    assert ("sms", "+821011110001") not in by
    assert ("sms", "+821011110005") not in by
    # The person in care is asked, with the shelter nearest their home (the demo set has flood shelters).
    asked = by[("sms", "+821022220001")]
    assert asked["template"] == "alerts.are_you_safe"
    assert "안전하신가요" in asked["body"] and "댁에서 가까운 대피소: [데모]" in asked["body"]
    # A district's message names the shelter nearest its office, and says so; in English, romanised beside the Hangul.
    assert "구청 기준 가까운 대피소: [데모]" in by[("push", "district-11680")]["body"]
    assert "Near the district office: [Demo] " in by[("sms", "+821011110003")]["body"]
    assert " ([데모] " in by[("sms", "+821011110003")]["body"]
    assert result.deliveries == len(rows)
    assert result.safety_checks == 1
    async with pool.acquire() as conn:
        check = await conn.fetchrow("SELECT * FROM safety_checks")
    assert check["recipient_id"] == people["recipient"] and check["step"] == 1 and check["safe_at"] is None


async def test_the_same_alert_again_sends_nothing_new(pool, notifier, people) -> None:
    first = await run(pool, notifier, cap_xml("rain-1", sent=NOW))
    before = await outbox(pool)

    again = await run(pool, notifier, cap_xml("rain-1", sent=NOW), now=NOW + timedelta(minutes=1))

    assert again.outcome == "duplicate" and again.alert_id == first.alert_id
    assert await outbox(pool) == before


async def test_a_moderate_alert_informs_care_without_a_safety_check(pool, notifier, people) -> None:
    result = await run(pool, notifier, cap_xml("rain-advisory", sent=NOW, severity="Moderate"))

    templates = {r["recipient"]: r["template"] for r in await outbox(pool)}
    assert templates["+821022220001"] == "alerts.personal"
    assert result.safety_checks == 0


async def test_update_replaces_and_does_not_ask_again(pool, notifier, people) -> None:
    first = await run(pool, notifier, cap_xml("rain-1", sent=NOW))
    later = NOW + timedelta(hours=1)
    ref = (("safety@seoul.go.kr", "rain-1", NOW),)

    update = await run(pool, notifier, cap_xml("rain-2", sent=later, msg_type="Update", references=ref), now=later)

    assert update.outcome == "created" and update.replaced == [first.alert_id]
    async with pool.acquire() as conn:
        old = await conn.fetchrow("SELECT replaced_by FROM alerts WHERE id = $1", first.alert_id)
        care_messages = await conn.fetch("SELECT template FROM outbox WHERE recipient = '+821022220001' ORDER BY id")
    assert old["replaced_by"] == update.alert_id
    assert [r["template"] for r in care_messages] == ["alerts.are_you_safe", "alerts.personal"]
    assert update.safety_checks == 0


async def test_cancel_lifts_the_warning_tells_everyone_and_stands_down_the_checks(pool, notifier, people) -> None:
    first = await run(pool, notifier, cap_xml("rain-1", sent=NOW))
    later = NOW + timedelta(hours=3)
    ref = (("safety@seoul.go.kr", "rain-1", NOW),)

    cancel = await run(pool, notifier, cap_xml("rain-lift", sent=later, msg_type="Cancel", references=ref), now=later)

    assert cancel.outcome == "created" and cancel.replaced == [first.alert_id]
    lifted = [r for r in await outbox(pool) if r["template"] == "alerts.all_clear"]
    assert {r["recipient"] for r in lifted} >= {"district-11680", "+821011110002", "+821022220001"}
    async with pool.acquire() as conn:
        check = await conn.fetchrow("SELECT due_at FROM safety_checks")
    assert check["due_at"] is None


async def test_cancel_of_an_unknown_alert_is_refused_and_writes_nothing(pool, notifier, people) -> None:
    ref = (("safety@seoul.go.kr", "never-seen", NOW),)
    with pytest.raises(AlertRefused, match="refers to no alert"):
        await run(pool, notifier, cap_xml("lift-nothing", sent=NOW, msg_type="Cancel", references=ref))
    assert await outbox(pool) == []


async def test_update_of_an_unknown_alert_is_told_as_new(pool, notifier, people) -> None:
    ref = (("safety@seoul.go.kr", "missed", NOW - timedelta(hours=1)),)
    result = await run(pool, notifier, cap_xml("rain-3", sent=NOW, msg_type="Update", references=ref))
    assert result.outcome == "created" and result.replaced == []
    assert result.deliveries > 0


@pytest.mark.parametrize("status", ["Exercise", "Test", "Draft", "System"])
async def test_exercises_tests_and_drafts_never_reach_people(pool, notifier, people, status: str) -> None:
    result = await run(pool, notifier, cap_xml(f"x-{status}", sent=NOW, status=status))
    assert result.outcome == "ignored" and status in (result.reason or "")
    assert await outbox(pool) == []


async def test_restricted_scope_is_ignored(pool, notifier, people) -> None:
    result = await run(pool, notifier, cap_xml("restricted", sent=NOW, scope="Restricted"))
    assert result.outcome == "ignored"
    assert await outbox(pool) == []


async def test_an_expired_alert_is_refused(pool, notifier, people) -> None:
    xml = cap_xml("old", sent=NOW - timedelta(hours=7), expires=NOW - timedelta(hours=1))
    with pytest.raises(AlertRefused, match="expired"):
        await run(pool, notifier, xml)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM alerts") == 0


async def test_an_alert_outside_seoul_is_ignored(pool, notifier, people) -> None:
    result = await run(pool, notifier, cap_xml("busan", sent=NOW, geocodes=("26110",)))
    assert result.outcome == "ignored" and "no district of Seoul" in (result.reason or "")


async def test_two_districts_each_get_their_own_topic_and_shelter(pool, notifier, people) -> None:
    await run(pool, notifier, cap_xml("wide", sent=NOW, geocodes=(GANGNAM, JONGNO)))
    rows = await outbox(pool)
    topics = {r["recipient"] for r in rows if r["channel"] == "push"}
    assert topics == {"district-11680", "district-11110"}
    sms = {r["recipient"]: r["body"] for r in rows if r["channel"] == "sms"}
    shelter = {phone: body.split("가까운 대피소: ")[1] for phone, body in sms.items() if "가까운 대피소: " in body}
    # One broadcast statement, and still each district's SMS names the shelter nearest its own office.
    assert shelter["+821011110005"] != shelter["+821011110002"]


async def test_a_bare_alert_without_words_or_shelter_still_says_something(pool, notifier) -> None:
    bare = (
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>bare</identifier>'
        b"<sender>x@y</sender><sent>2026-07-14T12:00:00+09:00</sent><status>Actual</status>"
        b"<msgType>Alert</msgType><scope>Public</scope><info><category>Other</category>"
        b"<event>Power cut</event><urgency>Expected</urgency><severity>Minor</severity>"
        b"<certainty>Likely</certainty><area><areaDesc>Jongno</areaDesc><geocode><valueName>KR_ADMIN</valueName>"
        b"<value>11110</value></geocode></area></info></alert>"
    )
    result = await run(pool, notifier, bare)
    assert result.outcome == "created"
    [topic] = [r for r in await outbox(pool) if r["recipient"] == "district-11110"]
    assert topic["body"] == "Power cut"


async def test_people_in_care_are_written_before_the_broadcast(pool, notifier, people) -> None:
    """Rows of one priority leave in the order written: the person asked "are you safe?" does not wait."""
    await run(pool, notifier, cap_xml("order", sent=NOW))
    rows = [r["recipient"] for r in await outbox(pool)]
    # The topic push first (it reaches every app at once), then the person in care, then the broadcast SMS.
    assert rows.index("district-11680") < rows.index("+821022220001") < rows.index("+821011110002")
