"""Alerts from every source, one model: stored once, replaced through references, told to the people in them.

An alert that is Actual and Public, in force and over some part of Seoul, is stored with its topic pushes in one
transaction, and the rest of its fan-out (the people in care, the districts' SMS, the places) follows, a part
per transaction, from what that transaction kept in ``alert_fanouts``: a part that fails (a statement timeout
under load) rolls back alone and is retried by the worker, and the people of the other parts are still told.
Anything else is answered with what was done with it and why, and nothing is half-written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
import structlog

from api.alerts import fanout, fanouts_repository, repository
from api.alerts.areas import cover
from api.alerts.cap import CapAlert, CapArea, CapInfo, MsgType, Severity, is_public_actual
from api.alerts.kinds import classify
from api.alerts.reach import reach
from api.alerts.schemas import AlertArea, AlertRead, AlertSource, AlertText, Ingested, Outcome, SafeRead
from api.platform.errors import NotFound, Unprocessable
from care import service as care_service
from care.safety import service as safety
from notifications.service import Notifier

log = structlog.get_logger(__name__)

LANGUAGES = ("ko", "en")


class AlertRefused(Unprocessable):
    """An alert we will not store: expired, or a Cancel of nothing we know."""


async def ingest(
    conn: asyncpg.Connection,
    cap: CapAlert,
    *,
    source: AlertSource | str,
    notifier: Notifier,
    now: datetime,
    renewal: bool = False,
    defer_parts: bool = False,
    pool: asyncpg.Pool | None = None,
) -> Ingested:
    """Store a parsed CAP alert once and tell the people in its districts; see the module docstring.

    On a connection outside any transaction, the alert and its topics commit first, then each part of the rest
    in its own transaction (two lanes of them side by side given a ``pool``: ``finish_fanout``). Inside a caller's
    transaction everything is written in it, unless ``defer_parts``:
    then the parts are kept for after the caller commits (``finish_fanout``, or the worker's
    ``alerts.finish-fanouts``).

    ``renewal`` marks an Update that only moves on the expiry of alerts still in force (a sensor's rule still
    tripped): it is stored, replaces them and is exported, and tells nobody again, since nothing is new. An Update
    marked so whose alerts have lapsed is told as any other.
    """
    source = AlertSource(source)
    own = not conn.is_in_transaction()
    if cap.msg_type in (MsgType.ack, MsgType.error):
        return _ignored(cap, f"msgType {cap.msg_type} is between alerting systems; it has nothing for people")
    if not is_public_actual(cap):
        return _ignored(cap, f"status {cap.status}, scope {cap.scope}: only Actual, Public alerts reach people")
    if not cap.infos and cap.msg_type is not MsgType.cancel:
        return _ignored(cap, "it has no <info> block: no event, no words for people")
    expires = _expires(cap.infos)
    if cap.msg_type is not MsgType.cancel and expires is not None and expires <= now:
        raise AlertRefused(f"The alert expired at {expires.isoformat()}; nothing was stored.", code="alert_expired")
    areas = [_area(a) for info in cap.infos for a in info.areas]
    districts = sorted({d for a in areas for d in a.districts})
    async with conn.transaction():
        referenced = await repository.lock_referenced(conn, [(r.sender, r.identifier) for r in cap.references])
        if cap.msg_type is not MsgType.alert and not referenced and cap.references:
            known = "; ".join(f"{r.sender},{r.identifier}" for r in cap.references)
            if cap.msg_type is MsgType.cancel:
                raise AlertRefused(f"The Cancel refers to no alert stored here ({known}).", code="alert_unknown")
            # An Update of something we missed is still news: it is told as a new alert.
            log.info("update of unknown alerts taken as new", identifier=cap.identifier, references=known)
        who = reach(areas)
        if not districts:
            # A Cancel (or an Update without areas) reaches the people the alerts it replaces reached.
            districts = sorted({d for r in referenced for d in r["districts"]})
            who = reach([msgspec.convert(a, AlertArea, strict=False) for r in referenced for a in r["areas"]])
        if not districts:
            return _ignored(cap, "its areas cover no district of Seoul")
        row = _row(cap, source=source, areas=areas, districts=districts, expires=expires, now=now) | who
        alert_id = await repository.insert_alert(conn, row)
        if alert_id is None:
            existing = await repository.find_by_identity(conn, sender=cap.sender, identifier=cap.identifier)
            return Ingested(outcome=Outcome.duplicate, alert_id=existing, reason="already received")
        replaced = await repository.replace(conn, ids=[r["id"] for r in referenced], by=alert_id, now=now)
        # What this one replaces, and what those replaced before: a Cancel at the end of a chain of Updates stands
        # down the safety checks of the first alert, and an Update asks nobody already asked about any of them.
        lineage = await repository.lineage(conn, replaced)
        quiet = (
            renewal
            and cap.msg_type is MsgType.update
            and bool(referenced)
            and all(_in_force(r, now) for r in referenced)
        )
        if quiet:
            told = fanout.Told()
        elif own or defer_parts:
            plan, parts, told = await fanout.start(conn, alert_id=alert_id, row=row, notifier=notifier, now=now)
            await fanouts_repository.keep(conn, alert_id=alert_id, plan=plan, replaced=lineage, parts=parts, now=now)
        else:
            told = await fanout.queue_messages(
                conn, alert_id=alert_id, row=row, replaced=lineage, notifier=notifier, now=now
            )
    if own and not quiet:
        told += await finish_fanout(conn, alert_id=alert_id, notifier=notifier, pool=pool)
    log.info(
        "alert ingested",
        alert_id=alert_id,
        identifier=cap.identifier,
        source=source,
        replaced=replaced,
        **told._asdict(),
    )
    return Ingested(
        outcome=Outcome.created,
        alert_id=alert_id,
        replaced=replaced,
        deliveries=told.deliveries,
        safety_checks=told.safety_checks,
        flood_checks=told.flood_checks,
    )


async def finish_fanout(
    conn: asyncpg.Connection, *, alert_id: int, notifier: Notifier, pool: asyncpg.Pool | None = None
) -> fanout.Told:
    """Write the parts of an alert's fan-out still to write, each in its own transaction.

    With a ``pool``, the two lanes of parts (``fanout.LANES``: the people in care, and the citizens) are written
    side by side, the second on a connection of its own from the pool; without one, or when the pool has none to
    spare at once, one lane after the other on ``conn``. A part that fails rolls back alone: it is counted on its
    row, with the error, for the worker to retry, and the next part is written all the same. A part another
    process is writing is left to it.
    """
    first, second = fanout.LANES
    if pool is None:
        return await _write_parts(conn, first + second, alert_id=alert_id, notifier=notifier)
    told, beside = await asyncio.gather(
        _write_parts(conn, first, alert_id=alert_id, notifier=notifier),
        _write_parts_beside(pool, second, alert_id=alert_id, notifier=notifier),
    )
    if beside is None:
        beside = await _write_parts(conn, second, alert_id=alert_id, notifier=notifier)
    return told + beside


# How long a lane waits for a connection of its own before it is written after the other, on the same one.
LANE_ACQUIRE_S = 0.5


async def _write_parts_beside(
    pool: asyncpg.Pool, parts: Sequence[str], *, alert_id: int, notifier: Notifier
) -> fanout.Told | None:
    """``parts`` on a connection of their own; None, with nothing written, when the pool has none to give."""
    try:
        conn = await pool.acquire(timeout=LANE_ACQUIRE_S)
    except (TimeoutError, OSError, asyncpg.PostgresError) as e:
        log.warning("no connection to spare for a fan-out lane; written after the other", error=repr(e))
        return None
    try:
        return await _write_parts(conn, parts, alert_id=alert_id, notifier=notifier)
    finally:
        await pool.release(conn)


async def _write_parts(
    conn: asyncpg.Connection, parts: Sequence[str], *, alert_id: int, notifier: Notifier
) -> fanout.Told:
    told = fanout.Told()
    for part in parts:
        try:
            async with conn.transaction():
                kept = await fanouts_repository.take(conn, alert_id, part)
                if kept is None:
                    continue  # being written by another process, or the whole fan-out is done
                if part not in kept["parts"]:
                    continue
                told += await fanout.tell_part(
                    conn,
                    part,
                    alert_id=alert_id,
                    plan=kept["plan"],
                    replaced=kept["replaced"],
                    notifier=notifier,
                    now=kept["ingested_at"],
                )
                await fanouts_repository.written(conn, alert_id=alert_id, part=part)
        except Exception as e:  # whatever failed, the next part must still be told
            log.exception("alert fan-out part failed; kept for a retry", alert_id=alert_id, part=part)
            await _count_failure(conn, alert_id=alert_id, part=part, error=f"{type(e).__name__}: {e}")
    return told


async def finish_pending(
    conn: asyncpg.Connection, *, notifier: Notifier, limit: int = 100, pool: asyncpg.Pool | None = None
) -> dict[str, int]:
    """The worker's retry: every alert whose fan-out still has parts to write (a part failed, or its process died)."""
    alert_ids = await fanouts_repository.pending(conn, limit=limit)
    told = fanout.Told()
    for alert_id in alert_ids:
        told += await finish_fanout(conn, alert_id=alert_id, notifier=notifier, pool=pool)
    left = len(await fanouts_repository.pending(conn, limit=limit))
    return {"alerts": len(alert_ids), **told._asdict(), "left": left}


