"""The audit trail: who called and what was answered, one record per hook and feedback call, kept
in the database and given out as FHIR R4 ``AuditEvent`` resources (``cds-service audit-events``).

A record names the caller (issuer, tenant, the registered client from the token's ``sub``), the
service, the hook instance, the HTTP status, the kinds of card answered (or withheld, in silent
mode), the feedback outcomes and the content version. Never a patient identifier, a token or text
from the record: an audit trail is read by more people than a chart is.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from . import metrics
from .errors import DatabaseUnavailable
from .store import AuditRecord, Store

log = logging.getLogger(__name__)

#: The service's own code systems (the README lists them).
ACTION_SYSTEM = "https://cds-service.invalid/fhir/CodeSystem/audit-action"
DETAIL_PREFIX = "https://cds-service.invalid/fhir/audit-detail/"
_REST = {
    "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
    "code": "rest",
    "display": "RESTful Operation",
}
_APPLICATION_SERVER = {
    "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
    "code": "4",
    "display": "Application Server",
}
_ACTIONS = {
    # CDS Hooks calls execute a service; feedback creates records of it.
    "hook-call": ("E", "Hook call"),
    "feedback": ("C", "Feedback"),
}


class AuditWriter:
    """Audit records leave the request: a call queues its record and returns; one thread per
    process writes the queue in batches (one transaction each), so a hook call never waits on the
    audit table, and a burst of calls costs one insert per batch instead of one per call.

    A database outage is logged, and the call is still answered: clinicians must not lose cards
    because the audit table is unreachable. Records waiting when a process dies are lost (at most
    ``interval_s`` of calls); a process that exits normally writes them first.
    """

    def __init__(
        self, store: Store, interval_s: float = 0.2, batch: int = 500, capacity: int = 20_000
    ) -> None:
        self.store = store
        # An in-memory SQLite database exists on its own connection only (trials, the evaluate
        # command): written in the call, as no other thread can see it.
        self._inline = store.in_memory
        self.interval_s = interval_s
        self.batch = batch
        self._queue: queue.Queue[AuditRecord] = queue.Queue(maxsize=capacity)
        self._lock = threading.Lock()
        #: The process whose writer thread runs: gunicorn forks workers after start-up.
        self._pid: int | None = None

    def submit(self, record: AuditRecord) -> None:
        if record.recorded_at is None:
            record = replace(record, recorded_at=datetime.now(UTC))
        if self._inline:
            self._write([record])
            return
        self._ensure_thread()
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            log.warning("audit record dropped: the audit queue is full (database too slow?)")
            metrics.DATABASE_ERRORS.labels("audit_queue_full").inc()

    def flush(self, timeout_s: float = 10.0) -> None:
        """Write what is queued now (tests, commands, shutdown)."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def _ensure_thread(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="audit-writer", daemon=True).start()
            atexit.register(self.flush, 5.0)

    def _run(self) -> None:
        while True:
            records = [self._queue.get()]
            deadline = time.monotonic() + self.interval_s
            while len(records) < self.batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    records.append(self._queue.get(timeout=remaining))
                except queue.Empty:
                    break
            try:
                self._write(records)
            finally:
                for _ in records:
                    self._queue.task_done()

    def _write(self, records: list[AuditRecord]) -> None:
        try:
            self.store.record_audits(records)
        except DatabaseUnavailable:
            log.warning("audit records not written: database unavailable (%d)", len(records))


def _outcome(status: int) -> str:
    # AuditEvent.outcome: 0 success, 4 minor failure (the caller's error), 8 serious failure.
    return "0" if status < 400 else "4" if status < 500 else "8"


def audit_event(record: AuditRecord, base_url: str) -> dict[str, Any]:
    """One record as a FHIR R4 AuditEvent."""
    code, display = _ACTIONS.get(record.action, ("E", record.action))
    details = {
        "service": record.service_id,
        "hookInstance": record.hook_instance,
        "tenant": record.tenant,
        "httpStatus": str(record.status),
        "contentVersion": record.content_version,
        "cardKinds": ",".join(record.card_kinds),
        "delivery": "silent" if record.silent else "shown",
        "feedbackOutcomes": ",".join(f"{k}:{v}" for k, v in record.feedback_outcomes),
        "durationMs": f"{record.duration_ms:.1f}",
    }
    agent: dict[str, Any] = {"requestor": True}
    if record.issuer:
        agent["who"] = {
            "identifier": {"system": "urn:ietf:rfc:3986", "value": record.issuer},
            "display": "CDS client (EHR) " + record.issuer,
        }
    else:
        agent["who"] = {"display": "anonymous caller (development mode)"}
    if record.client:
        agent["altId"] = record.client
    recorded = record.recorded_at.isoformat() if record.recorded_at else None
    return {
        "resourceType": "AuditEvent",
        "id": f"cds-audit-{record.id}",
        "type": _REST,
        "subtype": [{"system": ACTION_SYSTEM, "code": record.action, "display": display}],
        "action": code,
        "recorded": recorded,
        "outcome": _outcome(record.status),
        "agent": [agent],
        "source": {
            "site": base_url,
            "observer": {"display": "cds-service"},
            "type": [_APPLICATION_SERVER],
        },
        "entity": [
            {
                "what": {
                    "identifier": {"system": base_url + "/cds-services", "value": record.service_id}
                },
                "detail": [
                    {"type": DETAIL_PREFIX + key, "valueString": value}
                    for key, value in details.items()
                    if value
                ],
            }
        ],
    }


def audit_bundle(records: Sequence[AuditRecord], base_url: str) -> dict[str, Any]:
    """The records as a FHIR collection Bundle of AuditEvents."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": audit_event(record, base_url)} for record in records],
    }
