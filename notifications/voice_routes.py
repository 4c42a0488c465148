"""Twilio's webhooks of our calls: the check-in menu's answers and the calls' status callbacks (signed form posts)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, post
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from api.platform.auth.guards import PUBLIC
from api.platform.db.pool import Db
from api.platform.errors import Unprocessable
from api.platform.openapi import documented, form
from notifications import voice
from notifications.routes import _signed_form

GATHER_FORM = {
    "application/x-www-form-urlencoded": form(
        {
            "CallSid": {"type": "string"},
            "Digits": {"type": "string"},
            "SpeechResult": {"type": "string"},
            "Confidence": {"type": "string"},
            "AnsweredBy": {"type": "string"},
        },
        required=("CallSid",),
    )
}
CALL_STATUS_FORM = {
    "application/x-www-form-urlencoded": form(
        {
            "CallSid": {"type": "string"},
            "CallStatus": {
                "type": "string",
                "enum": [
                    "queued",
                    "initiated",
                    "ringing",
                    "in-progress",
                    "completed",
                    "busy",
                    "no-answer",
                    "failed",
                    "canceled",
                ],
            },
            "SequenceNumber": {"type": "string"},
            "AnsweredBy": {"type": "string"},
        },
        required=("CallSid", "CallStatus"),
    )
}
OutboxId = Annotated[int, QueryParameter(ge=1)]


class TwilioVoiceWebhooks(Controller):
    path = "/webhooks/twilio/voice"
    tags = ["webhooks"]

    @post(
        "/gather",
        opt=PUBLIC,
        status_code=HTTP_200_OK,
        operation_class=documented(body=GATHER_FORM, answers={"text/xml": {"type": "string"}}),
    )
    async def gather(
        self, request: Request, db: Db, outbox: OutboxId, round_: Annotated[int, QueryParameter(name="round")] = 1
    ) -> Response[str]:
        """The answer to a check-in call's menu (digits or speech, or silence); the TwiML the call goes on with."""
        fields = await _signed_form(request)
        if not fields.get("CallSid"):
            raise Unprocessable("A gather needs CallSid.", code="bad_callback")
        state = request.app.state
        twiml = await voice.gather(
            db,
            form=fields,
            outbox_id=outbox,
            round_=round_,
            notifier=state.notifier,
            handlers=state.voice_handlers,
            public_url=state.settings.notify.public_url or str(request.base_url),
            now=request.app.state.clock(),
        )
        return Response(twiml, media_type="text/xml")

    @post("/status", opt=PUBLIC, status_code=HTTP_204_NO_CONTENT, operation_class=documented(body=CALL_STATUS_FORM))
    async def status(self, request: Request, db: Db, outbox: OutboxId) -> None:
        """A call's progress (ringing, answered, completed, busy, no-answer…), recorded as its delivery's result."""
        fields = await _signed_form(request)
        if not fields.get("CallSid") or not fields.get("CallStatus"):
            raise Unprocessable("A call status callback needs CallSid and CallStatus.", code="bad_callback")
        await voice.status(db, form=fields, outbox_id=outbox, now=request.app.state.clock())
