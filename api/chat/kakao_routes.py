"""The KakaoTalk channel chatbot: Kakao i Open Builder's skill webhook, and the app's side of linking.

Open Builder calls a skill with the headers set in its skill settings; ours carries a shared secret
(``KAKAO_SKILL_SECRET`` in the header ``KAKAO_SKILL_SECRET_HEADER``), compared in constant time before anything is
read or kept. Kakao waits 5 s for an answer: past ``KAKAO_REPLY_BUDGET`` the skill answers with ``useCallback`` and
posts the bot's answer to the request's callbackUrl later, or, without one, with a holding reply.
"""

from __future__ import annotations

import asyncio
import hmac
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, delete, post
from litestar.background_tasks import BackgroundTask
from litestar.response import Response
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from api.chat import conversation, kakao
from api.chat import kakao_messages as say
from api.chat import kakao_replies as replies
from api.chat.kakao_linking import app_code_for, unlink_citizen
from api.chat.kakao_schemas import SKILL_BODY, VERSION, LinkCodeRead, Reply, SkillRequest, SkillResponse
from api.platform.auth.guards import PUBLIC, allow, signed_in_citizen
from api.platform.auth.tokens import Principal, Role
from api.platform.db.pool import Db
from api.platform.errors import Forbidden, Problem, Unprocessable
from api.platform.openapi import documented
from api.platform.settings import Settings

SKILL_BODY_LIMIT = 64 * 1024  # a payload is a few KB: an utterance of at most 1,000 characters and Kakao's fields


def _verified(request: Request[Any, Any, Any], settings: Settings) -> None:
    kakao_settings = settings.kakao
    secret = kakao_settings.skill_secret
    header = kakao_settings.skill_secret_header
    if not secret:
        raise Forbidden("The KakaoTalk skill is refused until KAKAO_SKILL_SECRET is set.", code="webhooks_disabled")
    given = request.headers.get(header)
    if given is None:
        problem = Problem(f"The {header} header is missing.", code="secret_missing", status=401)
        problem.headers["WWW-Authenticate"] = f'SharedSecret header="{header}"'
        raise problem
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise Forbidden(f"The {header} header does not match the skill's secret.", code="bad_secret")


def _decoded(body: bytes) -> SkillRequest:
    try:
        skill = msgspec.json.decode(body, type=SkillRequest)
    except msgspec.ValidationError as exc:
        raise Unprocessable(f"Not a Kakao skill request: {exc}.", code="bad_skill_request") from None
    except msgspec.DecodeError:
        raise Problem("The body is not JSON; a skill request is Kakao's JSON payload.", code="bad_json") from None
    if skill.version not in (None, VERSION):
        raise Unprocessable(
            f"Skill version {skill.version!r} is not one this skill speaks; it answers version {VERSION}.",
            code="unknown_version",
            allowed=[VERSION],
        )
    return skill


class KakaoWebhooks(Controller):
    path = "/webhooks/kakao"
    tags = ["webhooks"]

    # No `db` here: no connection may be held while the bot's actions call back into the API.
    @post(
        "/skill",
        opt=PUBLIC,
        status_code=HTTP_200_OK,
        request_max_body_size=SKILL_BODY_LIMIT,
        operation_class=documented(body=SKILL_BODY),
    )
    async def skill(self, request: Request) -> Response[SkillResponse]:
        """A KakaoTalk message to the channel's chatbot (Open Builder's skill payload, with the shared secret).

        The answer is a version 2.0 skill response: simpleText outputs and quick replies, or ``useCallback``.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        state = request.app.state
        settings: Settings = state.settings
        _verified(request, settings)
        skill = _decoded(await request.body())
        async with state.pool.acquire() as conn:
            turn = await kakao.receive(
                conn,
                request=skill,
                notifier=state.notifier,
                settings=settings.kakao,
                key=state.kakao_link_key,
                now=datetime.now(UTC),
            )
        if turn.reply is not None:
            return Response(replies.render(turn.reply))
        assert turn.message_id is not None
        lease = conversation.lease(settings.rasa.timeout_s)
        task = asyncio.create_task(kakao.answer(state.pool, state.rasa, turn, lease=lease))
        remaining = settings.kakao.reply_budget_s - (loop.time() - started)
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), timeout=max(remaining, 0.05))
        except TimeoutError:
            return _late(state, task, turn, settings)
        done = (
            None
            if turn.repeat
            else BackgroundTask(kakao.record_delivery, state.pool, message_id=turn.message_id, delivery="response")
        )
        return Response(replies.render(reply), background=done)


def _late(state: Any, task: asyncio.Task[Reply], turn: kakao.Turn, settings: Settings) -> Response[SkillResponse]:
    """The bot is slower than Kakao waits: the callback turned on, or a holding reply; the task goes on after."""
    assert turn.message_id is not None
    if turn.callback_url and not turn.repeat:
        later = BackgroundTask(
            kakao.deliver_by_callback,
            state.pool,
            task,
            message_id=turn.message_id,
            callback_url=turn.callback_url,
            settings=settings.kakao,
        )
        return Response(replies.callback_wait(say.THINKING[turn.language]), background=later)
    holding = Reply(texts=[say.HOLDING[turn.language]])
    finish = BackgroundTask(kakao.finish_quietly, state.pool, task, message_id=turn.message_id, record=not turn.repeat)
    return Response(replies.render(holding), background=finish)


class KakaoLinkController(Controller):
    path = "/v1/me/kakao"
    tags = ["chat"]

    @post("/link-code", opt=allow(Role.citizen), status_code=HTTP_201_CREATED)
    async def link_code(self, request: Request[Principal, Any, Any], db: Db) -> LinkCodeRead:
        """An 8-digit code to send to the safecity KakaoTalk channel, which links that Kakao user to your account.

        It works once, for ``KAKAO_LINK_CODE_TTL`` seconds; asking again replaces it.
        """
        citizen_id = signed_in_citizen(request)
        state = request.app.state
        return await app_code_for(
            db, citizen_id=citizen_id, settings=state.settings.kakao, key=state.kakao_link_key, now=datetime.now(UTC)
        )

    @delete("/", opt=allow(Role.citizen), status_code=HTTP_204_NO_CONTENT)
    async def unlink(self, request: Request[Principal, Any, Any], db: Db) -> None:
        """Unlink every Kakao user linked to your phone: they get the linking instructions again."""
        await unlink_citizen(db, citizen_id=signed_in_citizen(request))