async def has_pending(conn: asyncpg.Connection) -> bool:
    return bool(await fanouts_repository.pending(conn, limit=1))


async def _count_failure(conn: asyncpg.Connection, *, alert_id: int, part: str, error: str) -> None:
    try:
        async with conn.transaction():
            await fanouts_repository.failed(conn, alert_id=alert_id, part=part, error=error, at=datetime.now(UTC))
    except Exception:  # the count is for the operator; the part stays either way
        log.exception("could not record the failed fan-out part", alert_id=alert_id, part=part)


async def list_alerts(
    conn: asyncpg.Connection,
    *,
    now: datetime,
    district: str | None,
    in_force: bool | None,
    before_id: int | None,
    limit: int,
) -> list[AlertRead]:
    """Public, actual alerts, newest first (only public ones are ever stored; the filter says so twice)."""
    rows = await repository.list_alerts(
        conn, now=now, district=district, in_force=in_force, public_only=True, before_id=before_id, limit=limit
    )
    return [_read(r, now=now) for r in rows]


async def get_alert(conn: asyncpg.Connection, *, alert_id: int, now: datetime) -> AlertRead:
    row = await repository.get_alert(conn, alert_id)
    if row is None:
        raise NotFound(f"There is no alert {alert_id}.", code="alert_not_found")
    return _read(row, now=now)


