"""Every scheduled job, declared beside its domain and listed here."""

from __future__ import annotations

from api.alerts.jobs import poll_cap_feeds, poll_kma_warnings
from api.auth.jobs import purge_expired
from api.chat.jobs import sms_replies
from api.worker.registry import Job
from care.jobs import care_sweep
from care.safety.jobs import safety_sweep
from notifications.jobs import purge_old

JOBS: dict[str, Job] = {
    j.name: j
    for j in (purge_expired, purge_old, care_sweep, safety_sweep, poll_kma_warnings, poll_cap_feeds, sms_replies)
}
