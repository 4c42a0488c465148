"""CAP (Common Alerting Protocol) 1.2 messages: the model and a strict, safe parser (CAP 1.1 is normalised in)."""

from __future__ import annotations

import math
import re
from datetime import datetime
from enum import StrEnum
from typing import TypeVar
from xml.etree.ElementTree import Element, ParseError

import msgspec
import shapely
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from shapely.geometry import Polygon

CAP12_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP11_NS = "urn:oasis:names:tc:emergency:cap:1.1"
XMLDSIG_NS = "http://www.w3.org/2000/09/xmldsig#"

# The only format the CAP 1.2 schema allows: seconds, no fraction, and a numeric offset ("Z" is not CAP).
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d")
# Address and incident lists: space-separated, an item holding spaces is in double quotes.
_LIST_ITEM = re.compile(r'"([^"]*)"|(\S+)')


class CapError(ValueError):
    """A CAP message we refuse; ``reason`` says why in words an operator can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Status(StrEnum):
    actual = "Actual"
    exercise = "Exercise"
    system = "System"
    test = "Test"
    draft = "Draft"


class MsgType(StrEnum):
    alert = "Alert"
    update = "Update"
    cancel = "Cancel"
    ack = "Ack"
    error = "Error"


class Scope(StrEnum):
    public = "Public"
    restricted = "Restricted"
    private = "Private"


class Category(StrEnum):
    geo = "Geo"
    met = "Met"
    safety = "Safety"
    security = "Security"
    rescue = "Rescue"
    fire = "Fire"
    health = "Health"
    env = "Env"
    transport = "Transport"
    infra = "Infra"
    cbrne = "CBRNE"
    other = "Other"


class ResponseType(StrEnum):
    shelter = "Shelter"
    evacuate = "Evacuate"
    prepare = "Prepare"
    execute = "Execute"
    avoid = "Avoid"
    monitor = "Monitor"
    assess = "Assess"
    all_clear = "AllClear"
    none = "None"


class Urgency(StrEnum):
    immediate = "Immediate"
    expected = "Expected"
    future = "Future"
    past = "Past"
    unknown = "Unknown"


class Severity(StrEnum):
    extreme = "Extreme"
    severe = "Severe"
    moderate = "Moderate"
    minor = "Minor"
    unknown = "Unknown"


class Certainty(StrEnum):
    observed = "Observed"
    likely = "Likely"
    possible = "Possible"
    unlikely = "Unlikely"
    # "Very Likely" was CAP 1.0's; CAP 1.1 deprecated it for "Likely", and CAP 1.2 dropped it.
    unknown = "Unknown"


class CapReference(msgspec.Struct, frozen=True, kw_only=True):
    """An earlier message this one refers to (the ``sender,identifier,sent`` triple)."""

    sender: str
    identifier: str
    sent: datetime


class CapResource(msgspec.Struct, frozen=True, kw_only=True):
    """A file attached to an info block by reference (or inline, base64, in ``deref_uri``)."""

    resource_desc: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    deref_uri: str | None = None
    digest: str | None = None


class CapArea(msgspec.Struct, frozen=True, kw_only=True):
    """Where an info block applies: polygons and circles are (lat, lon) in WGS84, radii in km, heights in feet."""

    area_desc: str
    polygons: list[list[tuple[float, float]]] = []
    circles: list[tuple[float, float, float]] = []
    geocodes: list[tuple[str, str]] = []
    altitude: float | None = None
    ceiling: float | None = None


class CapInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One info block: the event, how bad and how sure, what to do, and where."""

    language: str = "en-US"
    categories: list[Category]
    event: str
    response_types: list[ResponseType] = []
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    audience: str | None = None
    event_codes: list[tuple[str, str]] = []
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: list[tuple[str, str]] = []
    resources: list[CapResource] = []
    areas: list[CapArea] = []


class CapAlert(msgspec.Struct, frozen=True, kw_only=True):
    """A CAP alert message, in CAP 1.2's terms whatever version it arrived in."""

    identifier: str
    sender: str
    sent: datetime
    status: Status
    msg_type: MsgType
    source: str | None = None
    scope: Scope
    restriction: str | None = None
    addresses: list[str] = []
    codes: list[str] = []
    note: str | None = None
    references: list[CapReference] = []
    incidents: list[str] = []
    infos: list[CapInfo] = []


def is_public_actual(alert: CapAlert) -> bool:
    """Whether the alert may reach citizens: a real event (status Actual) for everyone (scope Public)."""
    return alert.status is Status.actual and alert.scope is Scope.public


