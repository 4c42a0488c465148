"""KakaoTalk messages: kept in the webhook's transaction (once, however often Kakao sends one), acted on there when
they are care's (a check-in or a call for help from a linked person in care), and otherwise answered by the bot after
commit, within Kakao's time or by its callback.

As for texts, no connection is held while Rasa thinks: its actions call this API back.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

import asyncpg
import httpx
import msgspec
import structlog

from api.chat import kakao_linking as linking
from api.chat import kakao_messages as say
from api.chat import kakao_replies as replies
from api.chat import kakao_repository as repository
from api.chat import messages, service
from api.chat import repository as chat_repository
from api.chat.kakao_schemas import MAX_UTTERANCE, Reply, SkillRequest
from api.chat.rasa import BotUnavailable, RasaClient
from api.platform.settings import KakaoSettings
from care import service as care
from care.flood import inbound as flood
from notifications.inbound import Keyword, keyword
from notifications.service import Notifier
from notifications.templates import render

log = structlog.get_logger(__name__)

# Kakao gives up on a skill after 5 s; the same request sent again within this is the same message.
RETRY_WINDOW = timedelta(seconds=10)
# A yes-or-no question the bot asked is still open for this long: a "네" then answers it, not a check-in.
QUESTION_OPEN = timedelta(minutes=30)
POLL_S = 0.1
_YES_WORDS = frozenset({"1", "ok", "okay", "yes", "네", "예", "응", "확인"})


class Turn(NamedTuple):
    """What the webhook committed for one request, and what is left to say."""

    message_id: int | None  # None: nothing was kept (a message too long or empty)
    reply: Reply | None  # the answer, when it is known now; None while the bot has it
    repeat: bool  # a retry of a message already kept: nothing was done again
    language: str
    callback_url: str | None


def sender_of(user_key: str) -> str:
    """The Kakao user as Rasa and the bot's endpoints know them."""
    return f"kakao-{user_key}"


def _digest(utterance: str) -> bytes:
    return hashlib.sha256(utterance.encode()).digest()


def _dedupe_key(user_key: str, callback_url: str | None) -> str | None:
    return hashlib.sha256(f"{user_key}\n{callback_url}".encode()).hexdigest() if callback_url else None


async def receive(
    conn: asyncpg.Connection,
    *,
    request: SkillRequest,
    notifier: Notifier,
    settings: KakaoSettings,
    key: bytes,
    now: datetime,
) -> Turn:
    """Keep one skill request's message and do what it asks that is ours to do, in one transaction."""
    user_key = request.user_request.user.id
    utterance = request.user_request.utterance.strip()
    if len(utterance) > MAX_UTTERANCE:
        return Turn(None, Reply(texts=[say.TOO_LONG.format(length=len(utterance))]), False, "ko", None)
    if not utterance:
        return Turn(None, Reply(texts=[say.EMPTY]), False, "ko", None)
    callback_url = request.user_request.callback_url
    if callback_url and not settings.callback_allowed(callback_url):
        log.warning("kakao callbackUrl names a host not in KAKAO_CALLBACK_HOSTS; not used", url=callback_url[:200])
        callback_url = None
    digest = _digest(utterance)
    async with conn.transaction():
        await repository.lock_user(conn, user_key)
        repeated = await repository.find_retry(
            conn,
            user_key=user_key,
            dedupe_key=_dedupe_key(user_key, request.user_request.callback_url),
            digest=digest,
            since=now - RETRY_WINDOW,
        )
        if repeated is not None:
            log.info("kakao request repeated; answered as before", message_id=repeated)
            return Turn(repeated, None, True, "ko", None)
        new = _NewMessage(user_key, request, utterance, digest, callback_url, now)
        phone = await repository.link_of(conn, user_key)
        if phone is None:
            handled = await linking.unlinked(
                conn, user_key=user_key, utterance=utterance, notifier=notifier, settings=settings, key=key, now=now
            )
            message_id = await new.insert(conn, handled.handled_by, handled.reply, "ko", kept_as=handled.kept_as)
            return Turn(message_id, handled.reply, False, "ko", None)
        return await _linked(conn, new, phone=phone, notifier=notifier)


