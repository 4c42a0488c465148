"""Scoped service tokens: the claims, the guard, and the table of every route a service token may call."""

from __future__ import annotations

import re
import time
import uuid

import jwt
import msgspec
import pytest
from litestar import get
from litestar.testing import AsyncTestClient

from api.platform.auth.guards import allow
from api.platform.auth.tokens import Principal, Role, Scope, TokenIssuer
from tests.conftest import JWT_SECRET, bearer, problem

# Every route a service token may call, with the one scope it needs. A service route added without a scope,
# or with a scope this table does not list, fails test_the_route_table_names_the_scope_of_every_service_route:
# adding a route here is the moment to decide who may call it.
SERVICE_ROUTES: dict[tuple[str, str], Scope] = {
    ("POST", "/v1/alerts/cap"): Scope.alerts_publish,
    ("POST", "/v1/care/signals"): Scope.sensors_write,
    ("POST", "/v1/care/sensor-events"): Scope.sensors_write,
    ("POST", "/v1/care/sensor-heartbeats"): Scope.sensors_write,
    ("POST", "/v1/sensors/readings"): Scope.sensors_write,
    ("GET", "/v1/bot/people/{sender:str}"): Scope.chatbot,
    ("GET", "/v1/bot/people/{sender:str}/shelters"): Scope.chatbot,
    ("GET", "/v1/bot/people/{sender:str}/warnings"): Scope.chatbot,
    ("POST", "/v1/bot/people/{sender:str}/checkins"): Scope.chatbot,
    ("POST", "/v1/bot/people/{sender:str}/help"): Scope.chatbot,
    ("POST", "/v1/bot/people/{sender:str}/hazard-reports"): Scope.chatbot,
    ("POST", "/v1/bot/people/{sender:str}/opt-out"): Scope.chatbot,
}
# Open311 clients send their key in the form, as the spec says, so the route is public to the guard and
# checks the key itself (api/hazards/open311.py); it is held to the same rule here.
SELF_CHECKED_ROUTES: dict[tuple[str, str], Scope] = {
    ("POST", "/open311/v2/requests.json"): Scope.open311_submit,
    ("POST", "/open311/v2/requests.xml"): Scope.open311_submit,
}
SENDER = "sms-+821012345678"


def _routes(app):  # type: ignore[no-untyped-def]
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods - {"OPTIONS", "HEAD"}:
                yield method, route.path, handler


def _url(path: str) -> str:
    return re.sub(r"\{sender:str\}", SENDER, path)


async def test_the_route_table_names_the_scope_of_every_service_route(app):
    service_routes = {
        (method, path): handler.opt.get("scope")
        for method, path, handler in _routes(app)
        if Role.service in handler.opt.get("roles", ())
    }
    assert service_routes == SERVICE_ROUTES
    public = {(method, path) for method, path, handler in _routes(app) if handler.opt.get("public")}
    assert set(SELF_CHECKED_ROUTES) <= public


@pytest.mark.parametrize(("route", "scope"), [*SERVICE_ROUTES.items(), *SELF_CHECKED_ROUTES.items()])
async def test_each_service_route_takes_its_scope_and_no_other(client, token_for, route, scope):
    method, path = route
    others = tuple(s for s in Scope if s is not scope)
    for held in ((), others):
        token = token_for(Role.service, scopes=held, senders=("x@y",) if Scope.alerts_publish in held else ())
        refused = await client.request(method, _url(path), headers=bearer(token))
        assert refused.status_code == 403, (held, refused.text)
        assert scope.value in refused.text
    granted = token_for(Role.service, scopes=(scope,), senders=("x@y",) if scope is Scope.alerts_publish else ())
    passed = await client.request(method, _url(path), headers=bearer(granted))
    # Past the scope check, the empty request fails on what it lacks (a body, a conversation), not on the scope.
    assert "scope_missing" not in passed.text and scope.value + " scope" not in passed.text, passed.text


