"""Prometheus metrics: what each process counts, and the text an operator's Prometheus scrapes.

A process counts what it does itself: the API its requests, the worker its job runs, sends and ladder steps.
What is true of the whole system (the outbox's depth, the oldest urgent message, open urgent cases) is read
from the database when the API is scraped (``api.health.metrics``), so every API answers the same figures.

Labels never carry personal data: a request is labelled by its route's template (``/v1/bot/people/{sender}``),
never by its path, and nothing is labelled by a phone, a name or an id.

The API serves several uvicorn workers as processes of their own when ``WEB_CONCURRENCY`` > 1: then
``safecity api`` gives them a ``PROMETHEUS_MULTIPROC_DIR`` (``var/metrics/api``, emptied at start), where
prometheus-client keeps each process's counts, and ``/metrics`` sums them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.core import Metric
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import REGISTRY, Collector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"  # the route label of a request no route took (a 404 or 405 from the router)

REQUESTS = Counter(
    "safecity_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "safecity_http_request_duration_seconds",
    "Time from a request's arrival to its last response byte, by route template",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
JOB_RUNS = Counter(
    "safecity_job_runs", "Job slots run (ran), left to another worker (taken) or failed", ["job", "outcome"]
)
JOB_SECONDS = Histogram(
    "safecity_job_duration_seconds",
    "How long a job's run took",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0),
)
JOB_LAG = Gauge("safecity_job_lag_seconds", "How long after its slot began the job's last run started", ["job"])
SENDS = Counter("safecity_outbox_sends", "Messages given to a provider, by what came of them", ["channel", "result"])
SEND_SECONDS = Histogram(
    "safecity_outbox_send_duration_seconds",
    "Time of one batch's calls to its provider",
    ["channel"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
PROVIDER_ERRORS = Counter(
    "safecity_provider_errors", "Messages a provider did not take, by kind of failure", ["channel", "failure"]
)
LADDER_STEPS = Counter(
    "safecity_ladder_steps", "Escalation ladder steps taken, by kind of ladder and step", ["kind", "step"]
)

# Every metric a process counts itself, for the tests that check the alert rules read only what exists.
COUNTED: tuple[MetricWrapperBase, ...] = (REQUESTS, REQUEST_SECONDS, JOB_RUNS, JOB_SECONDS, JOB_LAG)
COUNTED += (SENDS, SEND_SECONDS, PROVIDER_ERRORS, LADDER_STEPS)


def multiprocess_dir(var_dir: str) -> Path:
    """Empty ``var/metrics/api`` for a new set of API processes, and name it to prometheus-client."""
    path = Path(var_dir) / "metrics" / "api"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ[MULTIPROCESS_ENV] = str(path)
    return path


def exposition(extra: Iterable[Metric] = ()) -> bytes:
    """The text format of this process's metrics (of every API process, in multiprocess mode), and ``extra``."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Each(REGISTRY.collect()))
    registry.register(_Each(extra))
    return generate_latest(registry)


class _Each(Collector):
    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return self._metrics