async def get_cap(conn: asyncpg.Connection, *, alert_id: int) -> CapAlert:
    """The alert as a CAP message, as it came in (a KMA warning, as it was turned into CAP)."""
    stored = await repository.get_cap(conn, alert_id)
    if stored is None:
        raise NotFound(f"There is no alert {alert_id}.", code="alert_not_found")
    return msgspec.convert(stored, CapAlert, strict=False)


async def mark_safe(
    conn: asyncpg.Connection, *, alert_id: int, citizen_id: int, notifier: Notifier, now: datetime
) -> SafeRead:
    """A citizen says "I'm safe": kept for the alert, and for someone in care, their safety check is answered."""
    async with conn.transaction():
        if await repository.get_alert(conn, alert_id) is None:
            raise NotFound(f"There is no alert {alert_id}.", code="alert_not_found")
        await repository.record_safe(conn, alert_id=alert_id, citizen_id=citizen_id, now=now)
        recipient_id = await care_service.enrolled_citizen(conn, citizen_id=citizen_id)
        was_asked = False
        if recipient_id is not None:
            was_asked = await safety.was_asked(conn, alert_id=alert_id, recipient_id=recipient_id)
            # A sign of life like any other: it answers this and every other open check, and the check-in.
            await care_service.check_in(
                conn, notifier=notifier, recipient_id=recipient_id, channel="app", kind="checkin", at=now
            )
    return SafeRead(alert_id=alert_id, safe_at=now, was_asked=was_asked)


