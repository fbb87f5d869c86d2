"""The fixed pipeline of one hook call, visible in one function:

parse -> check hook -> gather FHIR context -> findings -> reasoning -> cards.

Both the HTTP endpoint and ``cds-service evaluate`` run exactly this code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from . import metrics
from .auth import ANONYMOUS, Authenticator, Caller
from .cards import CardRenderer, RenderedCard
from .clinical.findings import RecordReader
from .clinical.knowledge import KnowledgeBase
from .clinical.reasoning import Assessment, assess
from .errors import InvalidRequest, describe_validation_error
from .fhir.context import Fetcher, gather
from .protocol import Card, CDSResponse, FeedbackRequest, HookRequest
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
    #: Decides on raw JSON which prefetched resources are worth validating and reading.
    relevant: Callable[[dict[str, Any]], bool] | None = None
    fetcher: Fetcher | None = None


def parse_hook_request(body: Any, service: ServiceDefinition) -> HookRequest:
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    try:
        request = HookRequest.model_validate(body)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation_error(exc)) from None
    if request.hook != service.hook:
        raise InvalidRequest(
            f"hook '{request.hook}' does not match service '{service.id}', "
            f"which answers '{service.hook}'"
        )
    service.hook_definition.check_context(request.context)
    return request


def run_hook(
    body: Any,
    service: ServiceDefinition,
    runtime: Runtime,
    caller: Caller = ANONYMOUS,
    now: datetime | None = None,
) -> CDSResponse:
    started = time.perf_counter()
    request = parse_hook_request(body, service)
    when = now or datetime.now(UTC)
    record = gather(request, service, when, runtime.fetcher, caller.fhir_servers, runtime.relevant)
    findings = runtime.reader.read(record)
    assessment = assess(findings, runtime.knowledge)
    ids = runtime.suppression.ids_for(caller, request.context["patientId"])
    rendered = runtime.renderer.render_all(
        assessment, request.hook, request.context["patientId"], ids
    )
    cards = runtime.suppression.apply(rendered, ids, [hit.id for hit in assessment.red_flags])
    _count(service.id, rendered, cards, assessment, time.perf_counter() - started)
    return CDSResponse(cards=cards)


def _count(
    service_id: str,
    rendered: list[RenderedCard],
    cards: list[Card],
    assessment: Assessment,
    seconds: float,
) -> None:
    """Metrics of one answered hook call: time, cards by kind and indicator, red flags by id."""
    metrics.HOOK_SECONDS.labels(service_id).observe(seconds)
    kinds = {r.uuid: r.kind for r in rendered}
    for card in cards:
        metrics.CARDS.labels(kinds.get(card.uuid or "", "unknown"), card.indicator).inc()
    for hit in assessment.red_flags:
        metrics.RED_FLAGS.labels(hit.id).inc()


def parse_feedback(body: Any) -> FeedbackRequest:
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    try:
        return FeedbackRequest.model_validate(body)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation_error(exc)) from None
