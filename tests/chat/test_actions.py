"""The bot's custom actions, run on tracker fixtures against the real API served on a local port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from api.app import create_app
from api.platform.auth.tokens import Role, Scope
from bot.actions.care import ActionAskForHelp, ActionCheckIn, ActionGoodbye
from bot.actions.info import ActionCurrentWarnings, ActionFindShelter, ActionHazardGuidance
from bot.actions.reports import (
    ActionAskReportConfirmed,
    ActionCancelReport,
    ActionReportHazard,
    ValidateHazardReportForm,
)
from bot.actions.session import ActionFallback, ActionOptOut, ActionSessionStart, ValidateSlotMappings
from bot.actions.words import message_language
from fakes.rasa import closed_port_url
from fakes.server import BackgroundServer
from tests.chat.conftest import PERSON, enrol

SENDER = f"sms-{PERSON}"
STRANGER = "sms-010-7777-8888"


@pytest.fixture
async def api(settings, token_for, monkeypatch, talking) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    """The API on a real port, and the action client's environment pointing at it with a chatbot token."""
    await talking(SENDER, "sms-+821077778888")  # the trackers' senders, as their messages would have recorded
    with BackgroundServer(create_app(settings), lifespan="on") as server:
        monkeypatch.setenv("SAFECITY_API_URL", server.url)
        monkeypatch.setenv(
            "SAFECITY_SERVICE_TOKEN", token_for(Role.service, subject="service:actions", scopes=(Scope.chatbot,))
        )
        yield server.url


