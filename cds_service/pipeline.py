"""The fixed pipelines, each visible in one function. A hook call (:func:`answer_hook`):

parse -> check hook -> gather FHIR context -> findings -> reasoning -> cards -> suppression.

Feedback (:func:`answer_feedback`): parse -> count -> settle (the cards' showings written) -> store
with the snoozes it calls for.

The HTTP endpoints, ``cds-service evaluate`` and the gallery run exactly this code.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from . import metrics
from .auth import ANONYMOUS, Authenticator, Caller
from .card_ids import CardIdentity
from .cards import CardRenderer
from .clinical.findings import RecordReader
from .clinical.knowledge import KnowledgeBase
from .clinical.reasoning import Assessment, assess
from .clinical.selection import CallFilter, RelevanceFilter
from .errors import InvalidRequest, describe_validation_error, named
from .fhir.context import Fetcher, gather
from .protocol import Card, CDSResponse, FeedbackAck, FeedbackRequest, HookRequest
from .services import ServiceDefinition, ServiceRegistry
from .store import Store
from .suppression import Suppression


@dataclass(frozen=True)
class Runtime:
    """What a hook call needs, built once at start-up."""

    knowledge: KnowledgeBase
    services: ServiceRegistry
    store: Store
    reader: RecordReader
    renderer: CardRenderer
    auth: Authenticator
    suppression: Suppression
    card_ids: CardIdentity
    #: Decides on raw JSON which prefetched resources are worth validating and reading.
    relevant: RelevanceFilter | None = None
    fetcher: Fetcher | None = None

    def relevance_for_call(self) -> CallFilter | None:
        """The relevance filter of one hook call (it reads ahead within the call's budget), and
        the screen of its body's decoding (:mod:`.fhir.lean_body`)."""
        return self.relevant.for_call() if self.relevant else None


def parse_hook_request(body: Any, service: ServiceDefinition) -> HookRequest:
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    try:
        request = HookRequest.model_validate(body)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation_error(exc)) from None
    if request.hook != service.hook:
        raise InvalidRequest(
            f"hook {named(request.hook)} does not match service '{service.id}', "
            f"which answers '{service.hook}'"
        )
    service.hook_definition.check_context(request.context)
    return request


@dataclass(frozen=True)
class HookAnswer:
    """The answer to one hook call and what the logs and the audit trail say of it."""

    response: CDSResponse
    #: Kinds of the cards computed and not held back by a snooze (withheld too, in silent mode).
    card_kinds: tuple[str, ...]
    silent: bool
    #: Milliseconds per stage: read (context and findings), reason, cards, record (suppression).
    timings: dict[str, float]


def answer_hook(
    body: Any,
    service: ServiceDefinition,
    runtime: Runtime,
    caller: Caller = ANONYMOUS,
    now: datetime | None = None,
    keep: CallFilter | None = None,
) -> HookAnswer:
    """``keep``: the call's relevance filter, when it also screened the body's decoding."""
    stamps = [time.perf_counter()]
    request = parse_hook_request(body, service)
    when = now or datetime.now(UTC)
    record = gather(
        request,
        service.prefetch,
        when,
        runtime.fetcher,
        caller.fhir_servers,
        keep or runtime.relevance_for_call(),
        # Validating what is kept has the reading's own budget again (CDS_TEXT_CPU_BUDGET_MS).
        budget_s=runtime.reader.limits.cpu_ms / 1000,
    )
    findings = runtime.reader.read(record)
    stamps.append(time.perf_counter())
    assessment = assess(findings, runtime.knowledge)
    stamps.append(time.perf_counter())
    ids = runtime.card_ids.for_patient(caller.iss, caller.tenant, request.context["patientId"])
    rendered = runtime.renderer.render_all(
        assessment, request.hook, request.context["patientId"], ids
    )
    stamps.append(time.perf_counter())
    red_flags = [hit.id for hit in assessment.red_flags]
    kept = runtime.suppression.apply(rendered, ids, red_flags, silent=caller.silent)
    stamps.append(time.perf_counter())
    cards = [r.card for r in kept]
    card_kinds = tuple(r.kind for r in kept)
    _count(service.id, cards, card_kinds, assessment, caller.silent, stamps[-1] - stamps[0])
    stages = ("read", "reason", "cards", "record")
    timings = {
        stage: round((end - start) * 1000, 2)
        for stage, start, end in zip(stages, stamps[:-1], stamps[1:], strict=True)
    }
    # Silent mode: everything above happened (metrics, shown-cards table, audit); the clinician
    # sees nothing.
    response = CDSResponse(cards=[] if caller.silent else cards)
    return HookAnswer(response, card_kinds, caller.silent, timings)


def _count(
    service_id: str,
    cards: list[Card],
    card_kinds: tuple[str, ...],
    assessment: Assessment,
    silent: bool,
    seconds: float,
) -> None:
    """Metrics of one answered hook call: time, cards by kind and indicator, red flags by id."""
    metrics.HOOK_SECONDS.labels(service_id).observe(seconds)
    delivery = "silent" if silent else "shown"
    for card, kind in zip(cards, card_kinds, strict=True):
        metrics.CARDS.labels(kind, card.indicator, delivery).inc()
    for hit in assessment.red_flags:
        metrics.RED_FLAGS.labels(hit.id).inc()


def parse_feedback(body: Any) -> FeedbackRequest:
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    try:
        return FeedbackRequest.model_validate(body)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation_error(exc)) from None


@dataclass(frozen=True)
class FeedbackAnswer:
    ack: FeedbackAck
    #: Entries by outcome (accepted, overridden), for the log and the audit trail.
    outcomes: Counter[str]


def answer_feedback(body: Any, service: ServiceDefinition, runtime: Runtime) -> FeedbackAnswer:
    """parse -> count -> settle -> store, with the snooze each new entry calls for (suppression)."""
    entries = parse_feedback(body).feedback
    codes = {r.code for r in runtime.knowledge.override_reasons.reasons}
    for entry in entries:
        chosen = entry.overrideReason.reason if entry.overrideReason else None
        reason = "none" if chosen is None else chosen.code if chosen.code in codes else "other"
        metrics.FEEDBACK.labels(entry.outcome, reason).inc()
    runtime.suppression.settle([entry.card for entry in entries])
    stored = runtime.store.record_feedback(service.id, entries, runtime.suppression.snooze_for)
    ack = FeedbackAck(received=len(entries), stored=stored, duplicates=len(entries) - stored)
    return FeedbackAnswer(ack, Counter(entry.outcome for entry in entries))
