"""Gathering the FHIR context of one hook call: prefetch first, then (when allowed) the FHIR server.

The result is a :class:`ClinicalRecord` of fhir.resources models; everything after this stage works on
typed resources and never sees HTTP or JSON.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from fhir_core.fhirabstractmodel import FHIRAbstractModel

from .. import metrics
from ..errors import InvalidRequest, PreconditionFailed, named
from ..protocol import HookRequest
from .prefetch import FetchJob, Prefetch, PrefetchValue, next_link, read_value
from .record import ClinicalRecord
from .resources import parse_leniently, validated
from .templates import render

log = logging.getLogger(__name__)

#: The Patient fields the service reads. A full Patient (names, addresses, identifiers, extensions)
#: costs a millisecond or more to validate and holds nothing the advice depends on.
PATIENT_FIELDS = (
    "resourceType",
    "id",
    "birthDate",
    "gender",
    "deceasedBoolean",
    "deceasedDateTime",
)


class Fetcher(Protocol):
    """Fetches declared keys from ``request.fhirServer`` (see :mod:`cds_service.fhir.client`)."""

    def fetch_all(
        self, jobs: Sequence[FetchJob], request: HookRequest, also_allowed: Sequence[str] = ()
    ) -> dict[str, PrefetchValue]: ...


def _unavailable(request: HookRequest) -> str:
    if request.fhirServer is None:
        return "the request names no fhirServer to fetch it from"
    return "fetching from this fhirServer is not allowed by the service's settings"


def gather(
    request: HookRequest,
    declared: Mapping[str, Prefetch],
    now: datetime,
    fetcher: Fetcher | None = None,
    also_allowed: Sequence[str] = (),
    keep: Callable[[dict[str, Any]], bool] | None = None,
    budget_s: float | None = None,
) -> ClinicalRecord:
    """Collect every declared key; 412 naming each required key that could not be obtained.
    ``budget_s``: processor seconds the call may spend validating what it keeps; past them, the
    rest is left unread and counted (a body of 60,000 notes naming milia took 16 s)."""
    sent = request.prefetch or {}
    values: dict[str, PrefetchValue] = {}
    jobs: list[FetchJob] = []
    for key, spec in declared.items():
        value = read_value(key, spec, sent.get(key), key in sent)
        values[key] = value
        query = render(spec.template, request.context)
        if query is None:
            continue  # a token this call has no value for: the key does not apply
        if not value.provided:
            jobs.append(FetchJob(key, spec, query))
        elif value.bundle is not None and next_link(value.bundle) is not None:
            jobs.append(FetchJob(key, spec, query, start=value))  # a paginated prefetch Bundle
    if jobs:
        if fetcher is not None and request.fhirServer is not None:
            fetched = fetcher.fetch_all(jobs, request, also_allowed)
        else:
            fetched = {
                j.key: PrefetchValue(j.key, False, reason=_unavailable(request)) for j in jobs
            }
        for job in jobs:
            value = fetched[job.key]
            if not value.provided:
                first = "prefetch is paginated" if job.start else values[job.key].reason
                value = PrefetchValue(job.key, False, reason=f"{first}; {value.reason}")
            values[job.key] = value
    fetched_keys = {job.key for job in jobs}
    for key, value in values.items():
        outcome = "missing" if not value.provided else "fetched" if key in fetched_keys else "sent"
        metrics.PREFETCH.labels(key, outcome).inc()
    ignored = sorted(set(sent) - set(declared))
    if ignored:
        log.info("ignored %d undeclared prefetch key(s)", len(ignored))

    failed = [v for k, v in values.items() if not v.provided and declared[k].required]
    if failed:
        reasons = "; ".join(f"'{v.key}' ({v.reason})" for v in failed)
        raise PreconditionFailed(f"required FHIR data could not be obtained: {reasons}")
    missing = tuple(k for k, v in values.items() if not v.provided)
    # A key the EHR does not send is its configuration, the same on every call (counted in
    # cds_prefetch_keys_total); a fetch from its FHIR server that failed is worth a warning.
    tried = fetcher is not None and request.fhirServer is not None
    failed_fetch = [k for k in missing if tried and k in fetched_keys]
    if failed_fetch:
        log.warning("optional prefetch could not be fetched: %s", ", ".join(failed_fetch))
    elif missing:
        log.debug("optional prefetch not obtained: %s", ", ".join(missing))

    resources: dict[str, list[FHIRAbstractModel]] = {}
    patient = None
    from_server = {job.key for job in jobs}
    patient_id = str(request.context.get("patientId", ""))
    foreign = unread = 0
    deadline = None if budget_s is None else time.thread_time() + budget_s
    for key, value in values.items():
        is_read = declared[key].is_read
        for index, raw in enumerate(value.resources):
            if another_patients(raw, patient_id):
                foreign += 1  # advice for this patient never rests on another's record
                continue
            if keep is not None and not is_read and not keep(raw):
                continue  # cannot concern milia: not worth a strict FHIR validation
            if deadline is not None and not is_read and time.thread_time() > deadline:
                unread += 1
                continue
            if is_read and raw.get("resourceType") == "Patient":
                raw = {k: raw[k] for k in PATIENT_FIELDS if k in raw}
            try:
                model = validated.parse(raw, f"prefetch.{key}[{index}]")
            except InvalidRequest as exc:
                if key not in from_server:
                    raise
                # What the FHIR server sent is wrong, not the caller's request.
                raise PreconditionFailed(
                    f"the FHIR server sent invalid data for '{key}': {exc.message}"
                ) from None
            if is_read and model.get_resource_type() == "Patient":
                patient = model
            else:
                resources.setdefault(model.get_resource_type(), []).append(model)
    if foreign:
        log.warning("%d resource(s) of another patient than context.patientId ignored", foreign)
    if unread:
        log.warning("%d resource(s) left unread: the call's validation budget ran out", unread)
    orders = _draft_orders(request, keep)
    return ClinicalRecord(now, patient, resources, orders, missing, unread)


def another_patients(raw: dict[str, Any], patient_id: str) -> bool:
    """Whether a resource is plainly of another patient than the call's: a Patient of another
    id, or a subject or patient reference to another Patient ("Patient/pB", absolute or with a
    version). References that cannot be told (contained, urn:uuid, logical) are not."""
    if not patient_id:
        return False
    if raw.get("resourceType") == "Patient":
        own = raw.get("id")
        return isinstance(own, str) and own != patient_id
    for field in ("subject", "patient"):
        target = raw.get(field)
        reference = target.get("reference") if isinstance(target, dict) else None
        if isinstance(reference, str):
            parts = reference.split("/_history/")[0].rstrip("/").split("/")
            if len(parts) >= 2 and parts[-2] == "Patient" and parts[-1] != patient_id:
                return True
    return False


def _draft_orders(
    request: HookRequest, keep: Callable[[dict[str, Any]], bool] | None = None
) -> list[FHIRAbstractModel]:
    """The draft orders that are valid R4 and can matter; the others are skipped.

    Prefetched record data is parsed strictly (a resource we cannot read might hold a red flag, so
    the caller gets a 400). Draft orders are read leniently: the CDS Hooks Library's own R4 examples
    carry STU3-shaped dosages, and an EHR's order with one element out of shape (a note as a
    string, a field of its own) is read without that element (:func:`.parse_leniently`), so that
    its medicine's cautions still show; an order whose medicine or code cannot be read is
    skipped. Both are logged, by element name. An order ``keep`` drops (a medicine the
    knowledge base does not know, by code or name) can call for no caution, and is not worth
    its validation: 30 orders cost about 9 ms.
    """
    bundle = request.context.get("draftOrders")
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    if entries is not None and not isinstance(entries, list):
        raise InvalidRequest("context.draftOrders.entry must be an array")
    orders = []
    for index, entry in enumerate(entries or ()):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or (keep is not None and not keep(resource)):
            continue
        where = f"context.draftOrders.entry[{index}].resource"
        try:
            orders.append(validated.parse(resource, where))
            continue
        except InvalidRequest as exc:
            problem = exc.message
        # Read without what fails, so that one vendor's field does not silence the order's
        # cautions; only element names are logged, never values.
        model, left_out = parse_leniently(resource, where)
        if model is None:
            log.warning("draft order skipped: %s", problem)
            continue
        orders.append(model)
        log.warning(
            "draft order read without %s: %s", ", ".join(named(n) for n in left_out), problem
        )
    return orders