async def test_a_service_route_that_names_no_scope_refuses_every_service_token(settings, token_for):
    from api.app import create_app

    @get("/v1/unscoped", opt=allow(Role.operator, Role.service))
    async def unscoped() -> str:
        return "secret"

    @get("/v1/scoped", opt=allow(Role.operator, Role.service, scope=Scope.sensors_write))
    async def scoped() -> str:
        return "fine"

    app = create_app(settings)
    app.register(unscoped)
    app.register(scoped)
    everything = bearer(token_for(Role.service, scopes=tuple(Scope), senders=("x@y",)))
    async with AsyncTestClient(app=app) as client:
        refused = await client.get("/v1/unscoped", headers=everything)
        assert refused.status_code == 403
        assert problem(refused)["code"] == "scope_missing" and "names no scope" in problem(refused)["detail"]
        assert (await client.get("/v1/unscoped", headers=bearer(token_for(Role.operator)))).status_code == 200

        sensors = bearer(token_for(Role.service, scopes=(Scope.sensors_write,)))
        chatbot = bearer(token_for(Role.service, scopes=(Scope.chatbot,)))
        assert (await client.get("/v1/scoped", headers=sensors)).status_code == 200
        assert (await client.get("/v1/scoped", headers=bearer(token_for(Role.operator)))).status_code == 200
        wrong = await client.get("/v1/scoped", headers=chatbot)
        assert wrong.status_code == 403
        assert problem(wrong)["detail"] == "This needs the sensors:write scope; this token's scopes: chatbot."


def test_a_scope_on_a_route_no_service_may_call_is_a_mistake_caught_at_once():
    with pytest.raises(ValueError, match="admits none"):
        allow(Role.operator, scope=Scope.chatbot)


def test_scopes_and_senders_travel_in_the_token_as_oauth_writes_them(settings):
    issuer = TokenIssuer(settings)
    principal = Principal(
        subject="service:partner",
        role=Role.service,
        scopes=(Scope.alerts_publish, Scope.open311_submit),
        cap_senders=("alerts@partner.example",),
    )
    token = issuer.issue(principal, ttl_s=60)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["scope"] == "alerts:publish open311:submit"
    assert claims["senders"] == ["alerts@partner.example"]
    # The token's own id (jti) comes back too: it is what a revocation names.
    assert msgspec.structs.replace(issuer.verify(token), token_id=None) == principal


def test_only_service_principals_hold_scopes_and_senders_come_with_alerts_publish():
    with pytest.raises(ValueError, match="service tokens"):
        Principal(subject="operator:x", role=Role.operator, scopes=(Scope.chatbot,))
    with pytest.raises(ValueError, match="alerts:publish"):
        Principal(subject="service:x", role=Role.service, scopes=(Scope.chatbot,), cap_senders=("a@b",))


def _forge(settings, **claims) -> str:  # type: ignore[no-untyped-def]
    now = int(time.time())
    base = {
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode({**base, **claims}, JWT_SECRET, algorithm="HS256")


async def test_a_scope_this_version_does_not_know_grants_nothing(client, settings):
    token = _forge(settings, sub="service:future", role="service", scope="sensors:write weather:read")
    assert TokenIssuer(settings).verify(token).scopes == (Scope.sensors_write,)
    response = await client.post("/v1/alerts/cap", content=b"<alert/>", headers=bearer(token))
    assert response.status_code == 403


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "citizen:1", "role": "citizen", "scope": "chatbot"},  # scopes are no citizen's
        {"sub": "service:x", "role": "service", "scope": ["chatbot"]},  # not OAuth's space-separated string
        {"sub": "service:x", "role": "service", "scope": "alerts:publish", "senders": "a@b"},  # not a list
    ],
    ids=["citizen-with-scope", "scope-list", "senders-string"],
)
async def test_a_token_with_malformed_scope_claims_is_401(client, settings, claims):
    response = await client.get("/v1/me", headers=bearer(_forge(settings, **claims)))
    assert response.status_code == 401
