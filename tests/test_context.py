"""Gathering a hook call's FHIR context (cds_service/fhir/context.py): with every required key
prefetched, ``gather`` returns the typed ClinicalRecord; a required key it cannot obtain is a 412
naming the key; an optional one is recorded as missing; keys the service did not declare are never
read; and a key the client left out is fetched from ``fhirServer`` by the fetcher it is given."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from cds_service.errors import PreconditionFailed
from cds_service.fhir.context import gather
from cds_service.fhir.prefetch import FetchJob, Prefetch, PrefetchValue, read_value
from cds_service.protocol import HookRequest
from cds_service.services import ServiceRegistry
from tests.conftest import scenario_request, searchset, with_prefetch

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
SCENARIO = "01-coded-milia-adult"


@pytest.fixture(scope="module")
def declared() -> dict[str, Prefetch]:
    return ServiceRegistry().get("milia-patient-view").prefetch


def _request(body: dict[str, Any]) -> HookRequest:
    return HookRequest.model_validate(body)


def _without(body: dict[str, Any], *keys: str) -> dict[str, Any]:
    body = with_prefetch(body)  # a deep copy
    for key in keys:
        del body["prefetch"][key]
    return body


def test_all_keys_prefetched_gives_the_typed_record(declared: dict[str, Prefetch]) -> None:
    record = gather(_request(scenario_request(SCENARIO)), declared, NOW)
    assert record.now == NOW
    assert record.patient is not None
    assert record.patient.get_resource_type() == "Patient"
    assert [c.id for c in record.of_type("Condition")] == ["p01-c1"]
    assert record.of_type("Observation") == []
    assert record.missing == ()
    assert record.draft_orders == []


@pytest.mark.parametrize("key", ["patient", "conditions", "skinObservations"])
def test_a_required_key_that_cannot_be_obtained_is_a_412_naming_it(
    declared: dict[str, Prefetch], key: str
) -> None:
    body = _without(scenario_request(SCENARIO), key)
    assert "fhirServer" not in body
    with pytest.raises(PreconditionFailed) as caught:
        gather(_request(body), declared, NOW)
    assert caught.value.status == 412
    message = caught.value.message
    assert f"'{key}' (not in prefetch; the request names no fhirServer" in message
    others = {k for k, spec in declared.items() if spec.required and k != key}
    assert not any(f"'{other}'" in message for other in others)


def test_a_missing_optional_key_is_recorded_not_refused(
    declared: dict[str, Prefetch], caplog: pytest.LogCaptureFixture
) -> None:
    body = _without(scenario_request(SCENARIO), "medicationRequests", "procedures")
    record = gather(_request(body), declared, NOW)
    assert set(record.missing) == {"medicationRequests", "procedures"}
    assert [c.id for c in record.of_type("Condition")] == ["p01-c1"]
    # An EHR configured not to send an optional key does so on every call: counted in the
    # metrics, not a warning per call.
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_keys_the_service_did_not_declare_are_ignored(declared: dict[str, Prefetch]) -> None:
    body = with_prefetch(
        scenario_request(SCENARIO),
        otherServicesData={"resourceType": "NotAFhirType", "junk": True},
        moreConditions=searchset({"resourceType": "Condition", "id": "other-c1"}),
    )
    record = gather(_request(body), declared, NOW)
    assert [c.id for c in record.of_type("Condition")] == ["p01-c1"]
    assert record.missing == ()


class _Server:
    """A FHIR server's answers by query, standing in for cds_service.fhir.client (no network)."""

    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        self.answers = answers
        self.queries: list[str] = []

    def fetch_all(
        self, jobs: Sequence[FetchJob], request: HookRequest, also_allowed: Sequence[str] = ()
    ) -> dict[str, PrefetchValue]:
        self.queries += [job.query for job in jobs]
        return {
            job.key: read_value(job.key, job.spec, self.answers.get(job.query), True, "the server")
            for job in jobs
        }


def test_a_key_left_out_is_fetched_from_the_fhir_server(declared: dict[str, Prefetch]) -> None:
    body = _without(scenario_request(SCENARIO), "conditions")
    body["fhirServer"] = "https://fhir.example.org/r4"
    condition = {
        "resourceType": "Condition",
        "id": "from-server",
        "subject": {"reference": "Patient/p01"},
    }
    server = _Server({"Condition?patient=p01": searchset(condition)})
    record = gather(_request(body), declared, NOW, fetcher=server)
    assert server.queries == ["Condition?patient=p01"]  # only the key the client left out
    assert [c.id for c in record.of_type("Condition")] == ["from-server"]
    assert record.missing == ()


def test_draft_orders_the_filter_drops_are_never_validated(
    declared: dict[str, Prefetch], caplog: pytest.LogCaptureFixture
) -> None:
    # An unknown medicine can call for no caution: it is skipped before validation, so even an
    # order that is not valid R4 costs nothing and is not logged; a known one is read.
    steroid: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "p01-steroid",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p01"},
        "medicationCodeableConcept": {"text": "Clobetasol propionate 0.05% cream"},
    }
    unknown = {"resourceType": "MedicationRequest", "status": 5, "medication": "lisinopril"}
    body = scenario_request(SCENARIO)
    body["context"]["draftOrders"] = searchset(unknown, steroid)
    request = _request(body)
    kept = gather(request, declared, NOW, keep=lambda r: r != unknown)
    assert [getattr(o, "id", None) for o in kept.draft_orders] == ["p01-steroid"]
    assert "draft order skipped" not in caplog.text
    everything = gather(request, declared, NOW)  # no filter: the invalid order is logged
    assert len(everything.draft_orders) == 1
    assert "draft order skipped" in caplog.text
