"""Where findings live in FHIR resources (cds_service.clinical.fields): the dotted paths, walked
alike in raw JSON (the pre-filter) and in validated fhir.resources models (the reader), and the texts
and CodeableConcepts they give per resource type."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.condition import Condition

from cds_service.clinical import fields

MILIA = {"system": "http://snomed.info/sct", "code": "3457005", "display": "Milia"}
CHEEK = {"system": "http://snomed.info/sct", "code": "60819002", "display": "Cheek"}


def condition() -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [MILIA], "text": "milia on both cheeks"},
        "bodySite": [{"coding": [CHEEK]}],
        "note": [{"text": "tiny white papules"}, {"text": "since birth"}],
    }


def test_values_walks_lists_and_gives_nothing_for_missing_parts() -> None:
    raw = condition()
    assert fields.values(raw, "note[].text") == ["tiny white papules", "since birth"]
    assert fields.values(raw, "code.coding[].code") == ["3457005"]
    assert fields.values(raw, "code.text") == ["milia on both cheeks"]
    assert fields.values(raw, "severity.text") == []
    assert fields.values(raw, "evidence[].detail[].reference") == []
    assert fields.values({"note": [None, {"text": "kept"}, {}]}, "note[].text") == ["kept"]


def test_a_single_value_where_r4_has_a_list_and_a_list_where_it_has_one_are_both_read() -> None:
    assert fields.values({"note": {"text": "one note"}}, "note[].text") == ["one note"]
    assert fields.values({"code": [{"text": "a"}, {"text": "b"}]}, "code.text") == ["a", "b"]


def test_a_validated_model_gives_the_same_texts_and_codes_as_its_raw_json() -> None:
    raw = condition()
    model = Condition.model_validate(raw)
    assert fields.texts(model, "Condition") == fields.texts(raw, "Condition")
    assert fields.texts(raw, "Condition") == [
        "milia on both cheeks",
        "tiny white papules",
        "since birth",
    ]
    codes = [fields.values(c, "coding[].code") for c in fields.concepts(model, "Condition")]
    assert codes == [["3457005"], ["60819002"]]


def test_observation_concepts_include_values_interpretations_and_components() -> None:
    observation = {
        "resourceType": "Observation",
        "code": {"text": "skin exam"},
        "valueCodeableConcept": {"coding": [MILIA]},
        "component": [{"code": {"text": "site"}, "valueCodeableConcept": {"coding": [CHEEK]}}],
        "valueString": "not a concept",
    }
    concepts = fields.concepts(observation, "Observation")
    assert concepts == [
        {"text": "skin exam"},
        {"coding": [MILIA]},
        {"text": "site"},
        {"coding": [CHEEK]},
    ]
    assert fields.texts(observation, "Observation") == ["not a concept", "skin exam"]


def test_medication_texts_include_dosage_instructions_but_empty_strings_are_skipped() -> None:
    request = {
        "resourceType": "MedicationRequest",
        "medicationCodeableConcept": {"text": "tretinoin 0.05% cream"},
        "dosageInstruction": [{"text": "apply at night", "patientInstruction": ""}],
    }
    assert fields.texts(request, "MedicationRequest") == ["tretinoin 0.05% cream", "apply at night"]
    assert fields.concepts(request, "MedicationRequest") == [{"text": "tretinoin 0.05% cream"}]


def test_resource_types_that_hold_no_findings_give_nothing() -> None:
    patient = {"resourceType": "Patient", "text": {"div": "<div>milia</div>"}}
    assert fields.texts(patient, "Patient") == []
    assert fields.concepts(patient, "Patient") == []


def test_a_compiled_walker_finds_what_values_finds_in_raw_json() -> None:
    # The pre-filter's walkers; None and values of any type are left for it to check.
    shapes: list[dict[str, Any]] = [
        condition(),
        {"note": {"text": "one note"}, "code": [{"text": "a"}, {"text": "b"}]},
        {"code": {"text": ["x", "y"]}, "note": [None, {"text": "kept"}, "odd"]},
        {"code": None, "note": [], "valueString": "itchy"},
        {"code": "text where a concept belongs", "bodySite": {"coding": [CHEEK]}},
    ]
    paths = ["valueString", "code", "code.text", "note[].text", "bodySite[]", "text.div"]
    paths += ["component[].code", "evidence[].detail[].reference"]
    for raw in shapes:
        for path in paths:
            walked = [v for v in fields.walker(path)(raw) if v is not None]
            assert walked == fields.values(raw, path), (raw, path)
