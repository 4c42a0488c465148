"""The fake Twilio's Messages list (``GET …/Messages.json``): Twilio's filters, order and pages, on the wire as Twilio.

Twilio filters by ``To``, ``From`` and ``DateSent`` (also ``DateSent<`` and ``DateSent>``: on or before, on or after),
each date a GMT ``YYYY-MM-DD`` or an ISO 8601 time, lists the newest first, and pages with ``PageSize`` (50 unless
told, at most 1,000), ``Page`` and the ``PageToken`` of its ``next_page_uri``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_FILTERS = ("To", "From", "DateSent", "DateSent<", "DateSent>")


class BadQuery(ValueError):
    """A list request Twilio would refuse with 400."""


def _bound(raw: str) -> tuple[datetime, datetime]:
    """The instants a DateSent value covers, from and until: a whole day for a date, one instant for a time."""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            start = datetime.combine(day, time(), tzinfo=UTC)
            return start, start + timedelta(days=1) - timedelta(microseconds=1)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadQuery(f"Invalid DateSent value {raw!r}") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment, moment


def matcher(query: Mapping[str, str]) -> Callable[[Mapping[str, Any], datetime], bool]:
    """A test of one message (its record and when it was sent) against the list request's filters."""
    to, from_ = query.get("To"), query.get("From")
    on = _bound(query["DateSent"]) if "DateSent" in query else None
    after = _bound(query["DateSent>"])[0] if "DateSent>" in query else None
    before = _bound(query["DateSent<"])[1] if "DateSent<" in query else None

    def matches(record: Mapping[str, Any], sent_at: datetime) -> bool:
        return (
            (to is None or record["To"] == to)
            and (from_ is None or record["sender"] == from_)
            and (on is None or on[0] <= sent_at <= on[1])
            and (after is None or sent_at >= after)
            and (before is None or sent_at <= before)
        )

    return matches


def page_numbers(query: Mapping[str, str]) -> tuple[int, int]:
    """The page and its size that a list request asks for."""
    try:
        size = int(query.get("PageSize", DEFAULT_PAGE_SIZE))
        page = int(query.get("Page", 0))
    except ValueError:
        raise BadQuery("PageSize and Page must be numbers") from None
    if not 1 <= size <= MAX_PAGE_SIZE or page < 0:
        raise BadQuery(f"PageSize must be 1 to {MAX_PAGE_SIZE} and Page at least 0")
    return page, size


def list_page(
    path: str, query: Mapping[str, str], resources: Sequence[dict[str, Any]], *, page: int, size: int
) -> dict[str, Any]:
    """One page of a list, newest first already, with the page URIs Twilio gives (relative to the API host)."""
    kept = {k: query[k] for k in _FILTERS if k in query}

    def uri(number: int, *, token: str | None = None) -> str:
        params = {**kept, "PageSize": str(size), "Page": str(number)}
        if token:
            params["PageToken"] = token
        return f"{path}?{urlencode(params)}"

    start = page * size
    records = list(resources[start : start + size])
    more = start + size < len(resources)
    return {
        "end": start + len(records) - 1 if records else start,
        "first_page_uri": uri(0),
        "messages": records,
        "next_page_uri": uri(page + 1, token=f"PA{records[-1]['sid']}") if more and records else None,
        "page": page,
        "page_size": size,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
        "start": start,
        "uri": uri(page),
    }
