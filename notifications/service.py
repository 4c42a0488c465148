"""Enqueueing messages: in the caller's transaction, rendered and checked now, deduplicated by key.

A message exists if and only if the change that caused it committed: every function here must be called
inside the caller's transaction, and the dispatcher picks the rows up by id after commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal

import asyncpg
import msgspec
import structlog

from api.districts import DISTRICTS
from api.phones import normalise_phone
from api.settings import NotifySettings
from notifications import recipients_repository, repository, templates
from notifications.schemas import Enqueued, Priority
from notifications.sms_text import split_sms

log = structlog.get_logger(__name__)

ChannelChoice = Literal["push", "sms"]


class Outgoing(msgspec.Struct, frozen=True, kw_only=True):
    """One message for ``Notifier.enqueue_many``: to a citizen's devices (push), to a phone (SMS), or both."""

    dedupe_key: str
    template: str
    params: dict[str, object]
    language: str = "ko"
    phone: str | None = None
    citizen_id: int | None = None
    priority: Priority | None = None
    critical: bool = False
    overrides_opt_out: bool = False


class NotificationError(ValueError):
    """A message that cannot be enqueued: unknown recipient, malformed number, unknown template or variable."""


def district_topic(district: str) -> str:
    return f"district-{district}"


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
        channels: Sequence[ChannelChoice] = ("push", "sms"),
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
        rendered = _render(template, contact["language"], params)
        notice_id = await repository.insert_notice(conn, dedupe_key=dedupe_key, template=template, now=now)
        if notice_id is None:
            return await self._existing(conn, dedupe_key)
        rows: list[tuple[object, ...]] = []
        data = {"notice_id": str(notice_id), "template": template}
        use_push = "push" in channels and contact["tokens"]
        if use_push:
            for device_id, token in zip(contact["device_ids"], contact["tokens"], strict=True):
                rows.append(_push(token, citizen_id, device_id, rendered, data, now))
        if "sms" in channels and (not use_push or critical):
            fallback = bool(use_push)
            when = now + timedelta(seconds=self._settings.push_fallback_s) if fallback else now
            rows += await self._sms_rows(
                conn, contact["phone"], citizen_id, rendered, overrides_opt_out, when=when, fallback=fallback
            )
        if not rows:
            raise NotificationError(f"citizen {citizen_id} has no device or number for channels {list(channels)}")
        return await self._insert(conn, notice_id, rendered, priority, critical, overrides_opt_out, rows, now)

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
        rendered = _render(template, language, params)
        notice_id = await repository.insert_notice(conn, dedupe_key=dedupe_key, template=template, now=now)
        if notice_id is None:
            return await self._existing(conn, dedupe_key)
        rows = await self._sms_rows(conn, e164, None, rendered, overrides_opt_out, when=now, fallback=False)
        return await self._insert(conn, notice_id, rendered, priority, critical, overrides_opt_out, rows, now)

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
        _in_transaction(conn)
        _check_districts(districts)
        ko = _render(template, "ko", params)
        en = _render(template, "en", params)
        notice_id = await repository.insert_notice(conn, dedupe_key=dedupe_key, template=template, now=now)
        if notice_id is None:
            return await self._existing(conn, dedupe_key)
        data = {"notice_id": str(notice_id), "template": template, "title_en": en.title or "", "body_en": en.body}
        rows = [
            ("push", district_topic(d), True, None, None, "ko", ko.title, ko.body, data, False, "pending", now, None)
            for d in sorted(set(districts))
        ]
        return await self._insert(conn, notice_id, ko, priority, False, False, rows, now)

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
    ) -> Enqueued:
        """A message to every citizen of the districts, each in their language: push per device, else SMS.

        One set-based statement, so a city-wide fan-out to a million people is one insert.
        """
        _in_transaction(conn)
        _check_districts(districts)
        texts = {}
        for lang in templates.LANGUAGES:
            r = _render(template, lang, params)
            texts[lang] = (r.title, r.body, self._one_sms(r.sms_body))
        notice_id = await repository.insert_notice(conn, dedupe_key=dedupe_key, template=template, now=now)
        if notice_id is None:
            return await self._existing(conn, dedupe_key)
        urgent = templates.get(template).urgent
        count = await repository.fan_out_to_districts(
            conn,
            notice_id=notice_id,
            template=template,
            districts=sorted(set(districts)),
            texts=texts,
            data={"notice_id": str(notice_id), "template": template},
            priority=int(priority if priority is not None else _default_priority(urgent)),
            max_attempts=self._settings.max_attempts,
            now=now,
        )
        log.info("notice fanned out", notice_id=notice_id, template=template, deliveries=count)
        return Enqueued(notice_id=notice_id, created=True, deliveries=count)

    async def enqueue_many(self, conn: asyncpg.Connection, *, items: Sequence[Outgoing], now: datetime) -> int:
        """Many messages in a few statements, whatever their number: the way a sweep over thousands enqueues.

        Each goes by push to the citizen's devices when ``citizen_id`` is given and they have one, else by SMS
        to ``phone``; a critical one with both also gets the SMS held back as a fallback. The count of
        deliveries created; items whose dedupe key was used before create none.
        """
        _in_transaction(conn)
        rendered = [_render(i.template, i.language, i.params) for i in items]
        for item in items:
            if item.phone is None and item.citizen_id is None:
                raise NotificationError(f"{item.dedupe_key}: a message needs a phone or a citizen")
        created = await repository.insert_notices(
            conn, dedupe_keys=[i.dedupe_key for i in items], templates=[i.template for i in items], now=now
        )
        if not created:
            return 0
        # A key given twice in one call is one message, like a key given again in a later call.
        todo = [
            (i, r, notice_id)
            for i, r in zip(items, rendered, strict=True)
            if (notice_id := created.pop(i.dedupe_key, None)) is not None
        ]
        devices: dict[int, list[tuple[int, str]]] = {}
        for d in await recipients_repository.devices_of(conn, [i.citizen_id for i, _, _ in todo if i.citizen_id]):
            devices.setdefault(d["citizen_id"], []).append((d["id"], d["fcm_token"]))
        blocked = await recipients_repository.opted_out(conn, [i.phone for i, _, _ in todo if i.phone])
        rows: list[tuple[object, ...]] = []
        fallback_at = now + timedelta(seconds=self._settings.push_fallback_s)
        for item, text, notice_id in todo:
            urgent = templates.get(item.template).urgent or item.critical
            priority = int(item.priority if item.priority is not None else _default_priority(urgent))
            tail = (notice_id, item.template, priority, item.critical, item.overrides_opt_out, self._max_attempts)
            pushes = devices.get(item.citizen_id or 0, [])
            data = {"notice_id": str(notice_id), "template": item.template}
            for device_id, token in pushes:
                rows.append(_push(token, item.citizen_id or 0, device_id, text, data, now) + tail)
            if item.phone and (not pushes or item.critical):
                suppressed = item.phone in blocked and not item.overrides_opt_out
                state, error = ("suppressed", "opted out by SMS") if suppressed else ("pending", None)
                when = fallback_at if pushes else now
                for part in split_sms(text.sms_body, self._settings.sms_max_segments):
                    rows.append(
                        (
                            "sms",
                            item.phone,
                            False,
                            item.citizen_id,
                            None,
                            text.language,
                            None,
                            part,
                            {},
                            bool(pushes),
                            state,
                            when,
                            error,
                            *tail,
                        )
                    )
        return await repository.insert_rows(conn, rows=rows, now=now)

    @property
    def _max_attempts(self) -> int:
        return self._settings.max_attempts

    def _one_sms(self, body: str) -> str:
        parts = split_sms(body, self._settings.sms_max_segments)
        if len(parts) > 1:
            raise NotificationError(
                f"a fan-out SMS must fit in {self._settings.sms_max_segments} segments; this one needs {len(parts)}"
            )
        return parts[0]

    async def _sms_rows(
        self,
        conn: asyncpg.Connection,
        phone: str,
        citizen_id: int | None,
        rendered: templates.Rendered,
        overrides_opt_out: bool,
        *,
        when: datetime,
        fallback: bool,
    ) -> list[tuple[object, ...]]:
        suppressed = not overrides_opt_out and phone in await recipients_repository.opted_out(conn, [phone])
        state, error = ("suppressed", "opted out by SMS") if suppressed else ("pending", None)
        return [
            ("sms", phone, False, citizen_id, None, rendered.language, None, part, {}, fallback, state, when, error)
            for part in split_sms(rendered.sms_body, self._settings.sms_max_segments)
        ]

    async def _insert(
        self,
        conn: asyncpg.Connection,
        notice_id: int,
        rendered: templates.Rendered,
        priority: Priority | None,
        critical: bool,
        overrides_opt_out: bool,
        rows: list[tuple[object, ...]],
        now: datetime,
    ) -> Enqueued:
        urgent = templates.get(rendered.template).urgent
        await repository.insert_deliveries(
            conn,
            notice_id=notice_id,
            template=rendered.template,
            priority=int(priority if priority is not None else _default_priority(urgent or critical)),
            critical=critical,
            overrides_opt_out=overrides_opt_out,
            max_attempts=self._settings.max_attempts,
            now=now,
            rows=rows,
        )
        return Enqueued(notice_id=notice_id, created=True, deliveries=len(rows))

    async def _existing(self, conn: asyncpg.Connection, dedupe_key: str | None) -> Enqueued:
        row = await repository.notice_by_key(conn, dedupe_key or "")
        assert row is not None  # the insert conflicted on this key inside this transaction
        return Enqueued(notice_id=row["id"], created=False, deliveries=row["deliveries"])


def _push(
    token: str,
    citizen_id: int,
    device_id: int,
    rendered: templates.Rendered,
    data: dict[str, str],
    now: datetime,
) -> tuple[object, ...]:
    title, body = rendered.title, rendered.body
    return (
        "push",
        token,
        False,
        citizen_id,
        device_id,
        rendered.language,
        title,
        body,
        data,
        False,
        "pending",
        now,
        None,
    )


def _render(template: str, language: str, params: Mapping[str, object]) -> templates.Rendered:
    try:
        return templates.render(template, language, params)
    except templates.TemplateError as exc:
        raise NotificationError(str(exc)) from None


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
