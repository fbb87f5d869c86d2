"""The audit trail: who called and what was answered, one record per hook and feedback call, kept
in the database and given out as FHIR R4 ``AuditEvent`` resources (``cds-service audit-events``).

A record names the caller (issuer, tenant, the registered client from the token's ``sub``), the
service, the hook instance, the HTTP status, the kinds of card answered (or withheld, in silent
mode), the feedback outcomes and the content version. Never a patient identifier, a token or text
from the record: an audit trail is read by more people than a chart is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from .batching import BatchWriter
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


class AuditWriter(BatchWriter[AuditRecord]):
    """Audit records leave the request (:mod:`cds_service.batching`): a hook call never waits on
    the audit table. A record keeps the moment of its call, not of its write."""

    def __init__(self, store: Store, interval_s: float = 0.2) -> None:
        super().__init__(store.record_audits, "audit", store.in_memory, interval_s)

    def submit(self, record: AuditRecord) -> None:
        if record.recorded_at is None:
            record = replace(record, recorded_at=datetime.now(UTC))
        super().submit(record)


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
