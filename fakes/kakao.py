"""A fake Kakao i Open Builder: the caller of our skill, as KakaoTalk's chatbot platform is.

It sends skill payloads (``userRequest.utterance``, ``userRequest.user.id`` as a botUserKey, ``bot``, ``intent``,
``action``) headed with the shared secret as the skill's settings would be, and checks each answer against the skill
response format: version "2.0"; ``template.outputs`` of 1 to 3 components, a ``simpleText`` at most 1,000
characters; at most 10 ``quickReplies``, each labelled in at most 14 characters, with ``messageText`` (action
``message``) or ``blockId`` (action ``block``); or ``useCallback`` only when the request carried a callbackUrl.

It serves the one-time callback URLs it hands out (``/v1/skill/callback/<token>``): each takes one POST of a
skill response within a minute, as Kakao's does. Failures on command: ``down`` (503), ``delay``, ``fail_callbacks``
(the status every callback post gets, e.g. 500).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

import httpx

from fakes.provider import FakeProvider, read_body

VERSION = "2.0"
CALLBACK_PATH = "/v1/skill/callback/"
CALLBACK_VALID_S = 60.0
MAX_OUTPUTS, MAX_TEXT, MAX_QUICK_REPLIES, MAX_LABEL = 3, 1000, 10, 14
COMPONENTS = frozenset({"simpleText", "simpleImage", "basicCard", "commerceCard", "listCard", "itemCard", "carousel"})


class SkillFormatError(AssertionError):
    """Our answer breaks Kakao's skill response format: KakaoTalk would show the person an error instead."""


class Answer(NamedTuple):
    status: int
    body: Any  # the JSON answer (a skill response, or a problem+json)
    callback_token: str | None  # the callback URL's token, when the request carried one
    sent: bytes  # the request's body, to send again as Kakao would retry it

    @property
    def texts(self) -> list[str]:
        """The simpleText outputs' texts of a skill response."""
        return texts_of(self.body)

    @property
    def quick_replies(self) -> list[str]:
        return labels_of(self.body)


def texts_of(body: Any) -> list[str]:
    outputs = ((body or {}).get("template") or {}).get("outputs") or []
    return [o["simpleText"]["text"] for o in outputs if "simpleText" in o]


def labels_of(body: Any) -> list[str]:
    return [q["label"] for q in ((body or {}).get("template") or {}).get("quickReplies") or []]


def format_problems(body: Any, *, callback_allowed: bool) -> list[str]:
    """What in ``body`` breaks the skill response format (empty when it is a valid answer)."""
    if not isinstance(body, dict):
        return ["the answer is not a JSON object"]
    problems = []
    if body.get("version") != VERSION:
        problems.append(f"version is {body.get('version')!r}, not {VERSION!r}")
    if body.get("useCallback") is not None:
        if body["useCallback"] is not True:
            problems.append("useCallback is not true")
        elif not callback_allowed:
            problems.append("useCallback without a callbackUrl in the request")
        data = body.get("data")
        if data is not None and not (isinstance(data, dict) and all(isinstance(v, str) for v in data.values())):
            problems.append("data is not an object of strings")
        return problems
    template = body.get("template")
    if not isinstance(template, dict):
        return [*problems, "no template (and no useCallback)"]
    outputs = template.get("outputs")
    if not isinstance(outputs, list) or not 1 <= len(outputs) <= MAX_OUTPUTS:
        problems.append(f"template.outputs must hold 1 to {MAX_OUTPUTS} components")
    for i, output in enumerate(outputs or []):
        kinds = set(output) if isinstance(output, dict) else set()
        if len(kinds) != 1 or not kinds <= COMPONENTS:
            problems.append(f"outputs[{i}] is not one known component: {sorted(kinds)}")
        elif "simpleText" in output:
            text = (output["simpleText"] or {}).get("text")
            if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
                problems.append(f"outputs[{i}].simpleText.text must be 1 to {MAX_TEXT} characters")
    quick = template.get("quickReplies") or []
    if len(quick) > MAX_QUICK_REPLIES:
        problems.append(f"{len(quick)} quickReplies, more than {MAX_QUICK_REPLIES}")
    for i, reply in enumerate(quick):
        label = reply.get("label")
        if not isinstance(label, str) or not 1 <= len(label) <= MAX_LABEL:
            problems.append(f"quickReplies[{i}].label {label!r} must be 1 to {MAX_LABEL} characters")
        action = reply.get("action")
        if action == "message" and not reply.get("messageText"):
            problems.append(f"quickReplies[{i}] (action message) has no messageText")
        elif action == "block" and not reply.get("blockId"):
            problems.append(f"quickReplies[{i}] (action block) has no blockId")
        elif action not in ("message", "block"):
            problems.append(f"quickReplies[{i}].action {action!r} is not message or block")
    return problems


