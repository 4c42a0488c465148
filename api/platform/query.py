"""A query string may name only the parameters its route declares: a misspelt one is a 400, never ignored.

Litestar drops a query parameter the handler does not take, so ``/v1/alerts?distrct=11680`` answered with every
warning in Seoul and ``/v1/shelters/nearest?hazzard=…`` would have been a 400 for the missing ``hazard`` only by
luck. ``declared_query_only`` is a route guard: each name in the query string must be one of the handler's query
parameters (as clients spell them: a ``QueryParameter(query=…)`` alias counts), or the request is refused with
the unknown names and the allowed ones.
"""

from __future__ import annotations

from functools import cache

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.params import ParameterKwarg, QueryParameter

from api.platform.errors import Problem


@cache
def query_names(handler: BaseRouteHandler) -> frozenset[str]:
    """The query parameters ``handler`` declares (``QueryParameter`` or ``Parameter(query=…)``), as clients spell them.

    A parameter with no such declaration is not counted: here it is a dependency (``db: Db``) or the request."""
    names = set()
    for name, field in handler.parsed_fn_signature.parameters.items():
        kwarg = field.kwarg_definition
        if isinstance(kwarg, QueryParameter) or (isinstance(kwarg, ParameterKwarg) and kwarg.query):
            names.add(kwarg.query or name)
    return frozenset(names)


def declared_query_only(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Refuse a query string that names a parameter the route does not take, saying which ones it does."""
    allowed = query_names(handler)
    unknown = sorted(set(connection.query_params) - allowed)
    if unknown:
        quoted = ", ".join(f"`{name}`" for name in unknown)
        raise Problem(
            f"Unknown query parameter {quoted}: this endpoint takes {', '.join(sorted(allowed))}.",
            code="query_parameter_unknown",
            unknown=unknown,
            allowed=sorted(allowed),
        )
