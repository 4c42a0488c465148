"""Linking a Kakao user to a phone: a 6-digit code sent by SMS to the number they type, or an 8-digit one the app
shows its signed-in citizen. Only a keyed hash of a code is kept, and no reply tells whether a number is ours."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

import asyncpg
import structlog

from api.accounts import service as accounts
from api.chat import kakao_messages as say
from api.chat import kakao_repository as repository
from api.chat.kakao_schemas import LinkCodeRead, Reply
from api.platform.errors import NotFound, TooManyRequests
from api.platform.phones import mask_phone, normalise_phone
from api.platform.settings import KakaoSettings
from care import service as care
from notifications.schemas import Priority
from notifications.service import Notifier

log = structlog.get_logger(__name__)

_SEPARATORS = re.compile(r"[\s\-.]+")
_UNLINK = frozenset({"연결해제", "연결끊기", "연결취소", "unlink"})
HOUR = timedelta(hours=1)


class Handled(NamedTuple):
    reply: Reply
    handled_by: str
    kept_as: str  # what is kept of the message: never a code, a phone only masked


def link_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"safecity-kakao-link", hashlib.sha256).digest()


def _hash(key: bytes, purpose: str, phone: str, code: str) -> bytes:
    # An app code is looked up by itself, so its hash cannot include the phone; an SMS code is bound to both.
    subject = f"sms:{phone}:{code}" if purpose == "sms" else f"app:{code}"
    return hmac.new(key, subject.encode(), hashlib.sha256).digest()


def is_unlink(utterance: str) -> bool:
    return _SEPARATORS.sub("", utterance).casefold() in _UNLINK


async def unlinked(
    conn: asyncpg.Connection,
    *,
    user_key: str,
    utterance: str,
    notifier: Notifier,
    settings: KakaoSettings,
    key: bytes,
    now: datetime,
) -> Handled:
    """What a Kakao user not linked yet gets: a code checked, a code sent to the number they typed, or how to link."""
    compact = _SEPARATORS.sub("", utterance)
    if compact.isdigit() and len(compact) in (6, 8):
        return await _redeem(conn, user_key=user_key, code=compact, settings=settings, key=key, now=now)
    try:
        phone = normalise_phone(utterance)
    except ValueError:
        return Handled(Reply(texts=[say.HOW_TO_LINK]), "link.how", utterance)
    return await _send_code(
        conn, user_key=user_key, phone=phone, notifier=notifier, settings=settings, key=key, now=now
    )


async def _send_code(
    conn: asyncpg.Connection,
    *,
    user_key: str,
    phone: str,
    notifier: Notifier,
    settings: KakaoSettings,
    key: bytes,
    now: datetime,
) -> Handled:
    kept = mask_phone(phone)
    recent = await repository.count_codes(conn, user_key=user_key, phone=phone, purpose="sms", since=now - HOUR)
    if recent >= settings.link_codes_per_hour:
        return Handled(Reply(texts=[say.TOO_MANY_CODES]), "link.rate_limited", kept)
    minutes = max(settings.link_code_ttl_s // 60, 1)
    sent = Handled(Reply(texts=[say.CODE_SENT.format(minutes=minutes)]), "link.code_sent", kept)
    # Only to a number that is someone's (a citizen's, a person in care's), with the same answer either way.
    citizen = await accounts.find_citizen_by_phone(conn, phone=phone)
    enrolment = await care.enrolment_by_phone(conn, phone=phone)
    if citizen is None and enrolment is None:
        log.info("kakao link code asked for an unknown number", phone=kept)
        return sent
    code = f"{secrets.randbelow(10**6):06d}"
    await repository.insert_code(
        conn,
        purpose="sms",
        user_key=user_key,
        phone=phone,
        code_hash=_hash(key, "sms", phone, code),
        expires_at=now + timedelta(seconds=settings.link_code_ttl_s),
        now=now,
    )
    language = (enrolment.language if enrolment else None) or (citizen.language.value if citizen else "ko")
    await notifier.to_phone(
        conn,
        phone=phone,
        language=language,
        template=say.LINK_CODE,
        params={"code": code, "minutes": minutes},
        now=now,
        priority=Priority.urgent,
        overrides_opt_out=True,  # its owner (or someone who knows the number) just asked for it
    )
    return sent


async def _redeem(
    conn: asyncpg.Connection, *, user_key: str, code: str, settings: KakaoSettings, key: bytes, now: datetime
) -> Handled:
    if await repository.count_recent(conn, user_key=user_key, handled_by="link.bad_code", since=now - HOUR) >= (
        settings.link_failures_per_hour
    ):
        return Handled(Reply(texts=[say.LOCKED]), "link.locked", "******")
    phone: str | None = None
    via = "sms"
    if len(code) == 6:
        row = await repository.open_sms_code(conn, user_key)
        if row is not None and row["expires_at"] > now and row["attempts"] < settings.link_failures_per_hour:
            if hmac.compare_digest(row["code_hash"], _hash(key, "sms", row["phone"], code)):
                phone = row["phone"]
                await repository.use_code(conn, code_id=row["id"], now=now)
            else:
                await repository.failed_attempt(conn, row["id"])
    else:
        via = "app"
        row = await repository.open_app_code(conn, _hash(key, "app", "", code))
        if row is not None and row["expires_at"] > now:
            phone = row["phone"]
            await repository.use_code(conn, code_id=row["id"], now=now)
    if phone is None:
        return Handled(Reply(texts=[say.BAD_CODE]), "link.bad_code", "******")
    await repository.upsert_link(conn, user_key=user_key, phone=phone, via=via, now=now)
    enrolment = await care.enrolment_by_phone(conn, phone=phone)
    citizen = await accounts.find_citizen_by_phone(conn, phone=phone)
    language = (enrolment.language if enrolment else None) or (citizen.language.value if citizen else "ko")
    language = "en" if language == "en" else "ko"
    log.info("kakao user linked", phone=mask_phone(phone), via=via)
    return Handled(Reply(texts=[say.LINKED[language]]), "link.linked", "******")


async def app_code_for(
    conn: asyncpg.Connection, *, citizen_id: int, settings: KakaoSettings, key: bytes, now: datetime
) -> LinkCodeRead:
    """A fresh 8-digit code for a signed-in citizen to type in KakaoTalk (their earlier one stops working)."""
    async with conn.transaction():
        citizen = await accounts.find_citizen(conn, citizen_id=citizen_id)
        if citizen is None:
            raise NotFound(f"There is no citizen {citizen_id}.", code="unknown_citizen")
        phone = citizen.phone
        if await repository.count_codes(conn, user_key=None, phone=phone, purpose="app", since=now - HOUR) >= 10:
            raise TooManyRequests("Ten codes were made in the last hour; try again later.", code="link_rate_limited")
        expires_at = now + timedelta(seconds=settings.link_code_ttl_s)
        while True:  # a clash with another live code is one in millions; draw again
            code = f"{secrets.randbelow(10**8):08d}"
            hashed = _hash(key, "app", "", code)
            if await repository.insert_code(
                conn, purpose="app", user_key=None, phone=phone, code_hash=hashed, expires_at=expires_at, now=now
            ):
                break
    return LinkCodeRead(
        code=code,
        expires_at=expires_at.isoformat(),
        detail="Send this number to the safecity KakaoTalk channel's chat before it expires; it works once.",
    )


async def unlink_citizen(conn: asyncpg.Connection, *, citizen_id: int) -> int:
    """Unlink every Kakao user linked to a citizen's phone; how many were."""
    async with conn.transaction():
        citizen = await accounts.find_citizen(conn, citizen_id=citizen_id)
        if citizen is None:
            raise NotFound(f"There is no citizen {citizen_id}.", code="unknown_citizen")
        return await repository.delete_links_of_phone(conn, citizen.phone)
