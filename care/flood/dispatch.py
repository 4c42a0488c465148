"""A heavy-rain or flood alert over flood-risk homes: each household asked "are you safe?" and each of its
동행파트너 asked to go and confirm, in the alert ingest's transaction, as outbox rows.

One statement opens the checks of every consenting household under the alert (thousands in a city-wide warning)
with an ask per partner; the messages go in one ``enqueue_many``. A household whose check is still open from an
earlier alert of the same storm is not asked again: its check now follows this alert too. A lift (Cancel) closes
the checks it ends; the silence and need-help escalations are ``care.flood.escalation``'s.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import asyncpg
import structlog

from api.platform.geo import PRECISE_SCALE, polygon_literal
from api.platform.phones import can_receive_sms
from care.flood import checks_repository as repository
from care.flood import messages
from notifications.service import Notifier, Outgoing

log = structlog.get_logger(__name__)

# The hazards whose alerts start the checks: KMA's 호우주의보 and 호우경보 (heavy_rain), a flood sensor's alert
# or any flood warning (flood), and a typhoon, which brings Seoul its heaviest rain.
FLOOD_HAZARDS = frozenset({"heavy_rain", "flood", "typhoon"})
# An advisory (Moderate) is enough: 반지하 homes flood before a warning is due. A Minor statement is not.
SEVERITIES = frozenset({"Extreme", "Severe", "Moderate"})
# Nobody answering within this long is told to the district's duty worker (docs/flood.md).
SILENT_AFTER = timedelta(minutes=30)
# A check stays open for the alert's life, and at most this long after its last alert: a warning without an
# expiry, never lifted, must not keep the next storm's questions from being asked.
OPEN_AT_MOST = timedelta(hours=24)
ADDRESS_CHARS = 40


class Dispatched(NamedTuple):
    households: int  # checks opened
    partners: int  # partner asks made
    kept: int  # open checks that now follow this alert, not asked again
    deliveries: int  # outbox rows


def concerns(row: dict[str, Any] | Any) -> bool:
    """Whether a stored alert starts flood checks: a heavy-rain, flood or typhoon alert, advisory or above."""
    return row["hazard"] in FLOOD_HAZARDS and row["severity"] in SEVERITIES and row["msg_type"] != "Cancel"


async def dispatch(
    conn: asyncpg.Connection,
    *,
    alert_id: int,
    districts: Sequence[str],
    polygons: Sequence[Sequence[tuple[float, float]]],
    dongs: Sequence[str],
    expires: datetime | None,
    event_ko: str,
    event_en: str,
    asked_in_care: Collection[int] = (),
    notifier: Notifier,
    now: datetime,
) -> Dispatched:
    """Open the checks of the households under the alert and queue their messages, in the caller's transaction.

    ``districts`` are those the alert tells as a whole, ``polygons`` its shapes ((lat, lon) rings) and ``dongs``
    those they overlap, as the fan-out reads them. Someone in care already asked "are you safe?" for this alert
    (``asked_in_care``, recipient ids) gets no second question from here; their partners are asked all the same.
    """
    await repository.close_expired(conn, now=now)
    until = min(expires, now + OPEN_AT_MOST) if expires is not None else now + OPEN_AT_MOST
    rows, kept = await repository.open_checks(
        conn,
        alert_id=alert_id,
        districts=districts,
        polygons=[polygon_literal(ring) for ring in polygons],
        precise=[polygon_literal(ring, scale=PRECISE_SCALE) for ring in polygons],
        dongs=dongs,
        open_until=max(until, now + SILENT_AFTER),
        silent_due=now + SILENT_AFTER,
        now=now,
    )
    items = _messages(rows, event_ko=event_ko, event_en=event_en, asked_in_care=set(asked_in_care))
    deliveries = await notifier.enqueue_many(conn, items=items, now=now) if items else 0
    asks = rows[0]["asks"] if rows else 0
    log.info("flood checks opened", alert_id=alert_id, households=len(rows), partners=asks, kept=kept)
    return Dispatched(households=len(rows), partners=asks, kept=kept, deliveries=deliveries)


def _messages(
    rows: Sequence[asyncpg.Record], *, event_ko: str, event_en: str, asked_in_care: set[int]
) -> list[Outgoing]:
    items: list[Outgoing] = []
    for r in rows:
        words: dict[str, object] = {"event_ko": event_ko, "event_en": event_en}
        if r["recipient_id"] not in asked_in_care:
            # The household consented to these questions when it was registered: an SMS STOP sent for other
            # messages does not silence them (withdrawing consent does, docs/flood.md).
            # A mobile gets the question by text; a home phone no text reaches (a landline) is called, with the
            # check-in call's menu (1 safe, 2 help), its answer read by care.flood.voice.
            for i, phone in enumerate(r["phones"]):
                texted = can_receive_sms(phone)
                items.append(
                    Outgoing(
                        dedupe_key=household_key(r["check_id"], i),
                        template=messages.HOUSEHOLD_ASK if texted else messages.HOUSEHOLD_CALL,
                        params={**words, "name": r["name"]},
                        language=r["language"],
                        phone=phone,
                        call=None if texted else "checkin",
                        overrides_opt_out=True,
                    )
                )
        params = {**words, "household": r["name"], "address": r["address"][:ADDRESS_CHARS], "code": r["household_id"]}
        items += [
            Outgoing(
                dedupe_key=partner_key(r["check_id"], partner_id),
                template=messages.PARTNER_ASK,
                params=params,
                language=language,
                phone=phone,
            )
            for partner_id, phone, language in zip(
                r["partner_ids"], r["partner_phones"], r["partner_languages"], strict=True
            )
        ]
    return items


def household_key(check_id: int, index: int) -> str:
    return f"flood:{check_id}:household:{index}"


def partner_key(check_id: int, partner_id: int) -> str:
    return f"flood:{check_id}:partner:{partner_id}"


async def stand_down(conn: asyncpg.Connection, *, alert_ids: Sequence[int], now: datetime) -> int:
    """A warning was lifted: the checks it last covered close; how many."""
    if not alert_ids:
        return 0
    closed = await repository.stand_down(conn, alert_ids=alert_ids, now=now)
    log.info("flood checks stood down", alert_ids=list(alert_ids), closed=closed)
    return closed
