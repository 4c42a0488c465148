"""What the public sees of hazard reports: which reports, their words without contacts, and their places.

Which reports: every report filed through Open311 (an open interface: its requests are public, as on
FixMyStreet), and app reports whose reporter chose ``public``; app reports are private by default, and
chatbot reports are always private. The choice is stored with the report (``hazard_reports.is_public``), and
every public surface (Open311's requests and tokens, the incident map) reads public reports only and shows
them through the functions here. Reporters and operators still see every report in full.
"""

from __future__ import annotations

from api.platform.redact import redact_contacts

# The grid public points of app reports snap to: 0.0005° of latitude is 55.6 m; 0.0006° of longitude is
# 111.3 km × cos 37.5° × 0.0006 ≈ 53 m at Seoul's latitude. A point moves at most half a cell each way
# (≤ 38 m), and every report in a cell shows at its one node, so the map tells the block, not the doorstep.
GRID_LAT_DEG = 0.0005
GRID_LON_DEG = 0.0006


def is_public(*, source: str, chosen: bool) -> bool:
    """Whether a new report is public: Open311's always, the app's when its reporter chose so, others never."""
    return source == "open311" or (source == "app" and chosen)


def coarse(lat: float, lon: float) -> tuple[float, float]:
    """The point snapped to the nearest node of the ~50 m grid."""
    # Four decimals hold every node exactly, so 37.5665 does not come out as 37.566500000000005.
    return round(round(lat / GRID_LAT_DEG) * GRID_LAT_DEG, 4), round(round(lon / GRID_LON_DEG) * GRID_LON_DEG, 4)


def point(lat: float, lon: float, *, source: str) -> tuple[float, float]:
    """Where the public sees a report: an Open311 request where its sender put it, any other on the grid."""
    return (lat, lon) if source == "open311" else coarse(lat, lon)


def address(value: str | None, *, source: str) -> str | None:
    """An app reporter's address is left out: a street number would undo the coarse point."""
    return value if source == "open311" else None


def text(value: str | None) -> str | None:
    """Free text for the public (a description, an operator's status notes) without phone numbers or e-mails."""
    return redact_contacts(value) if value else value