def parse_cap(data: bytes) -> CapAlert:
    """Parse one CAP 1.2 or 1.1 ``<alert>``, refusing unsafe XML and anything the CAP 1.2 rules forbid."""
    try:
        # No DTD at all: CAP never needs one, and it is how entity bombs and external entities get in.
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as e:
        raise CapError(f"forbidden XML construct ({type(e).__name__}): DTDs and entities are refused") from e
    except ParseError as e:
        raise CapError(f"not well-formed XML: {e}") from e
    ns, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    if ns not in (CAP12_NS, CAP11_NS):
        raise CapError(f"namespace {ns or '(none)'!r} is not CAP 1.2 ({CAP12_NS}) or CAP 1.1 ({CAP11_NS})")
    if local != "alert":
        raise CapError(f"root element is <{local}>, expected <alert> (one message per document)")
    return _Reader(ns).alert(root)


E = TypeVar("E", bound=StrEnum)


class _Reader:
    """Reads elements of one CAP namespace; each method takes the parent element."""

    def __init__(self, ns: str) -> None:
        self.ns = ns

    def _children(self, parent: Element, name: str) -> list[Element]:
        return parent.findall(f"{{{self.ns}}}{name}")

    def _texts(self, parent: Element, name: str) -> list[str]:
        return [(el.text or "").strip() for el in self._children(parent, name)]

    def _opt(self, parent: Element, name: str) -> str | None:
        texts = self._texts(parent, name)
        if len(texts) > 1:
            raise CapError(f"<{name}> appears {len(texts)} times in <{_local(parent)}>; CAP allows it once")
        # An empty element (<note/>) says nothing, as some feeds write every optional element.
        return texts[0] if texts and texts[0] else None

    def _req(self, parent: Element, name: str) -> str:
        value = self._opt(parent, name)
        if value is None:
            raise CapError(f"required element <{name}> is missing or empty in <{_local(parent)}>")
        return value

    def _enum(self, value: str, kind: type[E], name: str) -> E:
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            raise CapError(f"<{name}> {value!r} is not one of {allowed}") from None

    def _time(self, parent: Element, name: str) -> datetime | None:
        value = self._opt(parent, name)
        return None if value is None else parse_datetime(value, name)

    def _pairs(self, parent: Element, name: str) -> list[tuple[str, str]]:
        pairs = []
        for el in self._children(parent, name):
            value_name = self._opt(el, "valueName")
            if value_name is None:
                raise CapError(f"<{name}> without a <valueName>")
            pairs.append((value_name, self._opt(el, "value") or ""))
        return pairs

    def alert(self, root: Element) -> CapAlert:
        references = self._opt(root, "references")
        return CapAlert(
            identifier=self._req(root, "identifier"),
            sender=self._req(root, "sender"),
            sent=parse_datetime(self._req(root, "sent"), "sent"),
            status=self._enum(self._req(root, "status"), Status, "status"),
            msg_type=self._enum(self._req(root, "msgType"), MsgType, "msgType"),
            source=self._opt(root, "source"),
            scope=self._enum(self._req(root, "scope"), Scope, "scope"),
            restriction=self._opt(root, "restriction"),
            addresses=_split_list(self._opt(root, "addresses")),
            codes=[code for code in self._texts(root, "code") if code],
            note=self._opt(root, "note"),
            references=parse_references(references) if references else [],
            incidents=_split_list(self._opt(root, "incidents")),
            infos=[self.info(el) for el in self._children(root, "info")],
        )

    def info(self, el: Element) -> CapInfo:
        categories = self._texts(el, "category")
        if not any(categories):
            raise CapError("required element <category> is missing or empty in <info>")
        return CapInfo(
            language=self._opt(el, "language") or "en-US",
            categories=[self._enum(c, Category, "category") for c in categories],
            event=self._req(el, "event"),
            response_types=[self._enum(r, ResponseType, "responseType") for r in self._texts(el, "responseType")],
            urgency=self._enum(self._req(el, "urgency"), Urgency, "urgency"),
            severity=self._enum(self._req(el, "severity"), Severity, "severity"),
            certainty=self._enum(self._req(el, "certainty"), Certainty, "certainty"),
            audience=self._opt(el, "audience"),
            event_codes=self._pairs(el, "eventCode"),
            effective=self._time(el, "effective"),
            onset=self._time(el, "onset"),
            expires=self._time(el, "expires"),
            sender_name=self._opt(el, "senderName"),
            headline=self._opt(el, "headline"),
            description=self._opt(el, "description"),
            instruction=self._opt(el, "instruction"),
            web=self._opt(el, "web"),
            contact=self._opt(el, "contact"),
            parameters=self._pairs(el, "parameter"),
            resources=[self.resource(r) for r in self._children(el, "resource")],
            areas=[self.area(a) for a in self._children(el, "area")],
        )

    def resource(self, el: Element) -> CapResource:
        size = self._opt(el, "size")
        if size is not None and not size.isdigit():
            raise CapError(f"<size> {size!r} is not a whole number of bytes")
        return CapResource(
            resource_desc=self._req(el, "resourceDesc"),
            mime_type=self._req(el, "mimeType"),
            size=None if size is None else int(size),
            uri=self._opt(el, "uri"),
            deref_uri=self._opt(el, "derefUri"),
            digest=self._opt(el, "digest"),
        )

    def area(self, el: Element) -> CapArea:
        altitude, ceiling = (
            _decimal(self._opt(el, "altitude"), "altitude"),
            _decimal(self._opt(el, "ceiling"), "ceiling"),
        )
        if ceiling is not None and altitude is None:
            raise CapError("<ceiling> without <altitude>: CAP uses ceiling only with altitude")
        return CapArea(
            area_desc=self._req(el, "areaDesc"),
            polygons=[parse_polygon(p) for p in self._texts(el, "polygon") if p],
            circles=[parse_circle(c) for c in self._texts(el, "circle") if c],
            geocodes=self._pairs(el, "geocode"),
            altitude=altitude,
            ceiling=ceiling,
        )


