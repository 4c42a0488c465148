"""Bearer JWTs: who the caller is, their role, and for social workers their districts."""

from __future__ import annotations

import time
import uuid
from enum import StrEnum

import jwt
import msgspec

from api.platform.settings import Settings

_ALGORITHM = "HS256"


class Role(StrEnum):
    citizen = "citizen"
    social_worker = "social_worker"
    operator = "operator"
    service = "service"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller, as the token describes them."""

    subject: str
    role: Role
    districts: tuple[str, ...] = ()
    phone: str | None = None

    @property
    def citizen_id(self) -> int | None:
        return self._id_of("citizen")

    @property
    def staff_id(self) -> int | None:
        return self._id_of("staff")

    def _id_of(self, kind: str) -> int | None:
        prefix, _, ident = self.subject.partition(":")
        return int(ident) if prefix == kind and ident.isdigit() else None

    def serves(self, district: str) -> bool:
        """Operators serve the whole city; social workers their own districts; nobody else any."""
        if self.role is Role.operator:
            return True
        return self.role is Role.social_worker and district in self.districts


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not ours."""


class TokenIssuer:
    """Signs and verifies tokens with the configured secret, issuer and audience."""

    def __init__(self, settings: Settings) -> None:
        self._secret = settings.jwt_secret()
        self._issuer = settings.auth.issuer
        self._audience = settings.auth.audience

    def issue(self, principal: Principal, *, ttl_s: int) -> str:
        now = int(time.time())
        claims: dict[str, object] = {
            "sub": principal.subject,
            "role": principal.role.value,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "exp": now + ttl_s,
            "jti": uuid.uuid4().hex,
        }
        if principal.districts:
            claims["districts"] = list(principal.districts)
        if principal.phone:
            claims["phone"] = principal.phone
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["sub", "role", "exp", "iat", "iss", "aud"]},
            )
            return Principal(
                subject=claims["sub"],
                role=Role(claims["role"]),
                districts=tuple(claims.get("districts", ())),
                phone=claims.get("phone"),
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("the token has expired; sign in again") from exc
        except (jwt.InvalidTokenError, ValueError, KeyError, TypeError) as exc:
            raise InvalidToken("the token is not valid") from exc
