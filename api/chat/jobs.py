"""Scheduled chat work: forward the texts the webhook's fast path did not answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.chat import conversation
from api.chat.rasa import RasaClient
from api.platform.jobs.registry import PoolContext, job
from notifications.service import Notifier

GRACE = timedelta(seconds=10)  # the fast path's time to answer before the job steps in


# Outside the slot's transaction: Rasa is never called inside one, and the slot's would sit idle for the whole run.
@job("chat.sms-replies", every=timedelta(seconds=15), transaction=False)
async def sms_replies(ctx: PoolContext) -> dict[str, Any]:
    """Forward to the chatbot every text still waiting for it, and send its answer (or an apology) by SMS."""
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
