"""Enqueueing messages: in the caller's transaction, rendered and checked now, deduplicated by key.

A message exists if and only if the change that caused it committed: every function here must be called
inside the caller's transaction, and the dispatcher picks the rows up by id after commit.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg
import msgspec
import structlog

from api.platform.districts import DISTRICTS
from api.platform.geo import PRECISE_SCALE, polygon_literal
from api.platform.phones import normalise_phone
from api.platform.settings import NotifySettings
from notifications import korean_text, recipients_repository, repository, templates
from notifications.repository import OutboxRow
from notifications.schemas import Enqueued, Priority
from notifications.sms_text import split_sms

log = structlog.get_logger(__name__)


class Outgoing(msgspec.Struct, frozen=True, kw_only=True):
    """One message to one person: to a citizen's devices (push), to a phone (SMS, E.164), or both."""

    dedupe_key: str | None
    template: str
    params: dict[str, object]
    language: str = "ko"
    phone: str | None = None
    citizen_id: int | None = None
    priority: Priority | None = None
    critical: bool = False
    overrides_opt_out: bool = False
    # A phone call to ``phone`` instead of a text: "checkin" asks the check-in menu, "message" says the text.
    call: Literal["checkin", "message"] | None = None


class NotificationError(ValueError):
    """A message that cannot be enqueued: unknown recipient, malformed number, unknown template or variable."""


def district_topic(district: str) -> str:
    return f"district-{district}"


def dong_topic(dong: str) -> str:
    return f"dong-{dong}"


async def opt_out(conn: asyncpg.Connection, *, phone: str, keyword: str, now: datetime, source: str = "sms") -> bool:
    """Opt a number (E.164) out of SMS as a STOP texted to us does; False when it had opted out already.

    Only messages that override an opt-out (critical care ones, replies to a text just received) still go to it.
    """
    return await recipients_repository.opt_out(conn, phone=phone, keyword=keyword, source=source, now=now)


