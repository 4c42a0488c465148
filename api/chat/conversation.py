"""Talking to the bot: the app's chat in the request, and texts forwarded after the webhook has committed.

No database connection is held while Rasa thinks: its actions call this API, and a request or forwarder
sitting on a pooled connection (or on a transaction's locks) while they wait would starve or block them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import structlog

from api.accounts import service as accounts
from api.chat import messages, repository, service
from api.chat.rasa import BotUnavailable, RasaClient
from api.chat.schemas import MAX_MESSAGE_CHARS, ChatRead, ChatReply
from api.platform.errors import Problem
from api.platform.phones import mask_phone
from notifications.schemas import Priority
from notifications.service import Notifier

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 3  # forwards of one text (a forwarder died mid-call each time) before we apologise instead


def lease(rasa_timeout_s: float) -> timedelta:
    """How long a claimed text is left to its forwarder: well past Rasa's timeout."""
    return timedelta(seconds=max(60.0, 4 * rasa_timeout_s))


def checked_message(message: str) -> str:
    """The message as the bot gets it; empty or over-long ones are a 400 saying so."""
    if not message.strip():
        raise Problem("The message is empty; type something to say to the chatbot.", code="empty_message")
    if len(message) > MAX_MESSAGE_CHARS:
        raise Problem(
            f"The message has {len(message):,} characters; the chatbot takes at most {MAX_MESSAGE_CHARS:,}.",
            code="message_too_long",
        )
    return message.strip()


async def talk(pool: asyncpg.Pool, rasa: RasaClient, *, citizen_id: int, message: str) -> ChatRead:
    """One turn of the app's chat; when the bot cannot answer, an apology in the person's language."""
    text = checked_message(message)
    sender = f"citizen-{citizen_id}"
    async with pool.acquire() as conn:
        citizen = await accounts.find_citizen(conn, citizen_id=citizen_id)
        # Before Rasa is asked: its actions may act for this person only once this says they are talking.
        await repository.heard_from(conn, sender=sender, at=datetime.now(UTC))
    language = messages.language_of(text, known=citizen.language.value if citizen else None)
    try:
        replies = await rasa.ask(sender=sender, text=text, language=language, channel="app")
    except BotUnavailable as exc:
        log.warning("chatbot unavailable", channel="app", citizen_id=citizen_id, reason=str(exc))
        return ChatRead(replies=[ChatReply(text=messages.APOLOGY[language])], bot_available=False)
    return ChatRead(replies=[ChatReply(text=t) for t in replies], bot_available=True)


async def queue_sms(
    conn: asyncpg.Connection, *, message_sid: str, phone: str, body: str, received_at: datetime
) -> None:
    """Keep an inbound text for the bot, in the webhook's transaction; it is forwarded once that commits."""
    citizen_language, care_language = (await service.person_by_phone(conn, phone)).languages
    known = care_language or citizen_language
    language = messages.language_of(body, known=known)
    await repository.queue_inbound(
        conn, message_sid=message_sid, phone=phone, body=body, language=language, received_at=received_at
    )
    await repository.heard_from(conn, sender=f"sms-{phone}", at=received_at)


async def forward_sms(
    pool: asyncpg.Pool, rasa: RasaClient, notifier: Notifier, *, message_sid: str, lease_s: timedelta
) -> str | None:
    """Forward one waiting text to the bot and put its answer (or our apology) in the outbox; the outcome.

    The claim commits before Rasa is called, so two forwarders never both call it for one text, and a
    forwarder that dies mid-call leaves the text to be claimed again when its lease ends. The reply's
    dedupe key is the message's sid, so however it goes, the person gets one answer.
    """
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        claim = await repository.claim_inbound(
            conn, message_sid=message_sid, now=now, lease_expired_before=now - lease_s
        )
    if claim is None:
        return None
    texts: list[str] | None = None
    if claim["attempts"] <= MAX_ATTEMPTS:
        try:
            texts = await rasa.ask(
                sender=f"sms-{claim['phone']}", text=claim["body"], language=claim["language"], channel="sms"
            )
        except BotUnavailable as exc:
            log.warning("chatbot unavailable", channel="sms", phone=mask_phone(claim["phone"]), reason=str(exc))
    state = "apologised" if texts is None else "answered"
    done = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        if texts is None or texts:
            # A reply to a text the person just sent us: it goes even to a number that has opted out.
            await notifier.to_phone(
                conn,
                phone=claim["phone"],
                language=claim["language"],
                template=messages.SORRY if texts is None else messages.REPLY,
                params={} if texts is None else {"text": "\n".join(texts)},
                now=done,
                priority=Priority.routine,
                overrides_opt_out=True,
                dedupe_key=f"chat-reply:{message_sid}",
            )
        await repository.finish_inbound(
            conn, message_sid=message_sid, state=state, claimed_at=claim["claimed_at"], now=done
        )
    log.info("sms answered by the chatbot", phone=mask_phone(claim["phone"]), outcome=state)
    return state


async def forward_due(
    pool: asyncpg.Pool,
    rasa: RasaClient,
    notifier: Notifier,
    *,
    now: datetime,
    grace: timedelta,
    lease_s: timedelta,
    limit: int = 100,
    budget: timedelta = timedelta(seconds=45),
) -> dict[str, int]:
    """Forward the texts the fast path left: waiting past ``grace``, or claimed by a forwarder that died.

    A slow bot makes each text take up to its timeout; past ``budget`` the rest wait for the next run.
    """
    async with pool.acquire() as conn:
        due = await repository.due_inbound(
            conn, waiting_before=now - grace, lease_expired_before=now - lease_s, limit=limit
        )
    outcomes = {"answered": 0, "apologised": 0, "taken_by_another": 0}
    deadline = datetime.now(UTC) + budget
    for sid in due:
        if datetime.now(UTC) > deadline:
            break
        outcome = await forward_sms(pool, rasa, notifier, message_sid=sid, lease_s=lease_s)
        outcomes[outcome or "taken_by_another"] += 1
    return {"due": len(due), **outcomes}
