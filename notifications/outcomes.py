"""What the dispatcher records for each claimed row, given what the provider said: pure, so it is easy to test."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

from api.platform.settings import NotifySettings
from notifications.channels.base import Failure, SendResult

FOUND_AT_PROVIDER = "not sent again: the provider had it from an attempt whose answer was lost"


@dataclass
class Outcome:
    """Column arrays for ``repository.record_results``, and the side effects of permanent failures."""

    ids: list[int] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    provider_ids: list[str | None] = field(default_factory=list)
    errors: list[str | None] = field(default_factory=list)
    next_attempts: list[datetime] = field(default_factory=list)
    refund: list[bool] = field(default_factory=list)
    unknown_since: list[datetime | None] = field(default_factory=list)
    dead_tokens: list[str] = field(default_factory=list)
    opted_out_phones: list[str] = field(default_factory=list)
    failed_push_notices: set[int] = field(default_factory=set)

    def add(
        self,
        row: asyncpg.Record,
        state: str,
        *,
        next_attempt: datetime,
        provider_id: str | None = None,
        error: str | None = None,
        refund: bool = False,
        unknown_since: datetime | None = None,
    ) -> None:
        self.ids.append(row["id"])
        self.attempts.append(row["attempts"])
        self.states.append(state)
        self.provider_ids.append(provider_id)
        self.errors.append(error)
        self.next_attempts.append(next_attempt)
        self.refund.append(refund)
        self.unknown_since.append(unknown_since)
        # A push that failed for good no longer holds back its SMS fallback; one whose outcome is unknown may have
        # arrived, so its fallback waits for the app's ack as before.
        if state == "failed" and row["channel"] == "push" and not row["topic"]:
            self.failed_push_notices.add(row["notice_id"])

    def count(self, state: str) -> int:
        return self.states.count(state)


def backoff(attempts: int, settings: NotifySettings, *, retry_after_s: float | None = None) -> timedelta:
    """Exponential backoff with full jitter over its upper half, never sooner than the provider asked."""
    ceiling = min(settings.backoff_max_s, settings.backoff_base_s * 2 ** max(attempts - 1, 0))
    delay = random.uniform(ceiling / 2, ceiling)
    return timedelta(seconds=max(delay, retry_after_s or 0.0))


def outcome_of(
    rows: Sequence[asyncpg.Record],
    results: Sequence[SendResult],
    *,
    began: datetime,
    now: datetime,
    settings: NotifySettings,
    outage: bool,
) -> Outcome:
    """What to record for each row, given its send result: state, error, next attempt, dead tokens, opt-outs.

    ``began`` is when the attempt started. In an outage (every message of the batch failed for a transient
    reason) the attempt is given back and the rows wait together, so that when the provider returns they leave
    in priority order.
    """
    out = Outcome()
    for row, result in zip(rows, results, strict=True):
        if result.ok:
            error = FOUND_AT_PROVIDER if result.reconciled else None
            out.add(row, "sent", next_attempt=now, provider_id=result.provider_id, error=error)
        elif result.failure is Failure.unknown:
            _unknown(out, row, result, began=began, now=now, settings=settings)
        elif result.failure is Failure.transient or result.failure is None:
            _transient(out, row, result, now=now, settings=settings, outage=outage)
        else:
            out.add(row, "failed", next_attempt=now, provider_id=result.provider_id, error=result.error)
            if result.failure is Failure.bad_recipient and row["channel"] == "push" and not row["topic"]:
                out.dead_tokens.append(row["recipient"])
            elif result.failure is Failure.opted_out and row["channel"] == "sms":
                out.opted_out_phones.append(row["recipient"])
    return out


def _unknown(
    out: Outcome, row: asyncpg.Record, result: SendResult, *, began: datetime, now: datetime, settings: NotifySettings
) -> None:
    """The provider may have the message: one more try at most, after a longer wait; then never again."""
    if row["unknown_since"] is not None or row["attempts"] >= row["max_attempts"]:
        error = f"not sent again after {row['attempts']} attempts whose outcome is unknown: {result.error}"
        out.add(row, "unknown", next_attempt=now, error=error)
        return
    # The channel asks for at least twice its timeout (retry_after_s), so the provider is done with the first try.
    wait = backoff(row["attempts"], settings, retry_after_s=result.retry_after_s)
    out.add(row, "pending", next_attempt=now + wait, error=f"outcome unknown: {result.error}", unknown_since=began)


def _transient(
    out: Outcome, row: asyncpg.Record, result: SendResult, *, now: datetime, settings: NotifySettings, outage: bool
) -> None:
    if outage:
        out.add(row, "pending", next_attempt=now, error=result.error, refund=True)
    elif row["attempts"] >= row["max_attempts"]:
        # After an attempt whose outcome is unknown, the message may have arrived all the same.
        state = "failed" if row["unknown_since"] is None else "unknown"
        out.add(row, state, next_attempt=now, error=f"gave up after {row['attempts']} attempts: {result.error}")
    else:
        wait = backoff(row["attempts"], settings, retry_after_s=result.retry_after_s)
        out.add(row, "pending", next_attempt=now + wait, error=result.error)


def is_outage(results: Sequence[SendResult]) -> bool:
    # One message failing alone may be that message's own problem, so it takes the usual backoff. An unknown
    # outcome is no outage: its attempt is not given back, or a provider that is slow but working would get every
    # message again and again.
    return len(results) > 1 and all(not r.ok and r.failure in (Failure.transient, None) for r in results)
