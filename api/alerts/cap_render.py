"""CAP 1.2 XML out of the model, and validation of CAP XML against the OASIS schema."""

from __future__ import annotations

import functools
import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, tostring

import xmlschema

from api.alerts.cap import CAP12_NS, CapAlert, CapArea, CapInfo, CapReference, CapResource


def render_cap(alert: CapAlert) -> bytes:
    """The alert as a CAP 1.2 document in UTF-8, its elements in the schema's order."""
    root = Element(_tag("alert"))
    _text(root, "identifier", alert.identifier)
    _text(root, "sender", alert.sender)
    _text(root, "sent", format_datetime(alert.sent))
    _text(root, "status", alert.status.value)
    _text(root, "msgType", alert.msg_type.value)
    _text(root, "source", alert.source)
    _text(root, "scope", alert.scope.value)
    _text(root, "restriction", alert.restriction)
    _text(root, "addresses", _join_list(alert.addresses))
    for code in alert.codes:
        _text(root, "code", code)
    _text(root, "note", alert.note)
    _text(root, "references", _join_references(alert.references))
    _text(root, "incidents", _join_list(alert.incidents))
    for info in alert.infos:
        _info(root, info)
    return tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=CAP12_NS)


def validate_cap12(xml: bytes, schema_path: Path) -> list[str]:
    """The schema's complaints about ``xml`` (empty when valid); the schema is the caller's file, not ours."""
    schema = _schema(str(schema_path))
    return [f"{error.path}: {error.reason}" for error in schema.iter_errors(io.BytesIO(xml))]


@functools.cache
def _schema(path: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(path)


def format_datetime(value: datetime) -> str:
    """A CAP date-time: whole seconds and a numeric offset, as the schema's pattern demands."""
    if value.utcoffset() is None:
        raise ValueError(f"CAP date-times need an offset; {value!r} is naive")
    return value.isoformat(timespec="seconds")


def _tag(name: str) -> str:
    return f"{{{CAP12_NS}}}{name}"


def _text(parent: Element, name: str, value: str | None) -> None:
    if value is not None:
        SubElement(parent, _tag(name)).text = value


def _pairs(parent: Element, name: str, pairs: list[tuple[str, str]]) -> None:
    for value_name, value in pairs:
        el = SubElement(parent, _tag(name))
        _text(el, "valueName", value_name)
        _text(el, "value", value)


def _number(value: float) -> str:
    # xs:decimal has no exponent form, which repr() would use for very small or large floats.
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _join_list(items: list[str]) -> str | None:
    return " ".join(f'"{item}"' if " " in item else item for item in items) or None


def _join_references(references: list[CapReference]) -> str | None:
    return " ".join(f"{r.sender},{r.identifier},{format_datetime(r.sent)}" for r in references) or None


def _info(parent: Element, info: CapInfo) -> None:
    el = SubElement(parent, _tag("info"))
    _text(el, "language", info.language)
    for category in info.categories:
        _text(el, "category", category.value)
    _text(el, "event", info.event)
    for response_type in info.response_types:
        _text(el, "responseType", response_type.value)
    _text(el, "urgency", info.urgency.value)
    _text(el, "severity", info.severity.value)
    _text(el, "certainty", info.certainty.value)
    _text(el, "audience", info.audience)
    _pairs(el, "eventCode", info.event_codes)
    for name in ("effective", "onset", "expires"):
        value = getattr(info, name)
        _text(el, name, None if value is None else format_datetime(value))
    _text(el, "senderName", info.sender_name)
    _text(el, "headline", info.headline)
    _text(el, "description", info.description)
    _text(el, "instruction", info.instruction)
    _text(el, "web", info.web)
    _text(el, "contact", info.contact)
    _pairs(el, "parameter", info.parameters)
    for resource in info.resources:
        _resource(el, resource)
    for area in info.areas:
        _area(el, area)


def _resource(parent: Element, resource: CapResource) -> None:
    el = SubElement(parent, _tag("resource"))
    _text(el, "resourceDesc", resource.resource_desc)
    _text(el, "mimeType", resource.mime_type)
    _text(el, "size", None if resource.size is None else str(resource.size))
    _text(el, "uri", resource.uri)
    _text(el, "derefUri", resource.deref_uri)
    _text(el, "digest", resource.digest)


def _area(parent: Element, area: CapArea) -> None:
    el = SubElement(parent, _tag("area"))
    _text(el, "areaDesc", area.area_desc)
    for polygon in area.polygons:
        _text(el, "polygon", " ".join(f"{_number(lat)},{_number(lon)}" for lat, lon in polygon))
    for lat, lon, radius_km in area.circles:
        _text(el, "circle", f"{_number(lat)},{_number(lon)} {_number(radius_km)}")
    _pairs(el, "geocode", area.geocodes)
    _text(el, "altitude", None if area.altitude is None else _number(area.altitude))
    _text(el, "ceiling", None if area.ceiling is None else _number(area.ceiling))
