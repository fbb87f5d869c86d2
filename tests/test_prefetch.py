"""Reading prefetched values (cds_service/fhir/prefetch.py): which templates are reads, what counts as
provided (a missing key, null for a read, an OperationOutcome and a Bundle reporting an error do not;
an empty search does), that a search keeps only the declared type, that a value of the wrong shape is
a 400, and how a Bundle's next page is found."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.errors import InvalidRequest
from cds_service.fhir.prefetch import Prefetch, next_link, read_value

PATIENT = Prefetch("Patient/{{context.patientId}}", True, "Patient")
CONDITIONS = Prefetch("Condition?patient={{context.patientId}}", True, "Condition")

CONDITION = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p"}}


def _bundle(*resources: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
        **fields,
    }


def _outcome(severity: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": "processing"}],
    }


def test_a_template_without_a_query_is_a_read() -> None:
    assert PATIENT.is_read
    assert not CONDITIONS.is_read
    assert not Prefetch("Observation?patient={{context.patientId}}", False, "Observation").is_read


@pytest.mark.parametrize(
    ("spec", "value", "sent", "reason"),
    [
        (PATIENT, None, False, "not in prefetch"),
        (CONDITIONS, None, False, "not in prefetch"),
        (PATIENT, None, True, "prefetch is null"),
        (PATIENT, _outcome("error"), True, "the client reported an OperationOutcome"),
        (CONDITIONS, _outcome("error"), True, "the client reported an OperationOutcome"),
        (
            CONDITIONS,
            _bundle(CONDITION, _outcome("fatal")),
            True,
            "the client reported an error in the Bundle",
        ),
    ],
)
def test_values_that_do_not_count_as_provided(
    spec: Prefetch, value: Any, sent: bool, reason: str
) -> None:
    result = read_value("key", spec, value, sent)
    assert not result.provided
    assert result.resources == ()
    assert result.reason == reason


def test_provided_values_keep_only_resources_of_the_declared_type() -> None:
    patient = {"resourceType": "Patient", "id": "p"}
    read = read_value("patient", PATIENT, patient, sent=True)
    assert read.provided
    assert read.resources == (patient,)

    # null for a search is a search that found nothing; a warning does not withdraw the Bundle.
    empty = read_value("conditions", CONDITIONS, None, sent=True)
    assert empty.provided
    assert empty.resources == ()
    bundle = _bundle(CONDITION, patient, _outcome("warning"))
    search = read_value("conditions", CONDITIONS, bundle, sent=True, source="the FHIR server")
    assert search.provided
    assert search.resources == (CONDITION,)
    assert search.bundle is bundle


@pytest.mark.parametrize(
    ("spec", "value", "message"),
    [
        (PATIENT, {"resourceType": "Condition"}, "prefetch.key must be a Patient, not 'Condition'"),
        (
            PATIENT,
            ["not", "a", "resource"],
            "prefetch.key must be a FHIR resource, a Bundle or null",
        ),
        (
            CONDITIONS,
            {"resourceType": "Condition"},
            "prefetch.key must be a searchset Bundle, not 'Condition'",
        ),
        (CONDITIONS, _bundle(entry={"resource": CONDITION}), "prefetch.key.entry must be an array"),
        (
            CONDITIONS,
            {"resourceType": "Bundle", "entry": [{}]},
            "prefetch.key.entry[0] has no resource",
        ),
    ],
)
def test_a_value_of_the_wrong_shape_is_a_400(spec: Prefetch, value: Any, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        read_value("key", spec, value, sent=True)
    assert caught.value.status == 400
    assert caught.value.message == message


def test_next_link_finds_the_next_page_only() -> None:
    url = "https://fhir.example.org/Condition?patient=p&_page=2"
    paged = _bundle(
        link=[
            {"relation": "self", "url": "https://fhir.example.org/Condition?patient=p"},
            "not a link",
            {"relation": "next"},  # no URL: not followable
            {"relation": "next", "url": url},
        ]
    )
    assert next_link(paged) == url
    assert next_link(_bundle()) is None
    assert next_link(_bundle(link={"relation": "next", "url": url})) is None
    assert next_link(_bundle(link=[{"relation": "previous", "url": url}])) is None