class Notifier:
    """Turns "tell this person this" into outbox rows; reachable from requests, jobs and the CLI alike."""

    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings

    async def to_citizen(
        self,
        conn: asyncpg.Connection,
        *,
        citizen_id: int,
        template: str,
        params: Mapping[str, object],
        now: datetime,
        priority: Priority | None = None,
        critical: bool = False,
        overrides_opt_out: bool = False,
        dedupe_key: str | None = None,
    ) -> Enqueued:
        """Push to each of the citizen's devices, or SMS when they have none.

        A critical message to someone with both also goes by SMS unless a push is acknowledged within
        ``NOTIFY_PUSH_FALLBACK`` seconds: FCM alone may not carry what must arrive.
        """
        _in_transaction(conn)
        contact = await recipients_repository.citizen_contact(conn, citizen_id)
        if contact is None:
            raise NotificationError(f"there is no citizen {citizen_id} to send {template!r} to")
        item = Outgoing(
            dedupe_key=dedupe_key,
            template=template,
            params=dict(params),
            language=contact["language"],
            phone=contact["phone"],
            citizen_id=citizen_id,
            priority=priority,
            critical=critical,
            overrides_opt_out=overrides_opt_out,
        )
        devices = list(zip(contact["device_ids"], contact["tokens"], strict=True))
        return await self._enqueue_one(conn, item, devices=devices, now=now)

    async def to_phone(
        self,
        conn: asyncpg.Connection,
        *,
        phone: str,
        language: str,
        template: str,
        params: Mapping[str, object],
        now: datetime,
        priority: Priority | None = None,
        critical: bool = False,
        overrides_opt_out: bool = False,
        dedupe_key: str | None = None,
    ) -> Enqueued:
        """An SMS to a number that may belong to no citizen (a guardian, a reply to an inbound SMS)."""
        _in_transaction(conn)
        try:
            e164 = normalise_phone(phone)
        except ValueError as exc:
            raise NotificationError(f"cannot send {template!r} to {phone!r}: {exc}") from None
        item = Outgoing(
            dedupe_key=dedupe_key,
            template=template,
            params=dict(params),
            language=language,
            phone=e164,
            priority=priority,
            critical=critical,
            overrides_opt_out=overrides_opt_out,
        )
        return await self._enqueue_one(conn, item, devices=[], now=now)

    async def _enqueue_one(
        self, conn: asyncpg.Connection, item: Outgoing, *, devices: list[tuple[int, str]], now: datetime
    ) -> Enqueued:
        text = _render(item.template, item.language, item.params)
        notice_id = await repository.insert_notice(conn, dedupe_key=item.dedupe_key, template=item.template, now=now)
        if notice_id is None:
            return await self._existing(conn, item.dedupe_key)
        blocked = item.phone is not None and item.phone in await recipients_repository.opted_out(conn, [item.phone])
        rows = self._rows(item, text, notice_id=notice_id, devices=devices, blocked=blocked, now=now)
        await repository.insert_rows(conn, rows=rows, now=now)
        return Enqueued(notice_id=notice_id, created=True, deliveries=len(rows))

    async def to_district_topics(
        self,
        conn: asyncpg.Connection,
        *,
        districts: Sequence[str],
        template: str,
        params: Mapping[str, object],
        now: datetime,
        priority: Priority | None = None,
        dedupe_key: str | None = None,
    ) -> Enqueued:
        """One push per district topic: every app in the district hears it, whatever the count of devices.

        The notification is in Korean; the English texts ride in the data (``title_en``, ``body_en``) for
        apps set to English.
        """
        _check_districts(districts)
        topics = {district_topic(d): params for d in sorted(set(districts))}
        return await self._to_topics(conn, topics, template, now=now, priority=priority, dedupe_key=dedupe_key)

    async def to_dong_topics(
        self,
        conn: asyncpg.Connection,
        *,
        dongs: Sequence[str],
        template: str,
        params: Mapping[str, object],
        now: datetime,
        dedupe_key: str,
        district_params: Mapping[str, Mapping[str, object]] | None = None,
    ) -> Enqueued:
        """One push per dong topic (``dong-<code>``: every app with a place in the dong is subscribed), all under
        one notice, so that a phone with places in two of the dongs shows it once (the notice is its collapse id).
        Each dong takes its district's ``district_params``."""
        unknown = sorted(d for d in dongs if d[:5] not in DISTRICTS or not d.isdigit() or len(d) != 8)
        if not dongs or unknown:
            raise NotificationError(f"not Seoul dong codes: {unknown or 'none given'}")
        topics = {dong_topic(d): {**params, **(district_params or {}).get(d[:5], {})} for d in sorted(set(dongs))}
        return await self._to_topics(conn, topics, template, now=now, priority=None, dedupe_key=dedupe_key)

    async def _to_topics(
        self,
        conn: asyncpg.Connection,
        topics: Mapping[str, Mapping[str, object]],
        template: str,
        *,
        now: datetime,
        priority: Priority | None,
        dedupe_key: str | None,
    ) -> Enqueued:
        """One push per topic under one notice, each with its own texts."""
        _in_transaction(conn)
        rendered = {t: (_render(template, "ko", p), _render(template, "en", p)) for t, p in topics.items()}
        notice_id = await repository.insert_notice(conn, dedupe_key=dedupe_key, template=template, now=now)
        if notice_id is None:
            return await self._existing(conn, dedupe_key)
        shared = self._shared(notice_id, template, priority, critical=False, overrides_opt_out=False)
        rows = [
            OutboxRow(
                channel="push",
                recipient=topic,
                topic=True,
                citizen_id=None,
                device_id=None,
                language="ko",
                title=ko.title,
                body=ko.body,
                data={
                    "notice_id": str(notice_id),
                    "template": template,
                    "title_en": en.title or "",
                    "body_en": en.body,
                },
                fallback=False,
                state="pending",
                next_attempt_at=now,
                last_error=None,
                **shared,
            )
            for topic, (ko, en) in rendered.items()
        ]
        await repository.insert_rows(conn, rows=rows, now=now)
        return Enqueued(notice_id=notice_id, created=True, deliveries=len(rows))

    async def to_district_citizens(
        self,
        conn: asyncpg.Connection,
        *,
        districts: Sequence[str],
        template: str,
        params: Mapping[str, object],
        now: datetime,
        priority: Priority | None = None,
        dedupe_key: str | None = None,
        to_devices: bool = True,
        district_params: Mapping[str, Mapping[str, object]] | None = None,
        due: datetime | None = None,
    ) -> Enqueued:
        """A message to every citizen of the districts, each in their language: push per device, else SMS.

        One set-based statement, so a city-wide fan-out to a million people is one insert. With
        ``to_devices=False`` only the citizens without the app hear it (by SMS): for when the apps are
        reached another way, such as the district's topic. ``district_params`` adds to ``params`` what
        differs by district (its nearest shelter, say). ``due``: when the rows are first due, if not ``now``.
        """
        _in_transaction(conn)
        _check_districts(districts)
        fan = await self._fan(conn, districts, template, params, district_params, priority, dedupe_key, now, due)
        if fan is None:
            return await self._existing(conn, dedupe_key)
        count = await repository.fan_out_to_districts(conn, fan, districts=districts, to_devices=to_devices)
        log.info("notice fanned out", notice_id=fan.notice_id, template=template, deliveries=count)
        return Enqueued(notice_id=fan.notice_id, created=True, deliveries=count)

    async def to_places(
        self,
        conn: asyncpg.Connection,
        *,
        polygons: Sequence[Sequence[tuple[float, float]]],
        dongs: Sequence[str],
        except_districts: Sequence[str],
        template: str,
        params: Mapping[str, object],
        now: datetime,
        dedupe_key: str,
        district_params: Mapping[str, Mapping[str, object]] | None = None,
        except_dong_topics: Sequence[str] = (),
        due: datetime | None = None,
    ) -> Enqueued:
        """A message to every citizen with a place inside the polygons ((lat, lon) rings), or a place given only
        as one of the dongs, once each however many of their places are in: a push per device, else an SMS.
        Citizens of ``except_districts`` are left out (told as a whole another way), and so are the devices
        subscribed to one of ``except_dong_topics`` (told by the dong's topic): a device still joining the topic
        gets its own push, and a citizen without the app an SMS. One set-based statement; each takes the texts of
        the district their place is in (``district_params``)."""
        _in_transaction(conn)
        fan = await self._fan(conn, list(DISTRICTS), template, params, district_params, None, dedupe_key, now, due)
        if fan is None:
            return await self._existing(conn, dedupe_key)
        shapes = [polygon_literal(ring) for ring in polygons]
        count = await repository.fan_out_to_places(
            conn,
            fan,
            polygons=shapes,
            precise=[polygon_literal(ring, scale=PRECISE_SCALE) for ring in polygons],
            dongs=dongs,
            except_districts=except_districts,
            except_topics=[dong_topic(d) for d in except_dong_topics],
        )
        log.info("notice fanned out to places", notice_id=fan.notice_id, template=template, deliveries=count)
        return Enqueued(notice_id=fan.notice_id, created=True, deliveries=count)

    async def _fan(
        self,
        conn: asyncpg.Connection,
        districts: Sequence[str],
        template: str,
        params: Mapping[str, object],
        district_params: Mapping[str, Mapping[str, object]] | None,
        priority: Priority | None,
        dedupe_key: str | None,
        now: datetime,
        due: datetime | None = None,
    ) -> repository.FanOut | None:
        """The notice and the texts by district of one fan-out; None when the notice was written before."""
        texts: dict[str, dict[str, tuple[str | None, str, str]]] = {}
        for district in sorted(set(districts)):
            values = {**params, **(district_params or {}).get(district, {})}
            texts[district] = {}
            for lang in templates.LANGUAGES:
                r = _render(template, lang, values)
                texts[district][lang] = (r.title, r.body, self._one_sms(template, r.sms_body))
        notice_id = await repository.insert_notice(conn, dedupe_key=dedupe_key, template=template, now=now)
        if notice_id is None:
            return None
        urgent = templates.get(template).urgent
        return repository.FanOut(
            notice_id=notice_id,
            template=template,
            texts=texts,
            data={"notice_id": str(notice_id), "template": template},
            priority=int(priority if priority is not None else _default_priority(urgent)),
            max_attempts=self._settings.max_attempts,
            now=now,
            due=due or now,
        )

    async def cancel(self, conn: asyncpg.Connection, *, dedupe_keys: Sequence[str], reason: str, now: datetime) -> int:
        """Cancel every delivery of these notices not yet sent, in the caller's transaction; how many."""
        _in_transaction(conn)
        cancelled = await repository.cancel(conn, dedupe_keys=dedupe_keys, reason=reason, now=now)
        if cancelled:
            log.info("deliveries cancelled", deliveries=cancelled, reason=reason)
        return cancelled

    async def enqueue_many(self, conn: asyncpg.Connection, *, items: Sequence[Outgoing], now: datetime) -> int:
        """Many messages in a few statements, whatever their number: the way a sweep over thousands enqueues.

        Each goes by push to the citizen's devices when ``citizen_id`` is given and they have one, else by SMS
        to ``phone``; a critical one with both also gets the SMS held back as a fallback. The count of
        deliveries created; items whose dedupe key was used before create none.
        """
        _in_transaction(conn)
        rendered = [_render(i.template, i.language, i.params) for i in items]
        for item in items:
            if item.dedupe_key is None:
                raise NotificationError(f"{item.template}: a message enqueued with others needs a dedupe key")
            if item.phone is None and item.citizen_id is None:
                raise NotificationError(f"{item.dedupe_key}: a message needs a phone or a citizen")
        created = await repository.insert_notices(
            conn, dedupe_keys=[i.dedupe_key or "" for i in items], templates=[i.template for i in items], now=now
        )
        if not created:
            return 0
        # A key given twice in one call is one message, like a key given again in a later call.
        todo = [
            (i, r, notice_id)
            for i, r in zip(items, rendered, strict=True)
            if (notice_id := created.pop(i.dedupe_key or "", None)) is not None
        ]
        devices: dict[int, list[tuple[int, str]]] = {}
        for d in await recipients_repository.devices_of(conn, [i.citizen_id for i, _, _ in todo if i.citizen_id]):
            devices.setdefault(d["citizen_id"], []).append((d["id"], d["fcm_token"]))
        blocked_phones = await recipients_repository.opted_out(conn, [i.phone for i, _, _ in todo if i.phone])
        rows: list[OutboxRow] = []
        for item, text, notice_id in todo:
            pushes = devices.get(item.citizen_id, []) if item.citizen_id else []
            blocked = item.phone in blocked_phones
            rows += self._rows(item, text, notice_id=notice_id, devices=pushes, blocked=blocked, now=now)
        return await repository.insert_rows(conn, rows=rows, now=now)

    def _one_sms(self, template: str, body: str) -> str:
        # A fan-out goes to the citizens of Seoul's districts: its one text must suit Korean carriers.
        body = _korean(template, body)
        parts = split_sms(body, self._settings.sms_max_segments)
        if len(parts) > 1:
            raise NotificationError(
                f"a fan-out SMS must fit in {self._settings.sms_max_segments} segments; this one needs {len(parts)}"
            )
        return parts[0]

    def _rows(
        self,
        item: Outgoing,
        text: templates.Rendered,
        *,
        notice_id: int,
        devices: Sequence[tuple[int, str]],
        blocked: bool,
        now: datetime,
    ) -> list[OutboxRow]:
        """One person's deliveries of one notice.

        A push per device; an SMS (split into parts) when there is no device, or held back as the fallback
        of a critical push. An SMS to a number that opted out is recorded as suppressed unless it overrides.
        """
        shared = self._shared(notice_id, item.template, item.priority, item.critical, item.overrides_opt_out)
        if item.call is not None:
            return [_call_row(item, text, shared, now=now)]
        data = {"notice_id": str(notice_id), "template": item.template}
        rows = [
            OutboxRow(
                channel="push",
                recipient=token,
                topic=False,
                citizen_id=item.citizen_id,
                device_id=device_id,
                language=text.language,
                title=text.title,
                body=text.body,
                data=data,
                fallback=False,
                state="pending",
                next_attempt_at=now,
                last_error=None,
                **shared,
            )
            for device_id, token in devices
        ]
        if item.phone and (not devices or item.critical):
            suppressed = blocked and not item.overrides_opt_out
            state, error = ("suppressed", "opted out by SMS") if suppressed else ("pending", None)
            when = now + timedelta(seconds=self._settings.push_fallback_s) if devices else now
            rows += [
                OutboxRow(
                    channel="sms",
                    recipient=item.phone,
                    topic=False,
                    citizen_id=item.citizen_id,
                    device_id=None,
                    language=text.language,
                    title=None,
                    body=part,
                    data={},
                    fallback=bool(devices),
                    state=state,
                    next_attempt_at=when,
                    last_error=error,
                    **shared,
                )
                for part in self._sms_parts(item.template, item.phone, text.sms_body)
            ]
        return rows

    def _sms_parts(self, template: str, phone: str, body: str) -> list[str]:
        """The SMS rows' texts: numbered parts, or for a Korean number one EUC-KR text (one LMS when it is long)."""
        if not korean_text.is_korean(phone):
            return split_sms(body, self._settings.sms_max_segments)
        body = _korean(template, body)
        if not self._settings.korean_lms:
            return split_sms(body, self._settings.sms_max_segments)
        size = korean_text.euckr_bytes(body)
        if size > korean_text.LMS_MAX_BYTES:
            raise NotificationError(
                f"{template}: an LMS holds {korean_text.LMS_MAX_BYTES} bytes of EUC-KR; this text has {size}"
            )
        return [body]

    def _shared(
        self, notice_id: int, template: str, priority: Priority | None, critical: bool, overrides_opt_out: bool
    ) -> dict[str, Any]:
        """The ``OutboxRow`` fields a notice's deliveries share: notice, template, priority, flags and attempts."""
        urgent = templates.get(template).urgent or critical
        level = int(priority if priority is not None else _default_priority(urgent))
        return {
            "notice_id": notice_id,
            "template": template,
            "priority": level,
            "critical": critical,
            "overrides_opt_out": overrides_opt_out,
            "max_attempts": self._settings.max_attempts,
        }

    async def _existing(self, conn: asyncpg.Connection, dedupe_key: str | None) -> Enqueued:
        row = await repository.notice_by_key(conn, dedupe_key or "")
        assert row is not None  # the insert conflicted on this key inside this transaction
        return Enqueued(notice_id=row["id"], created=False, deliveries=row["deliveries"])


