"""The OpenAPI document as the API really answers: problem+json for every error, and the bodies Litestar can't see.

Litestar describes a route from its signature. Two things escape it here:

- errors: every 4xx leaves as ``application/problem+json`` (``api.platform.errors``), while Litestar documents
  its own validation error as ``application/json``. ``SafecityOpenAPIConfig`` documents the problem instead,
  for every operation, as ``4XX``;
- routes that read their body themselves, because its bytes matter (a Twilio signature covers the form as
  sent, a CAP document is parsed as XML, a photo is streamed) or because it follows another standard's format
  (Open311 forms and answers). Such a route names what it takes and answers with ``documented(...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import OpenAPI, Operation

from api.platform.errors import PROBLEM_MEDIA_TYPE

Json = dict[str, Any]

PROBLEM: Json = {
    "type": "object",
    "description": "RFC 9457 problem details; `code` names the problem for programs, `detail` for people.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": True,
}
_PROBLEM_REF: Json = {"$ref": "#/components/schemas/Problem"}
_ERRORS: Json = {
    "description": "The request can't be done as sent; the problem says why, and what is allowed.",
    "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}},
}


def form(properties: Mapping[str, Json], *, required: tuple[str, ...] = ()) -> Json:
    """The schema of a form of string fields; fields beyond these are allowed (providers add their own)."""
    return {"type": "object", "properties": dict(properties), "required": list(required), "additionalProperties": True}


def documented(
    *,
    body: Mapping[str, Json] | None = None,
    answers: Mapping[str, Json] | None = None,
    errors: Json | None = None,
) -> type[Operation]:
    """An operation class for a route that reads its own body: ``body`` and ``answers`` map media types to schemas.

    ``answers`` replaces what Litestar inferred for the route's success responses (for a route that returns
    bytes it already encoded, which Litestar can only call a string); ``errors`` is the ``4XX`` response of a
    route that answers errors in another standard's format than problem+json.
    """

    @dataclass
    class Documented(Operation):
        def to_schema(self) -> Json:
            schema = super().to_schema()
            if body is not None:
                schema["requestBody"] = {"required": True, "content": {m: {"schema": s} for m, s in body.items()}}
            if answers is not None:
                for status, response in schema.get("responses", {}).items():
                    if status.startswith("2") and "content" in response:
                        response["content"] = {media: {"schema": s} for media, s in answers.items()}
            if errors is not None:
                schema.setdefault("responses", {}).pop("400", None)
                schema["responses"]["4XX"] = errors
            return schema

    return Documented


class _ProblemsDocumented(OpenAPI):
    def to_schema(self) -> Json:
        schema = super().to_schema()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                if isinstance(operation, dict) and "responses" in operation:
                    responses = operation["responses"]
                    if "4XX" not in responses:  # a route's own error format comes first
                        responses.pop("400", None)  # Litestar's validation error, which never leaves as such
                        responses["4XX"] = _ERRORS
        return schema


class SafecityOpenAPIConfig(OpenAPIConfig):
    """Litestar's OpenAPI configuration, with the problem+json answers documented on every operation."""

    def to_openapi_schema(self) -> OpenAPI:
        base = super().to_openapi_schema()
        return _ProblemsDocumented(**{f.name: getattr(base, f.name) for f in fields(base) if f.init})
