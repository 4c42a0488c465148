"""Open311 GeoReport v2 as the OpenAPI document describes it: the form a client posts and the JSON it reads.

The routes encode their answers themselves (one list, as JSON or as XML by the path's suffix), so Litestar
cannot see their shape; this is it, kept beside the encoder in ``api.hazards.open311``.
"""

from __future__ import annotations

from litestar.openapi.spec import Operation

from api.platform.openapi import Json, documented, form

_TEXT: Json = {"type": ["string", "null"]}
_XML: Json = {"type": "string", "description": "The same data as XML, by the GeoReport v2 convention."}
_ERRORS: Json = {
    "description": "Open311's error list: each with the HTTP status as its code, and what went wrong.",
    "content": {
        "application/json": {
            "schema": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["code", "description"],
                    "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
                },
            }
        },
        "text/xml": {"schema": _XML},
    },
}

SERVICE: Json = {
    "type": "object",
    "required": ["service_code", "service_name", "metadata", "type"],
    "properties": {
        "service_code": {"type": "string"},
        "service_name": {"type": "string"},
        "description": {"type": "string"},
        "metadata": {"type": "boolean"},
        "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
        "keywords": {"type": "string"},
        "group": {"type": "string"},
    },
}
SERVICE_DEFINITION: Json = {
    "type": "object",
    "required": ["service_code", "attributes"],
    "properties": {"service_code": {"type": "string"}, "attributes": {"type": "array", "items": {"type": "object"}}},
}
SERVICE_REQUEST: Json = {
    "type": "object",
    "required": ["service_request_id", "status", "service_code", "requested_datetime", "lat", "long"],
    "properties": {
        "service_request_id": {"type": "integer"},
        "status": {"type": "string", "enum": ["open", "closed"]},
        "status_notes": _TEXT,
        "service_name": {"type": "string"},
        "service_code": {"type": "string"},
        "description": _TEXT,
        "agency_responsible": {"type": "string"},
        "service_notice": _TEXT,
        "requested_datetime": {"type": "string", "format": "date-time"},
        "updated_datetime": {"type": "string", "format": "date-time"},
        "expected_datetime": _TEXT,
        "address": _TEXT,
        "address_id": _TEXT,
        "zipcode": _TEXT,
        "lat": {"type": "number"},
        "long": {"type": "number"},
        "media_url": _TEXT,
    },
}
CREATED: Json = {
    "type": "object",
    "required": ["service_request_id"],
    "properties": {"service_request_id": {"type": "integer"}, "service_notice": _TEXT, "account_id": _TEXT},
}
TOKEN: Json = {
    "type": "object",
    "required": ["service_request_id", "token"],
    "properties": {"service_request_id": {"type": "integer"}, "token": {"type": "string"}},
}
DISCOVERY: Json = {
    "type": "object",
    "required": ["changeset", "endpoints"],
    "properties": {
        "changeset": {"type": "string"},
        "contact": {"type": "string"},
        "key_service": {"type": "string"},
        "endpoints": {"type": "array", "items": {"type": "object"}},
    },
}
REQUEST_FORM: Json = form(
    {
        "api_key": {"type": "string", "description": "a safecity bearer token (or send it as Authorization)"},
        "service_code": {"type": "string", "description": "one of GET services"},
        "lat": {"type": "string", "description": "WGS84 decimal degrees"},
        "long": {"type": "string", "description": "WGS84 decimal degrees"},
        "address_string": {"type": "string"},
        "description": {"type": "string", "maxLength": 4000},
        "media_url": {"type": "string", "format": "uri"},
        "lang": {"type": "string", "enum": ["ko", "en"]},
    },
    required=("service_code", "lat", "long"),
)


def answers(item: Json, *, many: bool = True) -> type[Operation]:
    """The operation class of an Open311 route answering a list of ``item`` (or one object, for discovery)."""
    body = {"type": "array", "items": item} if many else item
    return documented(answers={"application/json": body, "text/xml": _XML}, errors=_ERRORS)


def creates() -> type[Operation]:
    """The operation class of POST requests: a form in, the new request's id out."""
    return documented(
        body={"application/x-www-form-urlencoded": REQUEST_FORM},
        answers={"application/json": {"type": "array", "items": CREATED}, "text/xml": _XML},
        errors=_ERRORS,
    )
