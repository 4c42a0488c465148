"""Telling the people under an alert: for the districts it tells as a whole, a push per district topic and SMS
to the citizens without the app; for the dongs wholly under its shapes, a push per dong topic; for its shapes, a
push or SMS to every citizen with a place inside not told by a topic; and a personal message to everyone in care
in any of them, each with the nearest suitable shelter.

It is told in parts (``PARTS``): the topics with the alert itself (``start``), then the people in care, then the
flood-risk households and their partners (heavy rain and floods), and beside those (``LANES``) the districts'
SMS, then the places, due just after the people in care. ``tell_part`` writes one part; the service commits
each on its own (docs/alerts.md, "Fan-out"), or, inside a caller's transaction, all of them in it
(``queue_messages``). Every message is keyed under the alert's id, so an alert, or a part run again, is told
exactly once however often it is received.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

import asyncpg

from api.alerts import messages
from api.alerts.areas import DISTRICT_CENTROIDS
from api.alerts.kinds import SHELTER_HAZARD, HazardKind
from api.alerts.messages import HEADLINE_CHARS, INSTRUCTION_CHARS, clip
from api.evacuation.schemas import Hazard
from api.evacuation.service import nearest_for_points, shelter_names
from api.platform.romanisation import romanise
from care import service as care
from care.addressing import to_person
from care.flood import dispatch as flood
from care.safety import service as safety
from notifications.service import Notifier, Outgoing

SEVERE = frozenset({"Severe", "Extreme"})
SHELTER_NAME_CHARS = 30
# The parts after the topics. The people in care should not wait behind a district's broadcast SMS: the
# dispatcher sends the rows of one channel and priority by when they are due, then in the order they were written.
PARTS = ("care", "flood", "district_sms", "places")
# Parts that may be written side by side, on two connections: each lane's parts in its order. Flood follows care
# in its lane, since it asks nobody care has asked; the citizens' parts read and write nothing of the others'.
LANES = (("care", "flood"), ("district_sms", "places"))
# The citizens' parts are due this long after the ingest, so that written beside the people in care, or before a
# care part retried later, they still leave after them: the care rows are due at the ingest itself.
CITIZENS_DUE_AFTER = timedelta(milliseconds=1)
# What the parts read of the alert's row; with each district's shelter params, the plan kept for them.
_PLAN_KEYS = ("msg_type", "hazard", "severity", "event", "texts", "districts")


class Shelter(NamedTuple):
    """A shelter's name and its distance in metres from where the person is."""

    name: str
    metres: float


class Told(NamedTuple):
    """What a part wrote: deliveries created, and safety checks opened."""

    deliveries: int = 0
    safety_checks: int = 0
    flood_checks: int = 0

    def __add__(self, other: object) -> Told:
        if not isinstance(other, Told):
            return NotImplemented
        return Told(*(a + b for a, b in zip(self, other, strict=True)))


async def queue_messages(
    conn: asyncpg.Connection,
    *,
    alert_id: int,
    row: Mapping[str, Any],
    replaced: Sequence[int],
    notifier: Notifier,
    now: datetime,
) -> Told:
    """Every message of one stored alert, all in the caller's transaction."""
    plan, parts, told = await start(conn, alert_id=alert_id, row=row, notifier=notifier, now=now)
    for part in parts:
        told += await tell_part(conn, part, alert_id=alert_id, plan=plan, replaced=replaced, notifier=notifier, now=now)
    return told


async def start(
    conn: asyncpg.Connection, *, alert_id: int, row: Mapping[str, Any], notifier: Notifier, now: datetime
) -> tuple[dict[str, Any], list[str], Told]:
    """The district and dong topics (25 pushes reach every app), and the plan and parts that tell the rest.

    The plan is plain JSON, so that it can be kept in the alert's transaction for parts written after it.
    """
    cancel = row["msg_type"] == "Cancel"
    districts: list[str] = row["districts"]
    near_office = await _nearest(conn, _hazard(row), [DISTRICT_CENTROIDS[d] for d in districts])
    plan: dict[str, Any] = {key: row[key] for key in _PLAN_KEYS}
    plan["whole_districts"] = list(row.get("whole_districts", districts))
    plan["whole_dongs"] = list(row.get("whole_dongs", []))
    plan["polygons"] = [[list(point) for point in ring] for ring in row.get("polygons", [])]
    plan["dongs"] = list(row.get("dongs", []))
    plan["per_district"] = {
        d: {**_words(plan), **_shelter_params(s, home=False)} for d, s in zip(districts, near_office, strict=True)
    }
    template = messages.ALL_CLEAR if cancel else messages.WARNING
    told = Told()
    for district in plan["whole_districts"]:
        topic = await notifier.to_district_topics(
            conn,
            districts=[district],
            template=template,
            params=plan["per_district"][district],
            now=now,
            dedupe_key=f"alert:{alert_id}:{district}:topic",
        )
        told += Told(topic.deliveries)
    if plan["whole_dongs"]:
        # Dongs wholly under a shape, in districts not told whole: a push to each dong's topic reaches every app
        # with a place there; the places part leaves those apps out and tells the rest.
        dong_topics = await notifier.to_dong_topics(
            conn,
            dongs=plan["whole_dongs"],
            template=template,
            params=_words(plan),
            district_params=plan["per_district"],
            now=now,
            dedupe_key=f"alert:{alert_id}:dongs:topic",
        )
        told += Told(dong_topics.deliveries)
    plan["expires"] = row["expires"].isoformat() if row.get("expires") else None
    parts = ["care"] + (["flood"] if cancel or flood.concerns(plan) else [])
    parts += (["district_sms"] if plan["whole_districts"] else []) + (["places"] if plan["polygons"] else [])
    return plan, parts, told


