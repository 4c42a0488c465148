"""Sign-in routes."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, Request, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from api.accounts.signin_schemas import OtpRequest, OtpSent, TokenRequest, TokenResponse
from api.platform.auth.guards import PUBLIC
from api.platform.db.pool import Db


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["auth"]
    # A phone number and a code: anyone may call these, so they take no more than that needs.
    request_max_body_size = 2048

    @post("/otp", opt=PUBLIC, status_code=HTTP_202_ACCEPTED)
    async def request_code(self, request: Request, db: Db, data: JSONBody[OtpRequest]) -> OtpSent:
        """Send a one-time sign-in code by SMS. The answer is the same for every number."""
        return await request.app.state.otp.request_code(db, data=data, now=datetime.now(UTC))

    @post("/token", opt=PUBLIC, status_code=HTTP_200_OK)
    async def exchange_code(self, request: Request, db: Db, data: JSONBody[TokenRequest]) -> TokenResponse:
        """Exchange phone and code for a bearer token; the citizen is registered on first sign-in."""
        return await request.app.state.otp.exchange_code(db, data=data, now=datetime.now(UTC))
