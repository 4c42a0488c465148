"""How many sign-in codes the city sends in an hour: a ceiling on SMS cost that never locks out a real person.

Two budgets, counted from the codes actually sent (``otp_challenges``): one city-wide, and one per number
prefix (the number less its last four digits, e.g. ``+82101234``), since a run of made-up numbers shares its
first digits. Neither is per client address: carrier NAT puts thousands of phones behind one. A number that has
signed in before (a citizen exists) is outside the prefix budget, so a flood in its block does not lock it out.

Over budget the caller is answered exactly as when a code is sent, so nothing tells a registered number from
another; the first refusal of each budget in an hour is logged as a warning and every refusal is counted in
``signin_budget_alerts``, which the operators' console page shows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
import msgspec
import structlog

from api.accounts import repository as accounts_repository
from api.accounts import signin_repository as repository
from api.platform.phones import mask_phone
from api.platform.settings import AuthSettings

log = structlog.get_logger(__name__)

ALERTS_KEEP = timedelta(days=30)


class BudgetAlert(msgspec.Struct, frozen=True, kw_only=True):
    """An hour in which a budget refused codes: ``prefix`` is empty for the city-wide one."""

    budget: str
    prefix: str
    hour: datetime
    first_at: datetime
    last_at: datetime
    refused: int


def prefix_of(phone: str) -> str:
    """``+821012345678`` → ``+82101234``: the block a carrier hands out, which made-up numbers share."""
    return phone[:-4]


async def may_send(conn: asyncpg.Connection, *, settings: AuthSettings, phone: str, now: datetime) -> bool:
    """Whether a code may be sent to ``phone`` now; a refusal is recorded for operators. Call inside a transaction."""
    prefix = prefix_of(phone)
    await repository.lock_prefix(conn, prefix=prefix)
    sent = await repository.count_codes_sent(conn, prefix=prefix, since=now - timedelta(hours=1))
    if sent["total"] >= settings.otp_global_per_hour:
        await _refuse(conn, budget="global", prefix="", phone=phone, now=now, limit=settings.otp_global_per_hour)
        return False
    if sent["in_prefix"] >= settings.otp_prefix_per_hour:
        if await accounts_repository.get_citizen_by_phone(conn, phone) is not None:
            return True
        await _refuse(conn, budget="prefix", prefix=prefix, phone=phone, now=now, limit=settings.otp_prefix_per_hour)
        return False
    return True


async def _refuse(conn: asyncpg.Connection, *, budget: str, prefix: str, phone: str, now: datetime, limit: int) -> None:
    hour = now.replace(minute=0, second=0, microsecond=0)
    first = await repository.record_budget_refusal(conn, budget=budget, prefix=prefix, hour=hour, now=now)
    if first:
        log.warning(
            "sign-in code budget spent: codes are not being sent",
            budget=budget,
            prefix=prefix or None,
            per_hour=limit,
            phone=mask_phone(phone),
        )


async def recent_alerts(conn: asyncpg.Connection, *, now: datetime) -> list[BudgetAlert]:
    """The hours of the last day in which a budget refused codes, newest first: for the operators' page."""
    rows = await repository.budget_alerts_since(conn, since=now - timedelta(days=1))
    return [BudgetAlert(**dict(r)) for r in rows]


async def purge_alerts(conn: asyncpg.Connection, now: datetime) -> int:
    return await repository.purge_budget_alerts(conn, before=now - ALERTS_KEEP)
