"""Bearer JWTs: who the caller is, their role, for social workers their districts, for services their scopes."""

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


class Scope(StrEnum):
    """What a service token may do; a service token holds one or more, and nothing else."""

    alerts_publish = "alerts:publish"  # POST CAP alerts, as one of the token's senders
    open311_submit = "open311:submit"  # create Open311 service requests
    chatbot = "chatbot"  # the bot endpoints, for a sender in a live conversation
    sensors_write = "sensors:write"  # home sensors' signs of life


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller, as the token describes them.

    ``scopes`` and ``cap_senders`` belong to service principals only: the other roles are what their role
    says, and a scope on them would be a second, conflicting answer to what they may do.
    """

    subject: str
    role: Role
    districts: tuple[str, ...] = ()
    phone: str | None = None
    scopes: tuple[Scope, ...] = ()
    # The CAP <sender> values an alerts:publish token may speak for.
    cap_senders: tuple[str, ...] = ()
    # The token's ``jti``, which a revocation names; None for a principal not read from a token.
    token_id: str | None = None

    def __post_init__(self) -> None:
        if self.role is not Role.service and (self.scopes or self.cap_senders):
            raise ValueError(f"scopes are for service tokens; a {self.role.value} token has none")
        if self.cap_senders and Scope.alerts_publish not in self.scopes:
            raise ValueError(f"CAP senders come with the {Scope.alerts_publish.value} scope")

    @property
    def citizen_id(self) -> int | None:
        return self._id_of("citizen")

    @property
    def staff_id(self) -> int | None:
        return self._id_of("staff")

    def _id_of(self, kind: str) -> int | None:
        prefix, _, ident = self.subject.partition(":")
        return int(ident) if prefix == kind and ident.isdigit() else None

    def has_scope(self, scope: Scope) -> bool:
        return scope in self.scopes

    def serves(self, district: str) -> bool:
        """Operators serve the whole city; social workers their own districts; nobody else any."""
        if self.role is Role.operator:
            return True
        return self.role is Role.social_worker and district in self.districts


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not ours."""


class TokenTooLong(ValueError):
    """The lifetime asked for is past the cap for the token's role."""


class TokenIssuer:
    """Signs and verifies tokens with the configured secret, issuer and audience, within each role's lifetime cap."""

    def __init__(self, settings: Settings) -> None:
        self._secret = settings.jwt_secret()
        self._issuer = settings.auth.issuer
        self._audience = settings.auth.audience
        self._auth = settings.auth

    def max_ttl_s(self, role: Role) -> int:
        return self._auth.max_token_ttl_s(role.value)

    def issue(self, principal: Principal, *, ttl_s: int) -> str:
        """A signed token; a lifetime past the role's cap is refused, so no minting path can make a forever token."""
        cap = self.max_ttl_s(principal.role)
        if ttl_s > cap:
            raise TokenTooLong(
                f"a {principal.role.value} token lives at most {cap} seconds ({_readable(cap)}); {ttl_s} was asked"
            )
        now = int(time.time())
        claims: dict[str, object] = {
            "sub": principal.subject,
            "role": principal.role.value,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "exp": now + ttl_s,
            "jti": principal.token_id or uuid.uuid4().hex,
        }
        if principal.districts:
            claims["districts"] = list(principal.districts)
        if principal.phone:
            claims["phone"] = principal.phone
        if principal.scopes:
            claims["scope"] = " ".join(s.value for s in principal.scopes)  # space-separated, as OAuth 2.0's
        if principal.cap_senders:
            claims["senders"] = list(principal.cap_senders)
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["sub", "role", "exp", "iat", "iss", "aud", "jti"]},
            )
            role = Role(claims["role"])
            # A token minted before the cap, or under a longer one, is not honoured past today's cap.
            if int(claims["exp"]) - int(claims["iat"]) > self.max_ttl_s(role):
                raise InvalidToken(f"the token lives longer than {role.value} tokens may")
            return Principal(
                subject=claims["sub"],
                role=role,
                districts=tuple(claims.get("districts", ())),
                phone=claims.get("phone"),
                scopes=_scopes(claims.get("scope", "")),
                cap_senders=_strings(claims.get("senders", [])),
                token_id=str(claims["jti"]),
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("the token has expired; sign in again") from exc
        except (jwt.InvalidTokenError, ValueError, KeyError, TypeError) as exc:
            raise InvalidToken("the token is not valid") from exc


def _readable(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400} days"
    return f"{seconds / 3600:g} hours"


def _scopes(claim: object) -> tuple[Scope, ...]:
    """The scopes a token names; one this version does not know grants nothing rather than voiding the token."""
    if not isinstance(claim, str):
        raise TypeError("scope is a space-separated string")
    known = {s.value for s in Scope}
    return tuple(Scope(name) for name in dict.fromkeys(claim.split()) if name in known)


def _strings(claim: object) -> tuple[str, ...]:
    # A bare string would otherwise become a tuple of its characters, each a "sender".
    if not isinstance(claim, list) or not all(isinstance(v, str) for v in claim):
        raise TypeError("senders is a list of strings")
    return tuple(claim)