def _in_force(row: asyncpg.Record, now: datetime) -> bool:
    return row["msg_type"] != "Cancel" and (row["expires"] is None or row["expires"] > now)


def _ignored(cap: CapAlert, reason: str) -> Ingested:
    log.info("alert ignored", identifier=cap.identifier, sender=cap.sender, reason=reason)
    return Ingested(outcome=Outcome.ignored, reason=reason)


def _expires(infos: list[CapInfo]) -> datetime | None:
    """The latest expiry of the info blocks; None when any of them runs without one."""
    times = [i.expires for i in infos]
    return None if not times or any(t is None for t in times) else max(t for t in times if t is not None)


def _area(area: CapArea) -> AlertArea:
    c = cover(area)
    rings = [[(round(lat, 6), round(lon, 6)) for lon, lat in p.exterior.coords] for p in c.polygons]
    return AlertArea(
        description=area.area_desc,
        districts=sorted(c.districts),
        method=c.method,
        shares=c.shares,
        dongs=c.dongs,
        polygons=rings,
    )


def _texts(infos: list[CapInfo]) -> dict[str, AlertText]:
    """Headline, description and instruction in Korean and English, each falling back on the other language."""
    by_lang: dict[str, CapInfo] = {}
    for info in infos:
        lang = info.language.lower()[:2]
        by_lang.setdefault(lang if lang in LANGUAGES else "other", info)
    texts = {}
    for lang in LANGUAGES:
        chosen = by_lang.get(lang) or by_lang.get("en") or by_lang.get("ko") or by_lang.get("other")
        if chosen is not None:
            texts[lang] = AlertText(
                headline=chosen.headline or chosen.event,
                description=chosen.description,
                instruction=chosen.instruction,
            )
    return texts


def _row(
    cap: CapAlert,
    *,
    source: AlertSource,
    areas: list[AlertArea],
    districts: list[str],
    expires: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    main = _main_info(cap.infos)
    return {
        "source": source.value,
        "sender": cap.sender,
        "identifier": cap.identifier,
        "sent": cap.sent,
        "status": cap.status.value,
        "msg_type": cap.msg_type.value,
        "scope": cap.scope.value,
        "event": main.event if main else "Cancel",
        "hazard": classify(main).value if main else "other",
        "urgency": main.urgency.value if main else "Unknown",
        "severity": main.severity.value if main else "Unknown",
        "certainty": main.certainty.value if main else "Unknown",
        "onset": min((i.onset for i in cap.infos if i.onset), default=None),
        "expires": expires,
        "texts": msgspec.to_builtins(_texts(cap.infos)),
        "areas": msgspec.to_builtins(areas),
        "districts": districts,
        "incidents": list(cap.incidents),
        "cap": msgspec.to_builtins(cap),
        "received_at": now,
    }


_SEVERITY_ORDER = [Severity.extreme, Severity.severe, Severity.moderate, Severity.minor, Severity.unknown]


def _main_info(infos: list[CapInfo]) -> CapInfo | None:
    """The info block that speaks for the alert: the most severe, Korean first among equals."""
    if not infos:
        return None
    return min(infos, key=lambda i: (_SEVERITY_ORDER.index(i.severity), not i.language.lower().startswith("ko")))


def _read(row: asyncpg.Record, *, now: datetime) -> AlertRead:
    fields = dict(row)
    for name in ("incidents", "replaced_at", "scope"):
        fields.pop(name, None)
    in_force = (
        row["replaced_by"] is None and row["msg_type"] != "Cancel" and (row["expires"] is None or row["expires"] > now)
    )
    return msgspec.convert({**fields, "in_force": in_force}, AlertRead, strict=False)
