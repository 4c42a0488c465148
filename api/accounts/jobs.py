"""What accounts keeps no longer: sign-in codes and sign-in budget alerts, purged by the platform's hourly job."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from api.accounts import signin_budget, signin_repository

OTP_KEEP = timedelta(days=1)


async def purge_sign_in_codes(conn: asyncpg.Connection, now: datetime) -> int:
    return await signin_repository.purge_challenges(conn, before=now - OTP_KEEP)


async def purge_budget_alerts(conn: asyncpg.Connection, now: datetime) -> int:
    return await signin_budget.purge_alerts(conn, now)
