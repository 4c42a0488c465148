"""Twilio's webhooks (status callbacks, inbound SMS), operators' view of delivery, and citizens' acks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT
from twilio.request_validator import RequestValidator

from api.platform.auth.guards import PUBLIC, allow, signed_in_citizen
from api.platform.auth.tokens import Principal, Role
from api.platform.db.pool import Db
from api.platform.errors import Forbidden, Unprocessable
from api.platform.openapi import documented, form
from api.platform.phones import normalise_phone
from api.platform.settings import Settings
from api.platform.types import Id
from notifications import deliveries as views
from notifications import inbound, receipts
from notifications.schemas import Acknowledged, DeliveryPage, DeliveryState, DeliverySummary

# What Twilio posts (its own fields come beside these, and the signature covers them all).
STATUS_FORM = {
    "application/x-www-form-urlencoded": form(
        {
            "MessageSid": {"type": "string"},
            "MessageStatus": {"type": "string", "enum": ["queued", "sent", "delivered", "undelivered", "failed"]},
            "ErrorCode": {"type": "string"},
        },
        required=("MessageSid", "MessageStatus"),
    )
}
INBOUND_FORM = {
    "application/x-www-form-urlencoded": form(
        {
            "MessageSid": {"type": "string"},
            "From": {"type": "string"},
            "To": {"type": "string"},
            "Body": {"type": "string"},
        },
        required=("MessageSid", "From", "Body"),
    )
}
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def _signed_form(request: Request[Any, Any, State]) -> dict[str, str]:
    """The webhook's form fields, once ``X-Twilio-Signature`` proves Twilio sent them."""
    settings: Settings = request.app.state.settings
    token = settings.twilio.auth_token
    if not token:
        raise Forbidden("Twilio webhooks are refused until TWILIO_AUTH_TOKEN is set.", code="webhooks_disabled")
    form = await request.form()
    signature = request.headers.get("x-twilio-signature", "")
    # Twilio signs the URL it called, which behind a proxy is the public one, not the one we were reached at.
    url = str(request.url)
    if settings.notify.public_url:
        query = f"?{request.url.query}" if request.url.query else ""
        url = settings.notify.public_url.rstrip("/") + request.url.path + query
    if not signature or not RequestValidator(token).validate(url, form, signature):
        raise Forbidden("The X-Twilio-Signature header is missing or does not match.", code="bad_signature")
    return {k: str(v) for k, v in form.items()}


class TwilioWebhooks(Controller):
    path = "/webhooks/twilio"
    tags = ["webhooks"]
    include_in_schema = True

    @post("/status", opt=PUBLIC, status_code=HTTP_204_NO_CONTENT, operation_class=documented(body=STATUS_FORM))
    async def status(
        self, request: Request, db: Db, outbox: Annotated[int | None, QueryParameter(ge=1)] = None
    ) -> None:
        """Twilio's delivery report for an SMS we sent (signed form post); ``outbox`` names the delivery it was for."""
        form = await _signed_form(request)
        sid = form.get("MessageSid") or form.get("SmsSid")
        if not sid or "MessageStatus" not in form:
            raise Unprocessable("A status callback needs MessageSid and MessageStatus.", code="bad_callback")
        await receipts.record_sms_status(
            db,
            message_sid=sid,
            status=form["MessageStatus"],
            error_code=form.get("ErrorCode") or None,
            now=datetime.now(UTC),
            outbox_id=outbox,
            to=form.get("To"),
        )

    @post(
        "/sms",
        opt=PUBLIC,
        status_code=HTTP_200_OK,
        operation_class=documented(body=INBOUND_FORM, answers={"text/xml": {"type": "string"}}),
    )
    async def sms(self, request: Request, db: Db) -> Response[str]:
        """An SMS to our number (signed form post): opt-out and opt-in words, check-ins, questions."""
        form = await _signed_form(request)
        missing = [f for f in ("MessageSid", "From", "Body") if f not in form]
        if missing:
            raise Unprocessable(f"An inbound SMS needs {', '.join(missing)}.", code="bad_callback")
        try:
            phone = normalise_phone(form["From"], mobile=False)
        except ValueError as exc:
            raise Unprocessable(str(exc), code="bad_sender") from None
        sms = inbound.InboundSms(
            message_sid=form["MessageSid"],
            phone=phone,
            to=form.get("To"),
            body=form["Body"],
            received_at=datetime.now(UTC),
        )
        state = request.app.state
        handled_by = await inbound.receive(db, sms=sms, notifier=state.notifier, handlers=state.inbound_handlers)
        # Work a domain does once the text is committed (the chatbot's answer), by the message's id; the
        # domain's own job picks up whatever this misses.
        followup = state.inbound_followups.get(handled_by)
        background = BackgroundTask(followup, state, sms.message_sid) if followup else None
        # Replies go through the outbox, not TwiML, so they are retried and recorded like every other message.
        return Response(_EMPTY_TWIML, media_type="text/xml", background=background)


class NotificationAdmin(Controller):
    path = "/v1/admin/notifications"
    tags = ["notifications"]

    @get("/", opt=allow(Role.operator))
    async def list_deliveries(
        self,
        db: Db,
        recipient: FromQuery[str | None] = None,
        channel: Annotated[str | None, QueryParameter(pattern="^(sms|push)$")] = None,
        delivery_state: Annotated[DeliveryState | None, QueryParameter(name="state")] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        notice_id: Annotated[int | None, QueryParameter(ge=1)] = None,
        before_id: Annotated[int | None, QueryParameter(ge=1)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> DeliveryPage:
        """Deliveries newest first; ``before_id`` pages on. A recipient may be typed as a phone number."""
        return await views.list_deliveries(
            db,
            recipient=_recipient(recipient),
            channel=channel,
            state=delivery_state,
            since=since,
            until=until,
            notice_id=notice_id,
            before_id=before_id,
            limit=limit,
        )

    @get("/summary", opt=allow(Role.operator))
    async def summary(
        self, db: Db, since: FromQuery[datetime | None] = None, until: FromQuery[datetime | None] = None
    ) -> DeliverySummary:
        """How many deliveries are in each state, by channel."""
        return await views.summary(db, since=since, until=until)


class NoticeAcks(Controller):
    path = "/v1/me/notices"
    tags = ["notifications"]

    @post("/{notice_id:int}/ack", opt=allow(Role.citizen), status_code=HTTP_200_OK)
    async def ack(self, request: Request[Principal, Any, Any], db: Db, notice_id: FromPath[Id]) -> Acknowledged:
        """The app confirms the citizen saw a push (``data.notice_id``); its SMS fallback is then not sent."""
        citizen_id = signed_in_citizen(request)
        return await receipts.acknowledge(db, notice_id=notice_id, citizen_id=citizen_id, now=datetime.now(UTC))


def _recipient(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return normalise_phone(raw, mobile=False)
    except ValueError:
        return raw.strip()  # a device token or a topic name
