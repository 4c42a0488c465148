"""Scheduled chat work: forward the texts the webhook's fast path did not answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.chat import conversation
from api.chat.rasa import RasaClient
from api.platform.jobs.registry import JobContext, job
from notifications.service import Notifier

GRACE = timedelta(seconds=10)  # the fast path's time to answer before the job steps in


@job("chat.sms-replies", every=timedelta(seconds=15))
async def sms_replies(ctx: JobContext) -> dict[str, Any]:
    """Forward to the chatbot every text still waiting for it, and send its answer (or an apology) by SMS."""
    if ctx.pool is None:
        raise RuntimeError("chat.sms-replies needs the worker's pool: Rasa is never called inside a transaction")
    rasa = RasaClient(ctx.settings.rasa)
    try:
        return await conversation.forward_due(
            ctx.pool,
            rasa,
            Notifier(ctx.settings.notify),
            now=ctx.now,
            grace=GRACE,
            lease_s=conversation.lease(ctx.settings.rasa.timeout_s),
        )
    finally:
        await rasa.aclose()
