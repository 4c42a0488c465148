"""``/metrics``: this API's request metrics and the system's state read from the database, for Prometheus.

Unauthenticated, as Prometheus scrapes: it carries counts and durations only, no personal data, and a
deployment keeps it off the public proxy (docs/operations.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar import Request, Response, get
from prometheus_client.core import GaugeMetricFamily, Metric

from api.platform import metrics
from api.platform.auth.guards import PUBLIC
from care.cases import repository as cases_repository
from notifications import deliveries_repository

DEAD_LETTER_WINDOW = timedelta(hours=24)
# What a scrape reads from the database, by metric name.
SYSTEM = (
    "safecity_outbox_messages",
    "safecity_outbox_dead_letters",
    "safecity_outbox_oldest_due_urgent_seconds",
    "safecity_cases_open_urgent",
)


@get("/metrics", opt=PUBLIC, include_in_schema=False, media_type=metrics.CONTENT_TYPE)
async def scrape(request: Request) -> Response[bytes]:
    """Prometheus text format."""
    now = datetime.now(UTC)
    async with request.app.state.pool.acquire() as conn:
        outbox = await deliveries_repository.gauges(conn, now=now, dead_since=now - DEAD_LETTER_WINDOW)
        urgent = await cases_repository.open_urgent_by_district(conn)
    depth = GaugeMetricFamily(
        "safecity_outbox_messages", "Messages waiting (pending) or in flight (sending)", labels=["channel", "state"]
    )
    dead = GaugeMetricFamily(
        "safecity_outbox_dead_letters", "Messages that failed for good or ended unknown, last 24 h", labels=["channel"]
    )
    oldest = GaugeMetricFamily(
        "safecity_outbox_oldest_due_urgent_seconds",
        "How long the longest-waiting due urgent message has waited (0: none waits)",
        labels=["channel"],
    )
    for row in outbox:
        if row["state"] == "dead":
            dead.add_metric([row["channel"]], row["n"])
        elif row["state"] == "oldest":
            oldest.add_metric([row["channel"]], row["oldest_due_urgent_s"])
        else:
            depth.add_metric([row["channel"], row["state"]], row["n"])
    cases = GaugeMetricFamily("safecity_cases_open_urgent", "Open urgent cases, by district code", labels=["district"])
    for row in urgent:
        cases.add_metric([row["district"]], row["n"])
    system: list[Metric] = [depth, dead, oldest, cases]
    return Response(metrics.exposition(system), media_type=metrics.CONTENT_TYPE)