def _call_row(item: Outgoing, text: templates.Rendered, shared: dict[str, Any], *, now: datetime) -> OutboxRow:
    """A call: the text as it is said (no service name, never split), the menu or message it is, its language.

    An SMS opt-out does not stop a call: the person stopped texts, and their plan asks for calls.
    """
    if not item.phone:
        raise NotificationError(f"{item.template}: a call needs a phone number")
    return OutboxRow(
        channel="voice",
        recipient=item.phone,
        topic=False,
        citizen_id=item.citizen_id,
        device_id=None,
        language=text.language,
        title=None,
        body=text.body,
        data={"notice_id": str(shared["notice_id"]), "call": item.call or "message", "language": text.language},
        fallback=False,
        state="pending",
        next_attempt_at=now,
        last_error=None,
        **shared,
    )


def _render(template: str, language: str, params: Mapping[str, object]) -> templates.Rendered:
    try:
        return templates.render(template, language, params)
    except templates.TemplateError as exc:
        raise NotificationError(str(exc)) from None


def _korean(template: str, body: str) -> str:
    """The body made EUC-KR-safe for a Korean carrier.

    A character outside EUC-KR and the replacement table in the template's own words is a mistake to fix, and is
    refused (in the caller's transaction). The same character in what fills it (a warning feed's headline, a
    rare Hangul syllable in a person's name) is replaced by ``korean_text.UNKNOWN`` and logged: a warning or a
    check-in is never held back for a character a phone could not show.
    """
    try:
        return korean_text.prepare(body)
    except korean_text.NotEucKr as exc:
        own = templates.get(template)
        words = "".join((t.title or "") + t.body for t in (own.ko, own.en))
        if any(c in words for c in exc.characters):
            raise NotificationError(f"cannot send {template!r} to a Korean number: {exc}") from None
        log.warning("characters outside EUC-KR replaced", template=template, characters=exc.characters)
        plain = unicodedata.normalize("NFC", body)
        return korean_text.prepare("".join(korean_text.UNKNOWN if c in exc.characters else c for c in plain))


def _default_priority(urgent: bool) -> Priority:
    return Priority.urgent if urgent else Priority.routine


def _check_districts(districts: Sequence[str]) -> None:
    unknown = sorted(set(districts) - DISTRICTS.keys())
    if not districts or unknown:
        raise NotificationError(f"not Seoul district codes: {unknown or 'none given'}")


def _in_transaction(conn: asyncpg.Connection) -> None:
    # Enqueueing outside a transaction would let a message go out for a change that then rolled back.
    if not conn.is_in_transaction():
        raise RuntimeError("enqueue inside the transaction of the change that causes the message")
