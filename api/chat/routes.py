"""Chat routes: the app's chat with the bot, the endpoints the bot's actions call, and the place search."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, Parameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from api.chat import conversation, service
from api.chat.schemas import (
    BotReportIn,
    BotReportRead,
    ChatIn,
    ChatRead,
    CheckinIn,
    CheckinResult,
    HelpIn,
    HomeShelters,
    OptOutRead,
    PersonRead,
    PersonWarnings,
    PlaceRead,
)
from api.evacuation.schemas import Hazard
from api.platform.auth.guards import PUBLIC, allow, signed_in_citizen
from api.platform.auth.tokens import Principal, Role, Scope
from api.platform.db.pool import Db
from care.schemas import HelpRead

PlaceParam = Annotated[
    str, QueryParameter(min_length=1, max_length=200, description="What someone called the place, Korean or English")
]
Sender = Annotated[str, Parameter(description="`citizen-<id>` (the app's chat) or `sms-<phone>` (texts)")]
HazardParam = Annotated[Hazard, QueryParameter(description="The hazard to shelter from")]
ShelterLimit = Annotated[int, QueryParameter(ge=1, le=20, description="How many shelters of each kind group")]


def _now() -> datetime:
    return datetime.now(UTC)


class ChatController(Controller):
    path = "/v1/chat"
    tags = ["chat"]

    # No `db` here: the request must hold no connection while the bot's actions call back into the API.
    @post("/", opt=allow(Role.citizen), status_code=HTTP_200_OK)
    async def chat(self, request: Request[Principal, Any, Any], data: JSONBody[ChatIn]) -> ChatRead:
        """Say something to the chatbot; its replies, or a short apology in your language when it cannot answer.

        An empty message, or one over 5,000 characters, is a 400 (nothing is cut silently).
        """
        citizen_id = signed_in_citizen(request)
        state = request.app.state
        return await conversation.talk(state.pool, state.rasa, citizen_id=citizen_id, message=data.message)


# The actions' token acts for the person whose conversation called the action: only a `chatbot`-scoped token,
# and (in the service) only for a sender heard from within the last hour.
BOT = allow(Role.service, scope=Scope.chatbot)


class BotPeopleController(Controller):
    path = "/v1/bot/people/{sender:str}"
    tags = ["chat"]

    @get("/", opt=BOT)
    async def profile(self, db: Db, sender: Sender) -> PersonRead:
        """Who the bot is talking to: language, district, whether they are in care, whether a home is known."""
        return await service.profile(db, sender=sender, now=_now())

    @get("/shelters", opt=BOT)
    async def shelters(
        self, request: Request, db: Db, sender: Sender, hazard: HazardParam, limit: ShelterLimit = 1
    ) -> HomeShelters:
        """The nearest shelters suited to the hazard, from the person's home; 404 `no_home` when none is known."""
        cap_m = request.app.state.settings.evacuation.distance_cap_m
        return await service.nearest_shelters(db, sender=sender, hazard=hazard, limit=limit, cap_m=cap_m, now=_now())

    @get("/warnings", opt=BOT)
    async def warnings(self, db: Db, sender: Sender) -> PersonWarnings:
        """The warnings in force over the person's district or any of their places (by label), newest first;
        `known` is false when neither is known."""
        return await service.warnings(db, sender=sender, now=_now())

    @post("/checkins", opt=BOT, status_code=HTTP_200_OK)
    async def check_in(self, request: Request, db: Db, sender: Sender, data: JSONBody[CheckinIn]) -> CheckinResult:
        """A check-in said to the bot: recorded (channel `chat`) for someone in care."""
        notifier = request.app.state.notifier
        return await service.check_in(db, notifier=notifier, sender=sender, body=data.body, now=_now())

    @post("/help", opt=BOT, status_code=HTTP_201_CREATED)
    async def help(self, request: Request, db: Db, sender: Sender, data: JSONBody[HelpIn]) -> HelpRead:
        """Help asked of the bot: an urgent case for someone in care; 404 `not_in_care` otherwise."""
        notifier = request.app.state.notifier
        return await service.ask_for_help(db, notifier=notifier, sender=sender, body=data.body, now=_now())

    @post("/hazard-reports", opt=BOT, status_code=HTTP_201_CREATED)
    async def report(
        self, request: Request[Principal, Any, Any], db: Db, sender: Sender, data: JSONBody[BotReportIn]
    ) -> BotReportRead:
        """A hazard report at a named place; 422 `place_unknown` when the place is not in the gazetteer."""
        return await service.report_hazard(db, sender=sender, submitted_by=request.user.subject, data=data, now=_now())

    @post("/opt-out", opt=BOT, status_code=HTTP_200_OK)
    async def opt_out(self, db: Db, sender: Sender) -> OptOutRead:
        """Stop messages: a texter's number is opted out as STOP would; app users are told to use the app."""
        return await service.opt_out(db, sender=sender, now=_now())


class PlaceController(Controller):
    path = "/v1/places"
    tags = ["chat"]

    @get("/", opt=PUBLIC)
    async def search(self, q: PlaceParam) -> list[PlaceRead]:
        """Seoul places by name, Korean or English (district offices, subway stations, landmarks), best first."""
        return service.find_places(q)
