"""The fake Twilio's Calls API (``POST …/Calls.json``) and Twilio's side of a call: the person it rings.

Creating a call records it, as Twilio queues it. A test then plays what happens at the other end: someone answers
and presses digits or says words (``answer``), or hangs up at the menu (``answer`` with no more input), or the line
is busy, nobody answers, voicemail picks up, the call fails. Playing runs our TwiML as Twilio would: it says the
``<Say>`` texts (kept in ``said``), and at a ``<Gather>`` posts the next input, or silence, to its action and runs the
TwiML that comes back. Every webhook is signed; status callbacks carry Twilio's ``SequenceNumber``.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qs

import httpx
from defusedxml import ElementTree

if TYPE_CHECKING:
    from fakes.twilio import FakeTwilio

API_VERSION = "2010-04-01"
HUMAN, MACHINE = "human", "machine_end_beep"


class Speech(NamedTuple):
    """Words said at a menu, as Twilio's recogniser hands them on."""

    text: str
    confidence: float = 0.92


# What the person does at each menu: digits pressed, words said, or None for silence.
Input = str | Speech | None


class Webhook(NamedTuple):
    url: str
    params: dict[str, str]
    status: int
    body: str


class FakeCalls:
    """The calls one fake Twilio placed, and their playing; ``calls`` are the records, oldest first."""

    def __init__(self, twilio: FakeTwilio) -> None:
        self._twilio = twilio
        self._calls: list[dict[str, Any]] = []
        self._by_sid: dict[str, dict[str, Any]] = {}
        self.requests = 0

    @property
    def calls(self) -> list[dict[str, Any]]:
        """Each call placed: To, From, Twiml, StatusCallback, MachineDetection, sid, said, webhooks, status."""
        with self._twilio._lock:
            return [_copy(c) for c in self._calls]

    def get(self, sid: str) -> dict[str, Any]:
        with self._twilio._lock:
            return _copy(self._by_sid[sid])

    def to(self, phone: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["To"] == phone]

    def reset(self) -> None:
        self._calls.clear()
        self._by_sid.clear()
        self.requests = 0

    # -- the REST API -----------------------------------------------------------------------------------------------

    def create(self, body: bytes) -> tuple[int, Any]:
        """Accept a call (the caller checked our credentials and failures already): Twilio queues it."""
        form = parse_qs(body.decode(), keep_blank_values=True)
        one = {key: values[0] for key, values in form.items()}
        to, from_ = one.get("To"), one.get("From")
        if not to:
            return 400, _error(21201, "No 'To' number is specified")
        if not from_:
            return 400, _error(21213, "No 'From' number is specified")
        if not (one.get("Twiml") or one.get("Url") or one.get("ApplicationSid")):
            return 400, _error(21205, "Url parameter is required")
        record = {
            "sid": "CA" + uuid.uuid4().hex,
            "To": to,
            "From": from_,
            "Twiml": one.get("Twiml"),
            "Url": one.get("Url"),
            "StatusCallback": one.get("StatusCallback") or None,
            "StatusCallbackEvent": form.get("StatusCallbackEvent", []),
            "MachineDetection": one.get("MachineDetection") or None,
            "Timeout": one.get("Timeout"),
            "status": "queued",
            "said": [],
            "webhooks": [],
            "received_at": datetime.now(UTC),
        }
        with self._twilio._lock:
            self.requests += 1
            self._calls.append(record)
            self._by_sid[record["sid"]] = record
        return 201, self._resource(record)

    def _resource(self, record: Mapping[str, Any]) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC), usegmt=True)
        account = self._twilio.account_sid
        uri = f"/{API_VERSION}/Accounts/{account}/Calls/{record['sid']}"
        return {
            "account_sid": account,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": record["From"],
            "from_formatted": record["From"],
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "sid": record["sid"],
            "start_time": None,
            "status": "queued",
            "subresource_uris": {"recordings": f"{uri}/Recordings.json"},
            "to": record["To"],
            "to_formatted": record["To"],
            "uri": f"{uri}.json",
        }

    # -- the other end of the line ----------------------------------------------------------------------------------

    async def answer(self, sid: str, *inputs: Input, client: httpx.AsyncClient | None = None) -> dict[str, Any]:
        """A person answers and meets each menu with the next input; with none left, they hang up."""
        await self._progress(sid, "initiated", client=client)
        await self._progress(sid, "ringing", client=client)
        await self._progress(sid, "in-progress", client=client, answered_by=HUMAN)
        await self._run(sid, list(inputs), answered_by=HUMAN, client=client)
        return await self._end(sid, "completed", client=client, answered_by=HUMAN)

    async def voicemail(self, sid: str, *, client: httpx.AsyncClient | None = None) -> dict[str, Any]:
        """Voicemail picks up: Twilio's machine detection says so, and the machine says nothing at a menu."""
        await self._progress(sid, "initiated", client=client)
        await self._progress(sid, "ringing", client=client)
        await self._progress(sid, "in-progress", client=client, answered_by=MACHINE)
        await self._run(sid, [None, None, None], answered_by=MACHINE, client=client)
        return await self._end(sid, "completed", client=client, answered_by=MACHINE)

    async def busy(self, sid: str, *, client: httpx.AsyncClient | None = None) -> dict[str, Any]:
        await self._progress(sid, "initiated", client=client)
        return await self._end(sid, "busy", client=client)

    async def no_answer(self, sid: str, *, client: httpx.AsyncClient | None = None) -> dict[str, Any]:
        await self._progress(sid, "initiated", client=client)
        await self._progress(sid, "ringing", client=client)
        return await self._end(sid, "no-answer", client=client)

    async def fail(self, sid: str, *, client: httpx.AsyncClient | None = None) -> dict[str, Any]:
        await self._progress(sid, "initiated", client=client)
        return await self._end(sid, "failed", client=client)

    async def replay(self, sid: str, index: int = -1, *, client: httpx.AsyncClient | None = None) -> Webhook:
        """Post one of the call's webhooks again, exactly, as Twilio does when it got no answer in time."""
        hook = self.get(sid)["webhooks"][index]
        return await self._post(sid, hook.url, dict(hook.params), client)

    async def _run(self, sid: str, inputs: list[Input], *, answered_by: str, client: httpx.AsyncClient | None) -> None:
        """Execute the call's TwiML, and each document a gather's action answers with, until the call ends."""
        document = self.get(sid)["Twiml"] or ""
        for _ in range(10):  # no real call goes through more menus than this
            gather = self._execute(sid, document)
            if gather is None:
                return
            if not inputs:
                return  # they hang up at the menu
            action, given = gather, inputs.pop(0)
            params = self._params(sid, "in-progress") | _input(given)
            if self.get(sid)["MachineDetection"]:
                params["AnsweredBy"] = answered_by
            hook = await self._post(sid, action, params, client)
            if hook.status != 200:
                return
            document = hook.body

    def _execute(self, sid: str, document: str) -> str | None:
        """Say what the document says; the action of the gather it ends at, or None when it hangs up or ends."""
        root = ElementTree.fromstring(document.encode())
        said: list[str] = []
        action: str | None = None
        for verb in root:
            if verb.tag == "Say":
                said.append(verb.text or "")
            elif verb.tag == "Gather":
                said += [say.text or "" for say in verb if say.tag == "Say"]
                action = verb.get("action")
                break
            elif verb.tag == "Hangup":
                break
        with self._twilio._lock:
            self._by_sid[sid]["said"].extend(s for s in said if s)
        return action

    async def _progress(
        self, sid: str, status: str, *, client: httpx.AsyncClient | None, answered_by: str | None = None
    ) -> None:
        event = {"initiated": "initiated", "ringing": "ringing", "in-progress": "answered"}[status]
        with self._twilio._lock:
            record = self._by_sid[sid]
            record["status"] = status
            wanted = event in record["StatusCallbackEvent"]
        if wanted:
            await self._callback(sid, status, client, answered_by=answered_by)

    async def _end(
        self, sid: str, status: str, *, client: httpx.AsyncClient | None, answered_by: str | None = None
    ) -> dict[str, Any]:
        with self._twilio._lock:
            self._by_sid[sid]["status"] = status
        await self._callback(sid, status, client, answered_by=answered_by, duration="12" if answered_by else "0")
        return self.get(sid)

    async def _callback(
        self,
        sid: str,
        status: str,
        client: httpx.AsyncClient | None,
        *,
        answered_by: str | None = None,
        duration: str | None = None,
    ) -> None:
        record = self.get(sid)
        if not record["StatusCallback"]:
            return
        with self._twilio._lock:
            seq = record.setdefault("_seq", itertools.count())
            self._by_sid[sid]["_seq"] = seq
            number = next(seq)
        params = self._params(sid, status) | {
            "SequenceNumber": str(number),
            "CallbackSource": "call-progress-events",
            "Timestamp": format_datetime(datetime.now(UTC), usegmt=True),
        }
        if answered_by and record["MachineDetection"]:
            params["AnsweredBy"] = answered_by
        if duration is not None:
            params |= {"CallDuration": duration, "Duration": "1" if duration != "0" else "0"}
        await self._post(sid, record["StatusCallback"], params, client)

    def _params(self, sid: str, status: str) -> dict[str, str]:
        record = self.get(sid)
        return {
            "AccountSid": self._twilio.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": sid,
            "CallStatus": status,
            "Direction": "outbound-api",
            "From": record["From"],
            "To": record["To"],
            "Called": record["To"],
            "Caller": record["From"],
        }

    async def _post(self, sid: str, url: str, params: dict[str, str], client: httpx.AsyncClient | None) -> Webhook:
        response = await self._twilio._post_signed(url, params, client)
        hook = Webhook(url=url, params=params, status=response.status_code, body=response.text)
        with self._twilio._lock:
            self._by_sid[sid]["webhooks"].append(hook)
        return hook


def _copy(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as it is now: what is played afterwards does not change it."""
    return {**record, "said": list(record["said"]), "webhooks": list(record["webhooks"])}


def _input(given: Input) -> dict[str, str]:
    if given is None:
        return {}
    if isinstance(given, Speech):
        return {"SpeechResult": given.text, "Confidence": str(given.confidence)}
    return {"Digits": given, "FinishedOnKey": ""}


def _error(code: int, message: str, status: int = 400) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
