"""Parsing FHIR R4 JSON (cds_service/fhir/resources.py): valid R4 resources become typed models
(R4 MedicationRequests included, which the default R5 models reject), and an invalid one is the
caller's error (400) naming where it came from, without echoing the value it rejected."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_service.errors import InvalidRequest
from cds_service.fhir.resources import MAX_DEPTH, ValidatedResources, parse_resource

WHERE = "prefetch.patient[0]"


def test_a_valid_patient_parses_into_a_typed_model() -> None:
    model: Any = parse_resource(
        {"resourceType": "Patient", "id": "p01", "birthDate": "1988-04-12"}, WHERE
    )
    assert model.get_resource_type() == "Patient"
    assert model.id == "p01"
    assert model.birthDate == date(1988, 4, 12)


def test_an_r4_medication_request_parses() -> None:
    order: Any = parse_resource(
        {
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/p01"},
            "medicationCodeableConcept": {"text": "tretinoin 0.025% cream"},
        },
        "context.draftOrders.entry[0].resource",
    )
    assert order.get_resource_type() == "MedicationRequest"
    assert order.medicationCodeableConcept.text == "tretinoin 0.025% cream"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"id": "p01"}, f"{WHERE}: resourceType is missing"),
        ({"resourceType": 7}, f"{WHERE}: resourceType is missing"),
        ({"resourceType": "Lesion"}, f"{WHERE}: unknown FHIR R4 resourceType 'Lesion'"),
        (
            {"resourceType": "Patient", "colour": "blue"},
            f"invalid FHIR R4 Patient: {WHERE}.colour: Extra inputs are not permitted",
        ),
    ],
)
def test_an_invalid_resource_is_a_400_naming_where_it_came_from(
    data: dict[str, Any], expected: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_resource(data, WHERE)
    assert caught.value.status == 400
    assert caught.value.message == expected


def test_an_invalid_value_is_named_by_its_field_but_not_echoed() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_resource({"resourceType": "Patient", "birthDate": "12/04/1988"}, WHERE)
    message = caught.value.message
    assert message.startswith(f"invalid FHIR R4 Patient: {WHERE}.birthDate: ")
    assert "12/04/1988" not in message


def test_a_resource_nested_too_deep_is_refused_before_validation() -> None:
    data: dict[str, Any] = {"resourceType": "Patient", "extension": []}
    node = data
    for _ in range(MAX_DEPTH + 2):
        child: dict[str, Any] = {"url": "http://example.org/x", "extension": []}
        node["extension"].append(child)
        node = child
    with pytest.raises(InvalidRequest) as caught:
        parse_resource(data, WHERE)
    assert caught.value.message == f"{WHERE}: nested more than {MAX_DEPTH} levels deep"


def test_a_resource_sent_again_is_not_validated_again() -> None:
    memory = ValidatedResources(size=2)
    patient = {"resourceType": "Patient", "id": "p01", "birthDate": "1988-04-12"}
    first = memory.parse(patient, WHERE)
    assert memory.parse(dict(patient), WHERE) is first  # equal JSON: the same model
    # A resource that differs in any value is validated afresh, and an invalid one is named in
    # its own call's words every time.
    older = memory.parse({**patient, "birthDate": "1948-04-12"}, WHERE)
    assert older is not first and str(older.birthDate) == "1948-04-12"  # type: ignore[attr-defined]
    for where in ("prefetch.a[0]", "prefetch.b[3]"):
        with pytest.raises(InvalidRequest) as caught:
            memory.parse({**patient, "birthDate": "soon"}, where)
        assert caught.value.message.startswith(f"invalid FHIR R4 Patient: {where}.birthDate")
    # Past its size it forgets the oldest.
    memory.parse({**patient, "id": "p02"}, WHERE)
    assert memory.parse(patient, WHERE) is not first


def test_a_resource_too_deep_to_remember_is_still_refused_by_name() -> None:
    deep: dict[str, Any] = {"url": "x"}
    for _ in range(300):
        deep = {"url": "x", "extension": [deep]}
    with pytest.raises(InvalidRequest) as caught:
        ValidatedResources().parse({"resourceType": "Patient", "extension": [deep]}, WHERE)
    assert caught.value.message == f"{WHERE}: nested more than {MAX_DEPTH} levels deep"
