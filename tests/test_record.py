"""The typed record of one hook call (cds_service/fhir/record.py): ``ClinicalRecord.of_type`` gives
the resources of one type as a fresh list (empty for a type the record lacks), and a record is frozen
with empty defaults for draft orders and missing keys."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from cds_service.fhir.record import ClinicalRecord
from cds_service.fhir.resources import parse_resource

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def _condition(cid: str) -> Any:
    return parse_resource(
        {
            "resourceType": "Condition",
            "id": cid,
            "subject": {"reference": "Patient/p"},
            "code": {"text": "Milia"},
        },
        "test",
    )


def _record() -> ClinicalRecord:
    patient = parse_resource({"resourceType": "Patient", "id": "p"}, "test")
    return ClinicalRecord(NOW, patient, {"Condition": [_condition("c1"), _condition("c2")]})


def test_of_type_returns_the_resources_of_that_type_in_order() -> None:
    found = _record().of_type("Condition")
    assert [c.id for c in found] == ["c1", "c2"]
    assert all(c.get_resource_type() == "Condition" for c in found)


def test_of_type_is_empty_for_a_type_the_record_does_not_hold() -> None:
    record = _record()
    assert record.of_type("Observation") == []
    assert record.of_type("condition") == []  # resource types are case-sensitive
    assert "Observation" not in record.resources  # asking does not add the type


def test_of_type_returns_a_copy_that_callers_may_change() -> None:
    record = _record()
    found = record.of_type("Condition")
    found.clear()
    found.append(_condition("c3"))
    assert [c.id for c in record.of_type("Condition")] == ["c1", "c2"]


def test_a_record_is_frozen_with_empty_defaults() -> None:
    record = ClinicalRecord(NOW, None)
    assert record.patient is None
    assert record.resources == {}
    assert record.draft_orders == []
    assert record.missing == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.missing = ("conditions",)  # type: ignore[misc]