async def tell_part(
    conn: asyncpg.Connection,
    part: str,
    *,
    alert_id: int,
    plan: Mapping[str, Any],
    replaced: Sequence[int],
    notifier: Notifier,
    now: datetime,
) -> Told:
    """Write one part of the alert's messages (one of ``PARTS``) in the caller's transaction.

    Nobody is told twice: the places leave out the districts told as a whole, and a part written before (its
    dedupe keys taken) writes nothing again.
    """
    template = messages.ALL_CLEAR if plan["msg_type"] == "Cancel" else messages.WARNING
    whole: list[str] = plan["whole_districts"]
    if part == "care":
        return await _tell_care(
            conn,
            alert_id=alert_id,
            row=plan,
            replaced=replaced,
            words=_words(plan),
            hazard=_hazard(plan),
            notifier=notifier,
            now=now,
        )
    if part == "flood":
        return await _tell_flood(conn, alert_id=alert_id, plan=plan, replaced=replaced, notifier=notifier, now=now)
    if part == "district_sms":
        # One statement for the whole broadcast: each district's own shelter rides in its texts. Alerts never read
        # the citizens: notifications' fan-out does, server-side, in the INSERT … SELECT that writes the outbox.
        sms = await notifier.to_district_citizens(
            conn,
            districts=whole,
            template=template,
            params=_words(plan),
            district_params=plan["per_district"],
            now=now,
            dedupe_key=f"alert:{alert_id}:sms",
            to_devices=False,
            due=now + CITIZENS_DUE_AFTER,
        )
        return Told(sms.deliveries)
    if part == "places":
        at_places = await notifier.to_places(
            conn,
            polygons=[[(lat, lon) for lat, lon in ring] for ring in plan["polygons"]],
            dongs=plan["dongs"],
            except_districts=whole,
            template=template,
            params={**_words(plan), **_shelter_params(None, home=False)},
            district_params=plan["per_district"],
            now=now,
            dedupe_key=f"alert:{alert_id}:places",
            except_dong_topics=plan["whole_dongs"],
            due=now + CITIZENS_DUE_AFTER,
        )
        return Told(at_places.deliveries)
    raise ValueError(f"no part {part!r} of an alert's fan-out; parts are {', '.join(PARTS)}")


def _words(row: Mapping[str, Any]) -> dict[str, object]:
    return _alert_params(row["texts"], event=row["event"])


def _hazard(row: Mapping[str, Any]) -> Hazard | None:
    return None if row["msg_type"] == "Cancel" else SHELTER_HAZARD.get(HazardKind(row["hazard"]))


async def _tell_care(
    conn: asyncpg.Connection,
    *,
    alert_id: int,
    row: Mapping[str, Any],
    replaced: Sequence[int],
    words: dict[str, object],
    hazard: Hazard | None,
    notifier: Notifier,
    now: datetime,
) -> Told:
    """A personal message to everyone in care in the districts, asking "are you safe?" in a severe warning."""
    cancel = row["msg_type"] == "Cancel"
    people = await care.people_in(
        conn,
        districts=row.get("whole_districts", row["districts"]),
        polygons=row.get("polygons", ()),
        dongs=row.get("dongs", ()),
    )
    asked: set[int] = set()
    if cancel:
        await safety.stand_down(conn, alert_ids=replaced, now=now)
    elif row["severity"] in SEVERE:
        asked = await safety.open_checks(
            conn, alert_id=alert_id, recipient_ids=[p["recipient_id"] for p in people], replaced=replaced, now=now
        )
    near_home = await _nearest(conn, hazard, [_home(p) for p in people])
    items: list[Outgoing] = []
    for person, shelter in zip(people, near_home, strict=True):
        call = None
        if person["recipient_id"] in asked:
            headlines = {"headline_ko": str(words["headline_ko"]), "headline_en": str(words["headline_en"])}
            call = safety.first_call(person, alert_id=alert_id, **headlines)
        if cancel:
            chosen = messages.ALL_CLEAR
        else:
            # Someone whose plan calls is asked by the call; their text tells the warning and the shelter.
            chosen = messages.ARE_YOU_SAFE if person["recipient_id"] in asked and call is None else messages.PERSONAL
        params = {**words, **_shelter_params(shelter, home=person["home_lat"] is not None), "name": person["name"]}
        # Keyed under the person, as every care message is, so their case page finds it.
        key = f"care:{person['recipient_id']}:alert:{alert_id}"
        items.append(to_person(person, template=chosen, key=key, params=params))
        if call is not None:
            items.append(call)
    return Told(await notifier.enqueue_many(conn, items=items, now=now), len(asked))


