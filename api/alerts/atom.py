"""An Atom 1.0 index of alerts in force, each entry linking to the alert as CAP: how other systems subscribe."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from xml.etree.ElementTree import Element, SubElement, tostring

from api.alerts.cap_render import format_datetime
from api.alerts.schemas import AlertRead

ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"


def render_atom(alerts: Sequence[AlertRead], *, base_url: str, now: datetime) -> bytes:
    """The feed document: newest first, ``updated`` the newest alert's time (or now, for an empty feed)."""
    base = base_url.rstrip("/")
    feed = Element("feed", {"xmlns": ATOM_NS})
    _text(feed, "id", f"{base}/v1/alerts.atom")
    _text(feed, "title", "safecity: 서울 기상·재난 특보 (Seoul weather and disaster warnings)")
    _text(feed, "updated", format_datetime(max((a.sent for a in alerts), default=now)))
    SubElement(feed, "link", {"rel": "self", "href": f"{base}/v1/alerts.atom", "type": "application/atom+xml"})
    author = SubElement(feed, "author")
    _text(author, "name", "safecity")
    for alert in alerts:
        entry = SubElement(feed, "entry")
        _text(entry, "id", f"{base}/v1/alerts/{alert.id}.cap")
        text = alert.texts.get("ko") or alert.texts.get("en")
        _text(entry, "title", text.headline if text else alert.event)
        _text(entry, "updated", format_datetime(alert.sent))
        if text and text.description:
            _text(entry, "summary", text.description)
        href = f"{base}/v1/alerts/{alert.id}.cap"
        SubElement(entry, "link", {"rel": "alternate", "href": href, "type": CAP_MEDIA_TYPE})
        for district in alert.districts:
            SubElement(entry, "category", {"term": district, "scheme": "urn:kr:seoul:district"})
    return tostring(feed, encoding="utf-8", xml_declaration=True)


def _text(parent: Element, name: str, value: str) -> None:
    SubElement(parent, name).text = value