class _NewMessage(NamedTuple):
    user_key: str
    request: SkillRequest
    utterance: str
    digest: bytes
    callback_url: str | None
    now: datetime

    async def insert(
        self,
        conn: asyncpg.Connection,
        handled_by: str,
        reply: Reply | None,
        language: str,
        *,
        in_care: bool = False,
        kept_as: str | None = None,
    ) -> int:
        return await repository.insert_message(
            conn,
            repository.NewMessage(
                user_key=self.user_key,
                dedupe_key=_dedupe_key(self.user_key, self.request.user_request.callback_url),
                utterance=self.utterance if kept_as is None else kept_as,
                digest=self.digest,
                language=language,
                handled_by=handled_by,
                state="pending" if reply is None else "answered",
                reply=None if reply is None else msgspec.to_builtins(reply),
                asks_yes_no=bool(reply and reply.asks_yes_no),
                in_care=in_care,
                callback_url=self.callback_url,
                received_at=self.now,
            ),
        )


async def _linked(conn: asyncpg.Connection, new: _NewMessage, *, phone: str, notifier: Notifier) -> Turn:
    """A linked user's message: care's words acted on now (as for a text), anything else kept for the bot."""
    person = await service.person_by_phone(conn, phone)
    known = person.care.language if person.care else (person.citizen.language.value if person.citizen else None)
    language = messages.language_of(new.utterance, known=known)
    in_care = person.care is not None
    if linking.is_unlink(new.utterance):
        await repository.delete_link(conn, new.user_key)
        bye = Reply(texts=[say.UNLINKED[language]])
        return Turn(await new.insert(conn, "link.unlinked", bye, language), bye, False, language, None)
    answered = await flood.answer(
        conn,
        phone=phone,
        body=new.utterance,
        via="kakao",
        key=f"kakao:{new.digest.hex()[:16]}:{new.now.timestamp()}",
        at=new.now,
        notifier=notifier,
    )
    if answered is not None:
        # A flood check's answer (도착, 대피 완료, 도움 필요) from a household or partner with an open ask, as by SMS.
        said = render(answered.reply.template, answered.reply.language, answered.reply.params)
        recorded = Reply(texts=[said.body])
        return Turn(await new.insert(conn, answered.handled_by, recorded, language), recorded, False, language, None)
    previous = await repository.last_message(conn, new.user_key)
    question_open = (
        previous is not None and previous["asks_yes_no"] and previous["received_at"] > new.now - QUESTION_OPEN
    )
    reply: Reply | None = None
    handled_by = "chat"
    if person.care is not None:
        recipient_id = person.care.recipient_id
        action = decide(new.utterance, question_open=question_open)
        if action is CareAction.help:
            # The same path a text's 도와주세요 takes, whatever the bot was asking: a call for help is never an answer.
            opened = await care.ask_for_help(
                conn, notifier=notifier, recipient_id=recipient_id, channel="kakao", at=new.now, body=new.utterance
            )
            texts = [(say.HELP_OPENED if opened.new_case else say.HELP_ALREADY_OPEN)[language]]
            reply = Reply(texts=texts, quick=replies.quick_for(language=language, in_care=True))
            handled_by = "care.help"
        else:
            await care.check_in(
                conn,
                notifier=notifier,
                recipient_id=recipient_id,
                channel="kakao",
                kind="checkin" if action is not CareAction.sign_of_life else "message",
                at=new.now,
                body=new.utterance,
            )
            if action is CareAction.checkin:
                reply = Reply(
                    texts=[say.CHECKED_IN[language]], quick=replies.quick_for(language=language, in_care=True)
                )
                handled_by = "care.checkin"
    if reply is None:
        # Before Rasa is asked: its actions act for this person only once this says they are talking.
        await chat_repository.heard_from(conn, sender=sender_of(new.user_key), at=new.now)
    message_id = await new.insert(conn, handled_by, reply, language, in_care=in_care)
    return Turn(message_id, reply, False, language, new.callback_url)


class CareAction(StrEnum):
    help = "help"  # an urgent case, now; the bot is not asked
    checkin = "checkin"  # a check-in, answered here; the bot is not asked
    checkin_for_bot = "checkin_for_bot"  # a check-in that also answers the bot's open question: the bot is asked
    sign_of_life = "sign_of_life"  # any other message: recorded alive, and the bot answers it


def decide(utterance: str, *, question_open: bool) -> CareAction:
    """What a message from a linked person in care is to care.

    A call for help is read first and always wins. A check-in word is a check-in, except a bare yes ("네", "1") to the
    bot's open yes-or-no question, which is the bot's answer (and only a sign of life); while a question is open the
    bot hears every check-in too, so its question is closed by the answer.
    """
    found = keyword(utterance)
    word = found[0] if found else None
    if word is Keyword.help:
        return CareAction.help
    if word is not Keyword.checkin:
        return CareAction.sign_of_life
    if not question_open:
        return CareAction.checkin
    compact = "".join(ch for ch in utterance.casefold() if ch.isalnum())
    return CareAction.sign_of_life if compact in _YES_WORDS else CareAction.checkin_for_bot


