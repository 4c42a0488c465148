"""Telling the people under an alert: for the districts it tells as a whole, a push per district topic and SMS
to the citizens without the app; for the dongs wholly under its shapes, a push per dong topic; for its shapes, a
push or SMS to every citizen with a place inside not told by a topic; and a personal message to everyone in care
in any of them, each with the nearest suitable shelter.

All of it is written to the outbox in the ingest's transaction, under keys made of the alert's id, so an
alert is told exactly once however often it is received.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
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


class Shelter(NamedTuple):
    """A shelter's name and its distance in metres from where the person is."""

    name: str
    metres: float


async def queue_messages(
    conn: asyncpg.Connection,
    *,
    alert_id: int,
    row: Mapping[str, Any],
    replaced: Sequence[int],
    notifier: Notifier,
    now: datetime,
) -> dict[str, int]:
    """Write every message of one stored alert to the outbox; counts of deliveries and safety checks opened.

    Rows of one channel and priority leave in the order they are written, so the order here is the order
    of sending: the district and dong topics (25 pushes reach every app), then the people in care, who should not
    wait behind a district's broadcast SMS, then that broadcast to the citizens without the app, then the
    citizens told by their places. Nobody is told twice: the places leave out the districts told as a whole.
    """
    cancel = row["msg_type"] == "Cancel"
    shelter_hazard = None if cancel else SHELTER_HAZARD.get(HazardKind(row["hazard"]))
    words = _alert_params(row["texts"], event=row["event"])
    template = messages.ALL_CLEAR if cancel else messages.WARNING
    districts: list[str] = row["districts"]
    whole: list[str] = row.get("whole_districts", districts)
    near_office = await _nearest(conn, shelter_hazard, [DISTRICT_CENTROIDS[d] for d in districts])
    per_district = {d: {**words, **_shelter_params(s, home=False)} for d, s in zip(districts, near_office, strict=True)}
    deliveries = 0
    for district in whole:
        params = per_district[district]
        topic = await notifier.to_district_topics(
            conn,
            districts=[district],
            template=template,
            params=params,
            now=now,
            dedupe_key=f"alert:{alert_id}:{district}:topic",
        )
        deliveries += topic.deliveries
    whole_dongs: list[str] = row.get("whole_dongs", [])
    if whole_dongs:
        # Dongs wholly under a shape, in districts not told whole: a push to each dong's topic reaches every app
        # with a place there; the places below leave those apps out and tell the rest.
        dong_topics = await notifier.to_dong_topics(
            conn,
            dongs=whole_dongs,
            template=template,
            params=words,
            district_params=per_district,
            now=now,
            dedupe_key=f"alert:{alert_id}:dongs:topic",
        )
        deliveries += dong_topics.deliveries
    asked, to_care = await _tell_care(
        conn,
        alert_id=alert_id,
        row=row,
        replaced=replaced,
        words=words,
        hazard=shelter_hazard,
        notifier=notifier,
        now=now,
    )
    deliveries += to_care
    flood_checks, to_flood = await _tell_flood(
        conn, alert_id=alert_id, row=row, replaced=replaced, words=words, asked=asked, notifier=notifier, now=now
    )
    deliveries += to_flood
    # One statement for the whole broadcast: each district's own shelter rides in its texts. Alerts never read
    # the citizens: notifications' fan-out does, server-side, in the INSERT … SELECT that writes the outbox.
    if whole:
        sms = await notifier.to_district_citizens(
            conn,
            districts=whole,
            template=template,
            params=words,
            district_params=per_district,
            now=now,
            dedupe_key=f"alert:{alert_id}:sms",
            to_devices=False,
        )
        deliveries += sms.deliveries
    if row.get("polygons"):
        at_places = await notifier.to_places(
            conn,
            polygons=row["polygons"],
            dongs=row["dongs"],
            except_districts=whole,
            template=template,
            params={**words, **_shelter_params(None, home=False)},
            district_params=per_district,
            now=now,
            dedupe_key=f"alert:{alert_id}:places",
            except_dong_topics=whole_dongs,
        )
        deliveries += at_places.deliveries
    return {"deliveries": deliveries, "safety_checks": len(asked), "flood_checks": flood_checks}


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
) -> tuple[set[int], int]:
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
    return asked, await notifier.enqueue_many(conn, items=items, now=now)


async def _tell_flood(
    conn: asyncpg.Connection,
    *,
    alert_id: int,
    row: Mapping[str, Any],
    replaced: Sequence[int],
    words: dict[str, object],
    asked: set[int],
    notifier: Notifier,
    now: datetime,
) -> tuple[int, int]:
    """Flood-risk households under a heavy-rain or flood alert, and their partners, asked (docs/flood.md); a lift
    closes the checks it ends. The checks opened and their deliveries."""
    if row["msg_type"] == "Cancel":
        await flood.stand_down(conn, alert_ids=replaced, now=now)
        return 0, 0
    if not flood.concerns(row):
        return 0, 0
    done = await flood.dispatch(
        conn,
        alert_id=alert_id,
        districts=row.get("whole_districts", row["districts"]),
        polygons=row.get("polygons", ()),
        dongs=row.get("dongs", ()),
        expires=row["expires"],
        event_ko=str(words["headline_ko"]),
        event_en=str(words["headline_en"]),
        asked_in_care=asked,
        notifier=notifier,
        now=now,
    )
    return done.households, done.deliveries


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
    name, metres = clip(shelter.name, SHELTER_NAME_CHARS), shelter.metres
    # In English the name in Latin letters, with the Hangul that signs carry beside it.
    latin = clip(romanise(shelter.name), SHELTER_NAME_CHARS)
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