@pytest.fixture
def api_down(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SAFECITY_API_URL", closed_port_url())
    monkeypatch.setenv("SAFECITY_SERVICE_TOKEN", "whatever")


def tracker(
    sender: str = SENDER,
    *,
    text: str = "",
    intent: str = "",
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Tracker:
    latest = {"text": text, "intent": {"name": intent}, "entities": entities or [], "metadata": metadata or {}}
    return Tracker(
        sender_id=sender,
        slots={"language": "ko", **(slots or {})},
        latest_message=latest,
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def user(text: str, intent: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}, "entities": []}}


async def run(action, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    return dispatcher.messages, events


def responses(messages: list[dict[str, Any]]) -> list[str]:
    return [m["response"] for m in messages]


async def test_session_start_sets_language_from_metadata_and_the_rest_from_the_profile(api, client, worker):
    await enrol(client, worker, language="ko")
    t = tracker(slots={"session_started_metadata": {"language": "en", "channel": "sms"}, "hazard": "heat_wave"})
    messages, events = await run(ActionSessionStart(), t)
    assert messages == []
    assert events[0] == SessionStarted()
    assert events[-1] == ActionExecuted("action_listen")
    assert SlotSet("language", "en") in events
    assert SlotSet("district", "11110") in events
    assert SlotSet("in_care", True) in events
    assert SlotSet("hazard", "heat_wave") in events  # carried over into the new session


async def test_session_start_without_metadata_takes_the_profiles_language(api, client, worker):
    await enrol(client, worker, language="en")
    _, events = await run(ActionSessionStart(), tracker(slots={"language": None}))
    assert SlotSet("language", "en") in events


async def test_session_start_with_the_api_down_still_starts(api_down):
    _, events = await run(ActionSessionStart(), tracker(metadata={"language": "en"}))
    assert events == [SessionStarted(), SlotSet("language", "en"), ActionExecuted("action_listen")]


async def test_check_in_for_someone_in_care_and_for_a_stranger(api, client, worker, pool):
    await enrol(client, worker)
    messages, _ = await run(ActionCheckIn(), tracker(text="잘 지내요", intent="check_in"))
    assert responses(messages) == ["utter_checked_in"]
    messages, _ = await run(ActionCheckIn(), tracker(STRANGER, text="잘 지내요", intent="check_in"))
    assert responses(messages) == ["utter_checkin_not_in_care"]
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT channel, kind, body FROM checkins")
    assert [tuple(r) for r in rows] == [("chat", "checkin", "잘 지내요")]


async def test_help_opens_one_urgent_case_and_a_stranger_is_told_119(api, client, worker, pool):
    await enrol(client, worker)
    first, events = await run(ActionAskForHelp(), tracker(text="도와주세요 넘어졌어요", slots={"offered_human": True}))
    assert responses(first) == ["utter_help_opened"]
    assert SlotSet("offered_human", False) in events
    again, _ = await run(ActionAskForHelp(), tracker(text="빨리요"))
    assert responses(again) == ["utter_help_already_open"]
    stranger, _ = await run(ActionAskForHelp(), tracker(STRANGER, text="help"))
    assert responses(stranger) == ["utter_help_not_in_care"]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM cases WHERE priority = 'urgent'") == 1


async def test_the_form_accepts_known_places_and_kinds_and_asks_again_otherwise(api):
    form = ValidateHazardReportForm()
    d = CollectingDispatcher()
    t = tracker(slots={"language": "en"})
    assert await form.validate_place("gangnam stn", d, t, {}) == {"place": "Gangnam Station", "place_misses": 0}
    assert await form.validate_place("강남 역 앞", d, tracker(), {}) == {"place": "강남역", "place_misses": 0}
    assert d.messages == []
    assert await form.validate_place("아틀란티스", d, t, {}) == {"place": None, "place_misses": 1}
    assert responses(d.messages) == ["utter_place_unknown"]
    assert d.messages[0]["place"] == "아틀란티스"
    # Free text is no place; at the second miss the bot offers to cancel.
    missed_once = tracker(slots={"language": "en", "place_misses": 1})
    second = await form.validate_place("I smell gas in my building", d, missed_once, {})
    assert second == {"place": None, "place_misses": 2}
    assert responses(d.messages)[-1] == "utter_place_offer_cancel"
    # The place the patterns found is searched, not the whole answer.
    named = tracker(text="종로구청 앞 골목이요", entities=[{"entity": "place", "value": "종로구청"}])
    assert (await form.validate_place("종로구청 앞 골목이요", d, named, {}))["place"] == "종로구청"
    said = tracker(text="yes", intent="affirm", slots={"language": "en"})
    assert await form.validate_report_confirmed(True, d, said, {}) == {"report_confirmed": True}
    # An affirm with no yes word in it (the classifier's reading of "asdf") is asked again, not filed.
    gibberish = tracker(text="asdf", intent="affirm", slots={"language": "en"})
    assert await form.validate_report_confirmed(True, d, gibberish, {}) == {"report_confirmed": None}
    assert await form.validate_report_confirmed("네", d, t, {}) == {"report_confirmed": None}
    assert await form.validate_report_kind("sinkhole", d, t, {}) == {"report_kind": "sinkhole"}
    assert await form.validate_report_kind("ufo", d, t, {}) == {"report_kind": None}


async def test_a_filed_report_is_in_the_database_and_told_in_the_persons_language(api, pool):
    t = tracker(
        STRANGER,
        slots={"language": "en", "report_kind": "sinkhole", "place": "Gangnam Station", "report_confirmed": True},
        events=[user("there is a hole in the road", "report_hazard"), user("Gangnam station", "inform")],
    )
    summary, _ = await run(ActionAskReportConfirmed(), t)
    assert responses(summary) == ["utter_ask_report_confirmed"]
    assert (summary[0]["kind"], summary[0]["place"]) == ("a sinkhole", "Gangnam Station")
    messages, events = await run(ActionReportHazard(), t)
    assert responses(messages) == ["utter_report_filed"]
    assert messages[0]["kind"] == "a sinkhole"
    assert messages[0]["place"] == "Gangnam Station"
    assert SlotSet("report_kind", None) in events and SlotSet("place", None) in events
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT id, category, description, source FROM hazard_reports")
    assert (row["category"], row["description"], row["source"]) == ("sinkhole", "there is a hole in the road", "chat")
    assert messages[0]["report_id"] == row["id"]


async def test_with_the_api_down_every_changing_action_says_so_and_nothing_is_written(api_down, pool):
    filled = {"report_kind": "sinkhole", "place": "강남역", "report_confirmed": True}
    for action, slots in (
        (ActionCheckIn(), {}),
        (ActionAskForHelp(), {}),
        (ActionReportHazard(), filled),
        (ActionOptOut(), {}),
        (ActionFindShelter(), {}),
        (ActionCurrentWarnings(), {}),
        (ActionHazardGuidance(), {"hazard": "earthquake"}),
    ):
        messages, _ = await run(action, tracker(text="x", slots=slots))
        assert responses(messages) == ["utter_sorry_failed"], action.name()
    async with pool.acquire() as conn:
        for table in ("checkins", "cases", "hazard_reports", "sms_opt_outs", "citizens"):
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table  # noqa: S608


async def test_opt_out_for_a_texter_and_for_an_app_user(api, client, pool, talking):
    messages, _ = await run(ActionOptOut(), tracker(STRANGER))
    assert responses(messages) == ["utter_opted_out"]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT phone FROM sms_opt_outs") == "+821077778888"
        citizen_id = await conn.fetchval("INSERT INTO citizens (phone) VALUES ('+821055556666') RETURNING id")
    await talking(f"citizen-{citizen_id}")
    messages, _ = await run(ActionOptOut(), tracker(f"citizen-{citizen_id}"))
    assert responses(messages) == ["utter_opt_out_app"]


async def test_fallback_asks_to_rephrase_then_offers_a_person(api_down):
    once = tracker(events=[user("asdf", "greet"), user("qwer", "nlu_fallback")])
    messages, events = await run(ActionFallback(), once)
    assert responses(messages) == ["utter_please_rephrase"]
    twice = tracker(events=[user("asdf", "nlu_fallback"), user("qwer", "nlu_fallback")])
    messages, events = await run(ActionFallback(), twice)
    assert responses(messages) == ["utter_offer_human"]
    assert events == [SlotSet("offered_human", True)]


def said(message: dict[str, Any], lang: str = "ko") -> str:
    """The sentence Rasa makes of a response and the variables the action gave it (bot/domain.yml)."""
    domain = yaml.safe_load((Path(__file__).parents[2] / "bot" / "domain.yml").read_text(encoding="utf-8"))
    variations = domain["responses"][message["response"]]
    chosen = next(v for v in variations if ("condition" in v) == (lang == "en"))
    return chosen["text"].format(**{k: v for k, v in message.items() if k != "response"})


async def test_a_shelter_from_a_named_place_for_the_hazard_asked(api, pool, client):
    await load_demo_shelters(pool)
    t = tracker(STRANGER, entities=[{"entity": "place", "value": "종로구청"}], slots={"hazard": "heat_wave"})
    messages, _ = await run(ActionFindShelter(), t)
    assert responses(messages) == ["utter_shelter"]
    assert messages[0]["walk"].endswith("분")
    assert said(messages[0]) == (
        "종로구청에서 가까운 대피소: [데모] 광화문 무더위쉼터 (서울특별시 종로구 세종대로 일대 (데모)), "
        "약 190 m, 걸어서 4분."
    )
    # The demo set's earthquake sites are all more than 5 km from there.
    quake = tracker(STRANGER, entities=[{"entity": "place", "value": "종로구청"}], slots={"hazard": "earthquake"})
    far, _ = await run(ActionFindShelter(), quake)
    assert responses(far) == ["utter_shelter_far"]


async def test_a_shelter_from_home_or_the_district_office_in_the_seasons_hazard(api, client, worker, pool):
    await load_demo_shelters(pool)
    await enrol(client, worker, home=True, language="en")
    messages, _ = await run(ActionFindShelter(), tracker(slots={"language": "en", "hazard": "cold_wave"}))
    assert responses(messages) == ["utter_shelter"]
    assert messages[0]["walk"].endswith("min")
    # In English, the romanised name and address beside the Hangul.
    assert messages[0]["name"] == "[Demo] Eulji-ro Hanpaswimteo ([데모] 을지로 한파쉼터)"
    assert messages[0]["address"] == "Seoul Jung-gu Eulji-ro Ildae (Demo) (서울특별시 중구 을지로 일대 (데모))"
    assert said(messages[0], "en").startswith("Nearest shelter to your home: [Demo] Eulji-ro Hanpaswimteo")
    unknown, _ = await run(ActionFindShelter(), tracker(entities=[{"entity": "place", "value": "Atlantis"}]))
    assert responses(unknown) == ["utter_place_unknown"]
    nowhere, _ = await run(ActionFindShelter(), tracker(STRANGER, slots={"hazard": "heat_wave"}))
    assert responses(nowhere) == ["utter_ask_place"]


async def test_warnings_none_and_guidance_in_english(api):
    messages, _ = await run(ActionCurrentWarnings(), tracker(slots={"district": "11110"}))
    assert responses(messages) == ["utter_warnings_none"]
    messages, events = await run(ActionHazardGuidance(), tracker(slots={"language": "en", "hazard": "earthquake"}))
    assert responses(messages) == ["utter_guidance"]
    assert messages[0]["steps"].startswith("- ")
    assert SlotSet("hazard", "earthquake") in events


async def load_demo_shelters(pool) -> None:  # type: ignore[no-untyped-def]
    from api.evacuation.service import load_demo

    async with pool.acquire() as conn:
        await load_demo(conn)


async def test_without_a_hazard_or_a_home_the_district_office_and_the_season_decide(api, pool, talking):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    await load_demo_shelters(pool)
    async with pool.acquire() as conn:
        citizen_id = await conn.fetchval(
            "INSERT INTO citizens (phone, district) VALUES ('+821055557777', '11140') RETURNING id"
        )
    await talking(f"citizen-{citizen_id}")
    messages, events = await run(ActionFindShelter(), tracker(f"citizen-{citizen_id}"))
    month = datetime.now(ZoneInfo("Asia/Seoul")).month
    if month in (4, 5, 10):  # spring and autumn: the bot asks which hazard
        assert responses(messages) == ["utter_ask_hazard_for_shelter"]
    else:  # from the district office (중구청): said so, without a walking time
        assert responses(messages) == ["utter_shelter_from_office"]
        assert SlotSet("hazard", "heat_wave" if 6 <= month <= 9 else "cold_wave") in events


async def _citizen_of(pool, talking, district: str) -> str:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        citizen_id = await conn.fetchval(
            "INSERT INTO citizens (phone, district) VALUES ('+821055556666', $1) RETURNING id", district
        )
    await talking(f"citizen-{citizen_id}")
    return f"citizen-{citizen_id}"


async def test_with_only_the_district_known_the_answer_is_from_the_district_office_without_walking_time(
    api, pool, talking
):
    await load_demo_shelters(pool)
    sender = await _citizen_of(pool, talking, "11140")  # 중구: the demo heat-wave shelter at 광화문 is 2 km away
    messages, _ = await run(ActionFindShelter(), tracker(sender, slots={"hazard": "heat_wave"}))
    assert responses(messages) == ["utter_shelter_from_office"]
    assert "walk" not in messages[0]
    sentence = said(messages[0])
    assert sentence.startswith("구청 기준 가까운 대피소: [데모] 광화문 무더위쉼터")
    assert "걸어서" not in sentence
    english, _ = await run(ActionFindShelter(), tracker(sender, slots={"hazard": "heat_wave", "language": "en"}))
    assert "not measured from where you are" in said(english[0], "en")
    assert "on foot" not in said(english[0], "en")


async def test_a_cold_wave_question_far_from_any_shelter_says_nothing_nearby_and_names_the_nearest(api, pool, talking):
    await load_demo_shelters(pool)
    sender = await _citizen_of(pool, talking, "11500")  # 강서구: the nearest demo cold-wave shelter is 10 km away
    messages, events = await run(ActionFindShelter(), tracker(sender, slots={"hazard": "cold_wave"}))
    assert responses(messages) == ["utter_shelter_far"]
    assert (messages[0]["origin"], messages[0]["cap"]) == ("구청", "5 km")
    assert said(messages[0]).startswith("근처에 알맞은 대피소가 없습니다(구청 기준 5 km 안). 가장 가까운 곳: [데모]")
    assert SlotSet("hazard", "cold_wave") in events
    airport = {"entity": "place", "value": "김포공항역"}
    far, _ = await run(ActionFindShelter(), tracker(STRANGER, entities=[airport], slots={"hazard": "cold_wave"}))
    assert responses(far) == ["utter_shelter_far"]
    assert said(far[0]).startswith("근처에 알맞은 대피소가 없습니다(김포공항역 기준 5 km 안).")
    english = tracker(STRANGER, entities=[airport], slots={"hazard": "cold_wave", "language": "en"})
    far_en, _ = await run(ActionFindShelter(), english)
    assert said(far_en[0], "en").startswith(
        "There is no suitable shelter nearby (within 5 km of Gimpo International Airport Station)."
    )


async def test_nothing_is_filed_without_a_yes_to_the_summary_or_after_a_cancel(api, pool):
    unconfirmed = tracker(STRANGER, slots={"report_kind": "gas_smell", "place": "종로구청"})
    messages, _ = await run(ActionReportHazard(), unconfirmed)
    assert responses(messages) == ["utter_report_cancelled"]
    messages, events = await run(ActionCancelReport(), unconfirmed)
    assert responses(messages) == ["utter_report_cancelled"]
    assert SlotSet("report_kind", None) in events and SlotSet("place", None) in events
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM hazard_reports") == 0


def distressed(sender: str = SENDER, *, text: str, slots: dict[str, Any] | None = None) -> Tracker:
    """A tracker whose latest message DistressGuard marked: distress plausible, the classifier unsure."""
    t = tracker(sender, text=text, intent="need_help", slots=slots)
    t.latest_message["distress"] = {"cue": "fall", "classified_as": "check_in", "confidence": 0.5, "need_help": 0.1}
    t.events.append({"event": "user", "text": text, "parse_data": dict(t.latest_message)})
    return t


async def test_plausible_distress_asks_someone_in_care_and_any_answer_but_no_opens_help(api, client, worker, pool):
    await enrol(client, worker)
    messages, events = await run(ActionAskForHelp(), distressed(text="I fell in the bathroom", slots={"in_care": True}))
    assert messages == [] and SlotSet("help_asked", True) in events  # help_check_form asks the question
    answered = distressed(text="I fell in the bathroom", slots={"in_care": True, "help_asked": True})
    answered.slots["help_answer"] = "please hurry"
    messages, events = await run(ActionAskForHelp(), answered)
    assert responses(messages) == ["utter_help_opened"] and SlotSet("help_asked", False) in events
    declined = distressed(text="다리가 아파요", slots={"in_care": True, "help_asked": True})
    declined.slots["help_answer"] = "no"
    messages, _ = await run(ActionAskForHelp(), declined)
    assert responses(messages) == ["utter_help_declined"]
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT reason, priority FROM cases")
        assert [tuple(r) for r in rows] == [("help_request", "urgent")]


async def test_plausible_distress_from_someone_not_in_care_gets_119_at_once(api):
    messages, events = await run(ActionAskForHelp(), distressed(STRANGER, text="사람살려", slots={"in_care": False}))
    assert responses(messages) == ["utter_help_not_in_care"]
    assert SlotSet("help_asked", False) in events


async def test_a_goodbye_from_someone_in_care_is_a_check_in(api, client, worker, pool):
    await enrol(client, worker)
    messages, _ = await run(ActionGoodbye(), tracker(text="잘있어요", intent="goodbye", slots={"in_care": True}))
    assert responses(messages) == ["utter_checked_in"]
    messages, _ = await run(ActionGoodbye(), tracker(STRANGER, text="잘있어요", intent="goodbye"))
    assert responses(messages) == ["utter_goodbye"]
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT kind, body FROM checkins")
    assert [tuple(r) for r in rows] == [("checkin", "잘있어요")]


@pytest.mark.parametrize(
    ("text", "language"),
    [("where is the shelter", "en"), ("대피소 어디예요", "ko"), ("강남역 sinkhole", "ko"), ("OK", None), ("119", None),
     ("ㅇㅇ", "ko")],
)  # fmt: skip
def test_the_language_of_a_message(text: str, language: str | None) -> None:
    assert message_language(text) == language


async def test_the_reply_language_follows_each_message() -> None:
    action = ValidateSlotMappings()
    d = CollectingDispatcher()
    assert await action.extract_language(d, tracker(text="where is the shelter"), {}) == {"language": "en"}
    assert await action.extract_language(d, tracker(text="OK", slots={"language": "en"}), {}) == {}
    assert await action.extract_language(d, tracker(text="고마워요", slots={"language": "en"}), {}) == {
        "language": "ko"
    }


async def test_the_warnings_answer_names_the_watched_places_under_a_warning(api, pool, talking):
    """A gas leak over the street of her parents' home is told her by that place's label; a warning over her
    own district as a whole is told as one; a warning over neither, or beside her dong-only place, is not told."""
    from datetime import UTC, datetime

    from api.alerts.cap import parse_cap
    from api.alerts.service import ingest
    from api.platform import boundaries
    from api.platform.settings import NotifySettings
    from notifications.service import Notifier
    from tests.alerts import cap_xml

    async with pool.acquire() as conn:
        citizen_id = await conn.fetchval(
            "INSERT INTO citizens (phone, district) VALUES ('+821055551234', '11110') RETURNING id"
        )
        for kind, label, lat, lon, dong in (
            ("home", "집", 37.5729, 126.9794, None),  # 종로구
            ("watched", "부모님 댁", 37.475, 127.055, None),  # 개포동, 강남구
            ("watched", "가게", None, None, "11650101"),  # 방배동 (서초구), given only as a dong
        ):
            code = dong or boundaries.dong_at(lat, lon).code  # type: ignore[union-attr]
            await conn.execute(
                "INSERT INTO citizen_places (citizen_id, kind, label, lat, lon, dong, district, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, substr($6, 1, 5), now())",
                citizen_id,
                kind,
                label,
                lat,
                lon,
                code,
            )
        notifier = Notifier(NotifySettings())
        now = datetime.now(UTC)
        gas = "37.470,127.050 37.470,127.060 37.480,127.060 37.480,127.050 37.470,127.050"
        for xml in (
            cap_xml("gas-near-parents", geocodes=(), polygons=(gas,), event="가스 누출"),
            cap_xml("rain-jongno", geocodes=("11110",), event="호우경보"),
            cap_xml("rain-elsewhere", geocodes=("11740",), event="호우주의보"),
        ):
            assert (await ingest(conn, parse_cap(xml), source="post", notifier=notifier, now=now)).outcome == "created"
    sender = f"citizen-{citizen_id}"
    await talking(sender)

    messages, _ = await run(ActionCurrentWarnings(), tracker(sender, slots={"district": "11110"}))

    assert responses(messages) == ["utter_warning", "utter_warning_at"]  # newest first
    assert messages[1]["places"] == "부모님 댁"