def _local(el: Element) -> str:
    return el.tag.rpartition("}")[2]


def _split_list(value: str | None) -> list[str]:
    return [quoted or bare for quoted, bare in _LIST_ITEM.findall(value or "")]


def _decimal(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise CapError(f"<{name}> {value!r} is not a number")
    return number


def parse_datetime(value: str, name: str) -> datetime:
    """A CAP date-time, which must carry its offset (``2003-06-17T14:57:00-07:00``); "-00:00" means UTC."""
    if not _DATETIME.fullmatch(value):
        raise CapError(
            f"<{name}> {value!r} is not a CAP date-time: CAP requires YYYY-MM-DDThh:mm:ss with an explicit offset "
            "such as +09:00 (no naive times, no 'Z', no fractions)"
        )
    try:
        return datetime.fromisoformat(value)
    except ValueError as e:
        raise CapError(f"<{name}> {value!r} is not a real date-time: {e}") from None


def parse_references(value: str) -> list[CapReference]:
    """The ``sender,identifier,sent`` triples of ``<references>``, separated by whitespace."""
    references = []
    for triple in value.split():
        parts = triple.split(",")
        if len(parts) != 3 or not all(parts):
            raise CapError(f"<references> entry {triple!r} is not a 'sender,identifier,sent' triple")
        references.append(
            CapReference(sender=parts[0], identifier=parts[1], sent=parse_datetime(parts[2], "references"))
        )
    return references


def _point(pair: str, name: str) -> tuple[float, float]:
    lat_s, sep, lon_s = pair.partition(",")
    try:
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise CapError(f"<{name}> point {pair!r} is not 'lat,lon'") from None
    if not sep or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise CapError(f"<{name}> point {pair!r} is not 'lat,lon' within -90..90, -180..180")
    return lat, lon


def parse_polygon(value: str) -> list[tuple[float, float]]:
    """A closed ring of at least four ``lat,lon`` points separated by spaces, the first repeated last."""
    points = [_point(pair, "polygon") for pair in value.split()]
    if len(points) < 4:
        raise CapError(f"<polygon> has {len(points)} points; CAP requires at least 4 (a closed triangle)")
    if points[0] != points[-1]:
        raise CapError(f"<polygon> is not closed: it starts at {points[0]} but ends at {points[-1]}")
    ring = Polygon([(lon, lat) for lat, lon in points])
    if not ring.is_valid:
        # GEOS names the fault and where, in (lon, lat): "Self-intersection[127.05 37.49]".
        reason = shapely.is_valid_reason(ring)
        raise CapError(f"<polygon> is not a simple ring (it crosses itself or has no area): {reason}")
    return points


def parse_circle(value: str) -> tuple[float, float, float]:
    """A ``lat,lon radius`` circle, the radius in kilometres."""
    parts = value.split()
    if len(parts) != 2:
        raise CapError(f"<circle> {value!r} is not 'lat,lon radius_km'")
    lat, lon = _point(parts[0], "circle")
    radius = _decimal(parts[1], "circle")
    if radius is None or not radius >= 0:
        raise CapError(f"<circle> radius {parts[1]!r} is not a non-negative number of kilometres")
    return lat, lon, radius
