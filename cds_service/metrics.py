"""Prometheus metrics, served at ``/metrics``. No label ever holds patient data: only service ids,
card kinds, indicators, red-flag ids, prefetch keys, outcome and reason classes from fixed sets.

Under gunicorn every worker counts: ``cds-service serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` (a fresh
folder) before the workers start, and ``/metrics`` sums the workers' files. In a single process (tests,
``evaluate``) the default registry is used.
"""

from __future__ import annotations

import os
import re

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

#: Around the spec's budget of about 500 ms for the whole hook (most of it the EHR's prefetch).
_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0)

HOOK_SECONDS = Histogram(
    "cds_hook_duration_seconds", "Time to answer a hook call", ["service"], buckets=_BUCKETS
)
#: delivery: shown, or silent (computed and recorded but withheld: silent mode).
CARDS = Counter("cds_cards_total", "Cards answered", ["kind", "indicator", "delivery"])
RED_FLAGS = Counter("cds_red_flags_total", "Red flags raised", ["flag"])
PREFETCH = Counter(
    "cds_prefetch_keys_total", "Declared prefetch keys by outcome", ["key", "outcome"]
)
FALLBACK = Counter("cds_fallback_fetches_total", "Fetches from the FHIR server", ["outcome"])
AUTH_FAILURES = Counter("cds_auth_failures_total", "Refused calls by reason class", ["reason"])
FEEDBACK = Counter("cds_feedback_total", "Feedback entries", ["outcome", "reason"])
DATABASE_ERRORS = Counter("cds_database_errors_total", "Database errors", ["operation"])
CONTENT = Gauge(
    "cds_content_info", "The knowledge base served", ["version", "status"], multiprocess_mode="max"
)

#: Reason classes of refused tokens, from the operator's log message (never the message itself).
_AUTH_REASONS = (
    ("no bearer", "missing"),
    ("malformed", "malformed"),
    ("expired", "expired"),
    ("not yet valid", "not-yet-valid"),
    ("signature", "signature"),
    ("issuer", "issuer"),
    ("aud", "audience"),
    ("replay", "replay"),
    ("kid", "key"),
    ("never accepted", "algorithm"),
    ("not accepted", "algorithm"),
    ("tenant", "tenant"),
    ("sub not", "client"),
    ("invalidsubject", "client"),  # a sub that is not a string (PyJWT refuses it first)
)


def auth_reason(message: str) -> str:
    lowered = message.lower()
    return next((reason for words, reason in _AUTH_REASONS if words in lowered), "other")


_SAFE_LABEL = re.compile(r"[^a-z0-9_.:-]")


def label_value(value: str) -> str:
    """A label from content ids and fixed words only: anything else is reduced to safe text."""
    return _SAFE_LABEL.sub("_", value.lower())[:60]


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, summed over gunicorn workers when there are some."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
