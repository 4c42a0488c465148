"""Rasa's SQL tracker store, made safe to share between Rasa servers across a restart of PostgreSQL.

Rasa wraps every tracker store in its FailSafeTrackerStore, which answers a failed read with no conversation
and a failed write by keeping the conversation in memory, and says so only in its log: after a restart of the
database the bot would answer from a blank conversation and forget the turn, while the API heard a normal
answer. So here:

- pooled connections are pinged before use (``pool_pre_ping``), so the first message after a restart finds a
  live connection instead of a dead one;
- a read or write that fails is recorded for the message being handled (``failed_this_message``), and the lock
  store (bot/lock_store.py), which holds the lock around the whole message, fails the message when it ends, so
  our REST channel (bot/channels.py) answers 503 and the person gets the apology, not a reply that was not kept.
"""

from __future__ import annotations

import contextvars
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

failed_this_message: contextvars.ContextVar[str | None] = contextvars.ContextVar("tracker_failed", default=None)


class CheckedSQLTrackerStore(SQLTrackerStore):
    """``tracker_store: {type: bot.tracker_store.CheckedSQLTrackerStore, url: postgresql://…, dialect: postgresql}``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.engine = sa.create_engine(self.engine.url, pool_pre_ping=True)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        try:
            return await super().retrieve(sender_id)
        except Exception as exc:
            failed_this_message.set(f"reading the conversation failed: {type(exc).__name__}")
            raise

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        try:
            return await super().retrieve_full_tracker(conversation_id)
        except Exception as exc:
            failed_this_message.set(f"reading the conversation failed: {type(exc).__name__}")
            raise

    async def save(self, tracker: DialogueStateTracker) -> None:
        try:
            await super().save(tracker)
        except Exception as exc:
            failed_this_message.set(f"saving the conversation failed: {type(exc).__name__}")
            raise