async def _tell_flood(
    conn: asyncpg.Connection,
    *,
    alert_id: int,
    plan: Mapping[str, Any],
    replaced: Sequence[int],
    notifier: Notifier,
    now: datetime,
) -> Told:
    """Flood-risk households under a heavy-rain or flood alert, and their partners, asked (docs/flood.md); a lift
    closes the checks it ends. A part of its own, after the care part: someone in care already asked "are you
    safe?" for this alert is not asked again here (if the care part failed and waits for its retry, they may be
    asked by both, which errs towards asking)."""
    if plan["msg_type"] == "Cancel":
        await flood.stand_down(conn, alert_ids=replaced, now=now)
        return Told()
    words = _words(plan)
    done = await flood.dispatch(
        conn,
        alert_id=alert_id,
        districts=plan["whole_districts"],
        polygons=[[(lat, lon) for lat, lon in ring] for ring in plan["polygons"]],
        dongs=plan["dongs"],
        expires=datetime.fromisoformat(plan["expires"]) if plan.get("expires") else None,
        event_ko=str(words["headline_ko"]),
        event_en=str(words["headline_en"]),
        asked_in_care=await safety.asked(conn, alert_id=alert_id),
        notifier=notifier,
        now=now,
    )
    return Told(deliveries=done.deliveries, flood_checks=done.households)


def _alert_params(texts: Mapping[str, Any], *, event: str) -> dict[str, object]:
    """The alert's own words for the templates, clipped so that every message fits an SMS."""
    words: dict[str, object] = {}
    for lang in ("ko", "en"):
        text = texts.get(lang) or texts.get("en" if lang == "ko" else "ko") or {"headline": event}
        words[f"headline_{lang}"] = clip(text.get("headline") or event, HEADLINE_CHARS)
        # What to do, else what is happening: a message body is never empty, even for a bare CAP alert.
        what = text.get("instruction") or text.get("description") or text.get("headline") or event
        instruction = clip(what, INSTRUCTION_CHARS)
        words[f"instruction_{lang}"] = instruction
        words[f"event_{lang}"] = clip(event, 30)
    return words


def _shelter_params(shelter: Shelter | None, *, home: bool) -> dict[str, str]:
    if shelter is None:
        return {"shelter_ko": "", "shelter_en": ""}
    name, latin = _shelter_names(shelter.name)
    metres = shelter.metres
    distance = f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km"
    if home:
        return {
            "shelter_ko": f" 댁에서 가까운 대피소: {name} ({distance})",
            "shelter_en": f" Shelter near your home: {latin} ({name}, {distance})",
        }
    # Found from the district office, not from the person: said so, and no distance that would be theirs.
    return {
        "shelter_ko": f" 구청 기준 가까운 대피소: {name}",
        "shelter_en": f" Near the district office: {latin} ({name})",
    }


@lru_cache(maxsize=4096)
def _shelter_names(name: str) -> tuple[str, str]:
    """The shelter's name as the texts give it, and in Latin letters: the same few hundred for 50,000 people."""
    # In English the name in Latin letters, with the Hangul that signs carry beside it.
    return clip(name, SHELTER_NAME_CHARS), clip(romanise(name), SHELTER_NAME_CHARS)


def _home(person: Mapping[str, Any]) -> tuple[float, float]:
    if person["home_lat"] is not None:
        return person["home_lat"], person["home_lon"]
    return DISTRICT_CENTROIDS[person["district"]]


async def _nearest(
    conn: asyncpg.Connection, hazard: Hazard | None, points: Sequence[tuple[float, float]]
) -> list[Shelter | None]:
    """The nearest suitable shelter to each point, in one query for all of them."""
    if hazard is None or not points:
        return [None] * len(points)
    found = await nearest_for_points(conn, hazard=hazard, lats=[p[0] for p in points], lons=[p[1] for p in points])
    names = await shelter_names(conn, shelter_ids=[i for i in found.shelter_ids if i is not None])
    return [
        None if i is None or d is None else Shelter(names[i], d)
        for i, d in zip(found.shelter_ids, found.distances_m, strict=True)
    ]