async def forward(pool: asyncpg.Pool, rasa: RasaClient, *, message_id: int, lease: timedelta) -> Reply | None:
    """Ask the bot about one kept message and keep its answer (or our apology); None when another forwarder has it."""
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        claim = await repository.claim(conn, message_id=message_id, now=now, lease_expired_before=now - lease)
    if claim is None:
        return None
    language = claim["language"]
    try:
        turn = await rasa.turn(
            sender=sender_of(claim["user_key"]), text=claim["utterance"], language=language, channel="kakao"
        )
        reply = replies.from_bot(turn, language=language, in_care=claim["in_care"])
        state = "answered"
    except BotUnavailable as exc:
        log.warning("chatbot unavailable", channel="kakao", reason=str(exc))
        reply = Reply(
            texts=[messages.APOLOGY[language]], quick=replies.quick_for(language=language, in_care=claim["in_care"])
        )
        state = "apologised"
    async with pool.acquire() as conn:
        await repository.finish(
            conn,
            message_id=message_id,
            state=state,
            reply=msgspec.to_builtins(reply),
            asks_yes_no=reply.asks_yes_no,
            claimed_at=claim["claimed_at"],
            now=datetime.now(UTC),
        )
    return reply


async def answered(pool: asyncpg.Pool, *, message_id: int, wait: timedelta) -> Reply | None:
    """A kept message's answer once it has one (a retry's, or one another forwarder took); None past ``wait``."""
    deadline = asyncio.get_running_loop().time() + wait.total_seconds()
    while True:
        async with pool.acquire() as conn:
            row = await repository.answer_of(conn, message_id)
        if row is not None and row["reply"] is not None:
            return msgspec.convert(row["reply"], Reply)
        if asyncio.get_running_loop().time() > deadline:
            return None
        await asyncio.sleep(POLL_S)


async def answer(pool: asyncpg.Pool, rasa: RasaClient, turn: Turn, *, lease: timedelta) -> Reply:
    """The answer to a turn the webhook could not answer itself (it may wait: the caller bounds the wait)."""
    assert turn.message_id is not None
    if not turn.repeat:
        reply = await forward(pool, rasa, message_id=turn.message_id, lease=lease)
        if reply is not None:
            return reply
    found = await answered(pool, message_id=turn.message_id, wait=lease)
    return found or Reply(texts=[say.HOLDING[turn.language]])


async def record_delivery(pool: asyncpg.Pool, *, message_id: int, delivery: str) -> None:
    async with pool.acquire() as conn:
        await repository.set_delivery(conn, message_id=message_id, delivery=delivery)


async def deliver_by_callback(
    pool: asyncpg.Pool, task: asyncio.Task[Reply], *, message_id: int, callback_url: str, settings: KakaoSettings
) -> None:
    """Once the bot has answered, post it to the request's one-time callbackUrl (outside any transaction)."""
    try:
        reply = await task
    except Exception:  # the answer is lost to this request; nothing else would tell anyone
        log.exception("answering a kakao message failed", message_id=message_id)
        return
    body = msgspec.json.encode(replies.render(reply))
    delivery = "callback"
    try:
        async with httpx.AsyncClient(timeout=settings.callback_timeout_s) as http:
            response = await http.post(callback_url, content=body, headers={"Content-Type": "application/json"})
        if not response.is_success:
            delivery = "callback_failed"
            log.warning(
                "kakao callback refused", message_id=message_id, status=response.status_code, body=response.text[:200]
            )
    except httpx.HTTPError as exc:
        delivery = "callback_failed"
        log.warning("kakao callback failed", message_id=message_id, error=repr(exc))
    await record_delivery(pool, message_id=message_id, delivery=delivery)


async def finish_quietly(pool: asyncpg.Pool, task: asyncio.Task[Reply], *, message_id: int, record: bool) -> None:
    """Let the bot's answer be kept (for a retry to find) after a holding reply went out instead."""
    try:
        await task
    except Exception:
        log.exception("answering a kakao message failed", message_id=message_id)
    if record:
        await record_delivery(pool, message_id=message_id, delivery="holding")