class FakeKakao(FakeProvider):
    """Open Builder calling our skill (``say``), and the callback URLs it serves (``callbacks``)."""

    def __init__(
        self,
        *,
        secret: str = "local-fake-kakao-skill-secret",  # noqa: S107 - the fake's own, for local runs
        header: str = "X-Safecity-Skill-Secret",
        skill_path: str = "/webhooks/kakao/skill",
    ) -> None:
        super().__init__()
        self.secret = secret
        self.header = header
        self.skill_path = skill_path
        self.bot_id = "5f0c8a1b2c3d4e5f6a7b8c9d"
        self._issued: dict[str, float] = {}  # token → when its request was sent
        self.callbacks: dict[str, Any] = {}  # token → the skill response posted to it
        self.refused: list[tuple[str, int]] = []  # callback posts answered with an error: (token, status)
        self._fail_callbacks: int | None = None

    def payload(self, utterance: Any, *, user: str, callback: bool = False) -> tuple[dict[str, Any], str | None]:
        """A skill payload as Open Builder posts it, and its callback token when ``callback``."""
        request: dict[str, Any] = {
            "timezone": "Asia/Seoul",
            "params": {"ignoreMe": "true"},
            "block": {"id": "6123abcd0123456789abcdef", "name": "폴백 블록"},
            "utterance": utterance,
            "lang": "ko",
            "user": {"id": user, "type": "botUserKey", "properties": {"plusfriendUserKey": f"pf-{user}"}},
        }
        token = None
        if callback:
            assert self.url, "serve the fake first: its callback URLs must reach it"
            token = secrets.token_hex(16)
            request["callbackUrl"] = f"{self.url}{CALLBACK_PATH}{token}"
            with self._lock:
                self._issued[token] = time.monotonic()
        body = {
            "intent": {"id": "6123abcd0123456789abcdee", "name": "폴백 블록"},
            "userRequest": request,
            "bot": {"id": self.bot_id, "name": "서울안전 도우미"},
            "action": {"name": "safecity", "clientExtra": None, "params": {}, "id": "skill-1", "detailParams": {}},
            "contexts": [],
        }
        return body, token

    async def say(
        self,
        http: httpx.AsyncClient,
        utterance: Any,
        *,
        user: str,
        callback: bool = False,
        secret: str | None = None,
        raw: bytes | None = None,
        check: bool = True,
    ) -> Answer:
        """Send one message to our skill (or ``raw`` bytes) and read its answer; a 200 is checked against the format.

        ``secret=""`` sends no secret header at all; any other value is sent in place of the configured one.
        """
        body, token = self.payload(utterance, user=user, callback=callback)
        given = self.secret if secret is None else secret
        headers = {"Content-Type": "application/json", **({self.header: given} if given else {})}
        content = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
        response = await http.post(self.skill_path, content=content, headers=headers)
        answer = Answer(response.status_code, response.json() if response.content else None, token, content)
        if check and response.status_code == 200:
            problems = format_problems(answer.body, callback_allowed=callback)
            if problems:
                raise SkillFormatError(f"{problems}: {answer.body}")
        return answer

    async def resend(self, http: httpx.AsyncClient, answer: Answer) -> Answer:
        """Send the very request ``answer`` answered again, as Kakao retries one it got no answer to."""
        headers = {"Content-Type": "application/json", self.header: self.secret}
        response = await http.post(self.skill_path, content=answer.sent, headers=headers)
        again = Answer(response.status_code, response.json(), answer.callback_token, answer.sent)
        problems = format_problems(again.body, callback_allowed=answer.callback_token is not None)
        if response.status_code == 200 and problems:
            raise SkillFormatError(f"{problems}: {again.body}")
        return again

    async def callback(self, token: str, *, timeout_s: float = 30.0) -> Any:
        """The skill response posted to the callback URL ``token`` (waiting for it), checked against the format."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                if token in self.callbacks:
                    body = self.callbacks[token]
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing was posted to callback {token} within {timeout_s}s")
            await asyncio.sleep(0.05)
        problems = format_problems(body, callback_allowed=False)
        if problems:
            raise SkillFormatError(f"callback {token}: {problems}: {body}")
        return body

    def fail_callbacks(self, status: int | None) -> None:
        """Answer every callback post with ``status`` (None: accept them again)."""
        with self._lock:
            self._fail_callbacks = status

    def reset(self) -> None:
        with self._lock:
            self._clear_controls()
            self._issued.clear()
            self.callbacks.clear()
            self.refused.clear()
            self._fail_callbacks = None

    def _control(self, command: Mapping[str, Any]) -> None:
        if "fail_callbacks" in command:
            self.fail_callbacks(command["fail_callbacks"])

    async def _handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        path, body = scope["path"], await read_body(receive)
        if path == "/_fake/control":
            self.control(json.loads(body or b"{}"))
            await _json(send, 200, {"ok": True})
            return
        if path == "/_fake/sent":
            with self._lock:
                await _json(send, 200, {"callbacks": dict(self.callbacks), "refused": list(self.refused)})
            return
        if not (path.startswith(CALLBACK_PATH) and scope["method"] == "POST"):
            await _json(send, 404, {"status": "FAIL", "message": "not found"})
            return
        await self._observed(path)
        with self._lock:
            down, delay, failing = self._down, self._delay, self._fail_callbacks
        if delay:
            await asyncio.sleep(delay)
        token = path.removeprefix(CALLBACK_PATH)
        status, answer = self._take(token, body, 503 if down else failing)
        await _json(send, status, answer)

    def _take(self, token: str, body: bytes, failing: int | None) -> tuple[int, dict[str, Any]]:
        """The callback URL's answer: once per token, within its minute, a skill response."""
        with self._lock:
            issued = self._issued.get(token)
            if failing is not None:
                self.refused.append((token, failing))
                return failing, {"status": "FAIL", "message": "callback failed on command"}
            if issued is None or token in self.callbacks:
                self.refused.append((token, 400))
                return 400, {"status": "FAIL", "message": "unknown or already used callback"}
            if time.monotonic() - issued > CALLBACK_VALID_S:
                self.refused.append((token, 400))
                return 400, {"status": "FAIL", "message": "callback expired"}
            try:
                self.callbacks[token] = json.loads(body)
            except ValueError:
                self.refused.append((token, 400))
                return 400, {"status": "FAIL", "message": "not JSON"}
        return 200, {"taskId": token, "status": "SUCCESS", "message": "OK", "timestamp": int(time.time() * 1000)}


async def _json(send: Any, status: int, payload: object) -> None:
    data = json.dumps(payload, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": data})
