"""The raw-JSON relevance filter keeps whatever can concern milia and drops the rest unread."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.clinical.knowledge import default_content_dir, load_knowledge
from cds_service.clinical.selection import RelevanceFilter
from cds_service.clinical.vocabulary import Vocabulary
from tests.conftest import scenario_request

KEEP = RelevanceFilter(Vocabulary(load_knowledge(default_content_dir())))


@pytest.mark.parametrize(
    "resource",
    [
        {
            "resourceType": "Condition",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "254679001"}]},
        },
        {
            "resourceType": "Observation",
            "code": {"text": "Skin exam"},
            "valueString": "Two milia on the left eyelid.",
        },
        {
            "resourceType": "Observation",
            "code": {"text": "Skin exam"},
            "note": [{"text": "It bleeds easily."}],
        },
        {
            "resourceType": "Observation",
            "code": {"text": "Size of skin lesion"},
            "valueQuantity": {"value": 4, "code": "mm"},
        },
        {
            "resourceType": "MedicationRequest",
            "medicationCodeableConcept": {
                "coding": [{"system": "http://www.whocc.no/atc", "code": "D07AD01"}]
            },
        },
        {
            "resourceType": "MedicationRequest",
            "medicationCodeableConcept": {"text": "Clobetasol 0.05% cream"},
        },
        {
            "resourceType": "Condition",
            "code": {"text": "x"},
            "text": {"div": "<div>History of BCC</div>"},
        },
    ],
    ids=[
        "coded milia",
        "milia in text",
        "red flag in a note",
        "lesion size",
        "ATC class",
        "drug name",
        "narrative",
    ],
)
def test_what_can_concern_milia_is_kept(resource: dict[str, Any]) -> None:
    assert KEEP(resource)


def test_an_ordinary_patients_vital_signs_and_labs_are_dropped() -> None:
    prefetch = scenario_request("92-synthea-ordinary-patient")["prefetch"]
    observations = [e["resource"] for e in prefetch["skinObservations"]["entry"]]
    assert len(observations) > 500
    assert not any(KEEP(o) for o in observations)


def test_every_scenario_resource_that_shapes_a_card_is_kept() -> None:
    # The scenarios' skin findings all pass the filter: nothing that mattered there is dropped.
    request = scenario_request("13-red-flag-growth")
    kept = [
        e["resource"]
        for e in request["prefetch"]["skinObservations"]["entry"]
        if KEEP(e["resource"])
    ]
    assert len(kept) == 2
