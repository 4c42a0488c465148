"""SOLAPI's webhooks: delivery reports of our Korean SMS, LMS and 알림톡, and texts people send to our 발신번호.

SOLAPI registers a webhook as a URL with an optional secret (``POST /webhook/v1/outgoing``) and posts its report
events as JSON; its public documentation says nothing of how the secret is presented, nor of a format for inbound
texts. So both webhooks are verified by a shared secret, ``SOLAPI_WEBHOOK_SECRET``, compared in constant time and
given either as the header ``X-Solapi-Webhook-Secret`` or as the query parameter ``secret`` of the registered URL;
inbound texts take the report's envelope (docs/messages.md#solapi-webhooks).
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import msgspec
import structlog
from litestar import Controller, Request, post
from litestar.background_tasks import BackgroundTask, BackgroundTasks
from litestar.response import Response
from litestar.status_codes import HTTP_200_OK

from api.platform.auth.guards import PUBLIC
from api.platform.db.pool import Db
from api.platform.errors import Forbidden, Problem, Unprocessable
from api.platform.openapi import documented
from api.platform.phones import normalise_phone
from api.platform.settings import Settings
from notifications import inbound, receipts

log = structlog.get_logger(__name__)

SECRET_HEADER = "X-Solapi-Webhook-Secret"  # noqa: S105 - a header's name
REPORTS_BODY_LIMIT = 1024 * 1024  # SOLAPI posts reports in batches

MessageId = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class ReportData(msgspec.Struct, frozen=True, rename="camel"):
    """One message's report, as the SDK's ``SingleReportData`` reads it (other fields are ignored)."""

    message_id: MessageId
    status_code: Annotated[str, msgspec.Meta(pattern=r"^\d{4}$")]
    status_message: str | None = None
    to: str | None = None
    type: str | None = None
    custom_fields: dict[str, Any] | None = None


class ReportEvent(msgspec.Struct, frozen=True, rename="camel"):
    data: ReportData
    event_data_id: str | None = None
    retry_count: int | None = None


class InboundData(msgspec.Struct, frozen=True, rename={"sender": "from", "message_id": "messageId"}):
    """A text someone sent to our number: our design, in the report's shape (SOLAPI documents none)."""

    message_id: MessageId
    sender: Annotated[str, msgspec.Meta(min_length=1, max_length=30)]
    text: Annotated[str, msgspec.Meta(max_length=2000)]
    to: str | None = None


class InboundEvent(msgspec.Struct, frozen=True, rename="camel"):
    data: InboundData
    event_data_id: str | None = None
    retry_count: int | None = None


class Received(msgspec.Struct, frozen=True, kw_only=True):
    received: int
    unknown: int = 0


_DATA = {"type": "object", "required": ["messageId"], "properties": {"messageId": {"type": "string"}}}
REPORT_BODY = {
    "application/json": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["data"],
            "properties": {
                "eventDataId": {"type": "string"},
                "retryCount": {"type": "integer"},
                "data": _DATA
                | {
                    "required": ["messageId", "statusCode"],
                    "properties": {
                        "messageId": {"type": "string"},
                        "statusCode": {"type": "string", "pattern": "^[0-9]{4}$"},
                        "statusMessage": {"type": "string"},
                        "to": {"type": "string"},
                        "customFields": {"type": "object"},
                    },
                },
            },
        },
    }
}
INBOUND_BODY = {
    "application/json": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["data"],
            "properties": {
                "eventDataId": {"type": "string"},
                "data": _DATA
                | {
                    "required": ["messageId", "from", "text"],
                    "properties": {
                        "messageId": {"type": "string"},
                        "from": {"type": "string"},
                        "to": {"type": "string"},
                        "text": {"type": "string", "maxLength": 2000},
                    },
                },
            },
        },
    }
}

E = TypeVar("E", ReportEvent, InboundEvent)


async def _verified(request: Request[Any, Any, Any], kind: type[E]) -> list[E]:
    """The webhook's events, once its shared secret matches; one event or a list of them."""
    settings: Settings = request.app.state.settings
    secret = settings.solapi.webhook_secret
    if not secret:
        raise Forbidden("SOLAPI webhooks are refused until SOLAPI_WEBHOOK_SECRET is set.", code="webhooks_disabled")
    given = request.headers.get(SECRET_HEADER) or request.query_params.get("secret") or ""
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise Forbidden(f"The {SECRET_HEADER} header (or ?secret=) is missing or does not match.", code="bad_secret")
    body = await request.body()
    try:
        events = msgspec.json.decode(body, type=list[kind] | kind)  # type: ignore[valid-type]
    except msgspec.ValidationError as exc:
        raise Unprocessable(f"Not a SOLAPI event: {exc}.", code="bad_callback") from None
    except msgspec.DecodeError:
        raise Problem("The body is not JSON.", code="bad_json") from None
    return events if isinstance(events, list) else [events]


def _outbox_id(fields: dict[str, Any] | None) -> int | None:
    raw = str((fields or {}).get("outbox", ""))
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**63 else None


class SolapiWebhooks(Controller):
    path = "/webhooks/solapi"
    tags = ["webhooks"]

    @post(
        "/report",
        opt=PUBLIC,
        status_code=HTTP_200_OK,
        request_max_body_size=REPORTS_BODY_LIMIT,
        operation_class=documented(body=REPORT_BODY),
    )
    async def report(self, request: Request, db: Db) -> Received:
        """SOLAPI's delivery reports (JSON, with the shared secret); a report for a message we do not know is noted."""
        events = await _verified(request, ReportEvent)
        now = datetime.now(UTC)
        unknown = 0
        for event in events:
            state = await receipts.record_solapi_report(
                db,
                message_id=event.data.message_id,
                status_code=event.data.status_code,
                status_message=event.data.status_message,
                now=now,
                outbox_id=_outbox_id(event.data.custom_fields),
                to=event.data.to,
            )
            unknown += state is None and event.data.status_code not in ("2000", "3000")
        return Received(received=len(events), unknown=unknown)

    @post("/inbound", opt=PUBLIC, status_code=HTTP_200_OK, operation_class=documented(body=INBOUND_BODY))
    async def inbound(self, request: Request, db: Db) -> Response[Received]:
        """Texts to our Korean number (JSON, with the shared secret): opt-out words, check-ins, questions."""
        events = await _verified(request, InboundEvent)
        texts: list[inbound.InboundSms] = []
        for event in events:
            try:
                phone = normalise_phone(event.data.sender, mobile=False)
            except ValueError as exc:
                raise Unprocessable(str(exc), code="bad_sender") from None
            texts.append(
                inbound.InboundSms(
                    message_sid=event.data.message_id,
                    phone=phone,
                    to=event.data.to,
                    body=event.data.text,
                    received_at=datetime.now(UTC),
                )
            )
        state = request.app.state
        tasks: list[BackgroundTask] = []
        for sms in texts:
            handled_by = await inbound.receive(db, sms=sms, notifier=state.notifier, handlers=state.inbound_handlers)
            # As for Twilio's: a domain's work after commit (the chatbot's answer), by the message's id.
            followup = state.inbound_followups.get(handled_by)
            if followup:
                tasks.append(BackgroundTask(followup, state, sms.message_sid))
        return Response(Received(received=len(texts)), background=BackgroundTasks(tasks) if tasks else None)
