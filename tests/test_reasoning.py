"""The rule language of cards/, one construct at a time: a rule is added to a copy of the content
and weighed against small records, so each test shows what the construct means to a reviewer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cds_service.clinical.findings import RecordReader
from cds_service.clinical.knowledge import (
    KnowledgeBase,
    RedFlag,
)
from cds_service.clinical.loading import default_content_dir, load_knowledge
from cds_service.clinical.reasoning import Assessment, assess
from cds_service.clinical.text import text_reader
from cds_service.clinical.vocabulary import Vocabulary
from cds_service.fhir.record import ClinicalRecord
from cds_service.fhir.resources import parse_resource

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
KB = load_knowledge(default_content_dir())
ADULT, OLDER = "1980-01-01", "1950-01-01"


def with_flag(recognise: dict[str, Any]) -> KnowledgeBase:
    flag = RedFlag.model_validate(
        {
            "id": "test-flag",
            "name": "Test flag",
            "short": "test flag",
            "origin": "clinical",
            "recognise": recognise,
            "escalation": [{"text": "Examine.", "cites": ["berk-bayliss-2008"]}],
        }
    )
    return KB.model_copy(update={"red_flags": [*KB.red_flags, flag]})


def note(text: str, oid: str = "o1") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"text": "Skin exam"},
        "valueString": text,
    }


def assessed(
    kb: KnowledgeBase, *resources: dict[str, Any], birth: str | None = ADULT
) -> Assessment:
    vocabulary = Vocabulary(kb)
    reader = RecordReader(vocabulary, text_reader(kb, frozenset(vocabulary.phrases())))
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "p"}
    if birth:
        patient["birthDate"] = birth
    by_type: dict[str, list[Any]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(parse_resource(r, "test"))
    record = ClinicalRecord(NOW, parse_resource(patient, "p"), by_type, [])
    return assess(reader.read(record), kb)


def flagged(
    recognise: dict[str, Any], *resources: dict[str, Any], birth: str | None = ADULT
) -> bool:
    found = assessed(with_flag(recognise), *resources, birth=birth)
    return "test-flag" in {h.id for h in found.red_flags}


# ---------------------------------------------------------------------- all_of / any_of / none_of


def test_all_of_needs_every_sub_rule() -> None:
    rule = {"all_of": [{"text": ["itchy"]}, {"text": ["at night"]}]}
    assert flagged(rule, note("Milia on both cheeks, itchy at night."))
    assert not flagged(rule, note("Milia on both cheeks, itchy."))


def test_any_of_needs_one_sub_rule() -> None:
    rule = {"any_of": [{"text": ["itchy"]}, {"text": ["burning"]}]}
    assert flagged(rule, note("Milia on both cheeks, burning."))
    assert not flagged(rule, note("Milia on both cheeks."))


def test_none_of_vetoes_the_rule() -> None:
    rule = {"text": ["itchy"], "none_of": [{"text": ["eczema"]}]}
    assert flagged(rule, note("Milia on both cheeks, itchy."))
    assert not flagged(rule, note("Milia on both cheeks, itchy; known eczema."))


# ------------------------------------------------------------------------------- one lesion


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Solitary 4 mm milium-like papule on the L cheek.", True),
        ("Milium on the nose, 4 mm.", True),
        ("Several milia on the cheeks, up to 4 mm.", False),
        ("Milium on the cheek, 1 mm. 6 mm mole on the back.", False),
    ],
)
def test_attributes_must_belong_to_one_and_the_same_lesion(text: str, expected: bool) -> None:
    rule = {"lesion": {"size_mm_over": 3, "solitary": True}}
    assert flagged(rule, note(text)) is expected


# ----------------------------------------------------------------------------- patient filters


def test_an_age_band_limits_the_rule() -> None:
    rule: dict[str, Any] = {"text": ["itchy"], "patient": {"ages": ["older-adult"]}}
    itchy = note("Milia on the cheeks, itchy.")
    assert flagged(rule, itchy, birth=OLDER)
    assert not flagged(rule, itchy, birth=ADULT)
    # With no birth date the rule says whether it applies: silent by default, on when asked.
    assert not flagged(rule, itchy, birth=None)
    rule["patient"]["unknown_age"] = "applies"
    assert flagged(rule, itchy, birth=None)


PREGNANCY_STATUS = {"system": "http://loinc.org", "code": "82810-3", "display": "Pregnancy status"}


def pregnancy_status(answer: str, display: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "preg",
        "status": "final",
        "code": {"coding": [PREGNANCY_STATUS]},
        "valueCodeableConcept": {
            "coding": [{"system": "http://loinc.org", "code": answer, "display": display}]
        },
    }


def test_a_state_is_read_from_words_codes_and_observations() -> None:
    rule = {"text": ["itchy"], "patient": {"states": ["pregnancy"]}}
    itchy = note("Milia on the cheeks, itchy.")
    assert not flagged(rule, itchy)
    assert flagged(rule, note("Milia on the cheeks, itchy. 20 weeks pregnant."))
    coded = {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p"},
        "code": {
            "coding": [
                {
                    "system": "http://hl7.org/fhir/sid/icd-10-cm",
                    "code": "Z33.1",
                    "display": "Pregnant state, incidental",
                }
            ]
        },
    }
    assert flagged(rule, itchy, coded)
    assert flagged(rule, itchy, pregnancy_status("LA15173-0", "Pregnant"))
    # "Not pregnant" is an answer of the same question: the question's code alone says nothing.
    assert not flagged(rule, itchy, pregnancy_status("LA26683-5", "Not pregnant"))


def test_not_states_excludes_the_patient() -> None:
    rule = {"text": ["itchy"], "patient": {"not_states": ["pregnancy"]}}
    assert flagged(rule, note("Milia on the cheeks, itchy."))
    assert not flagged(rule, note("Milia on the cheeks, itchy. Currently pregnant."))


# ------------------------------------------------------------------------------- drug classes


def medication(text: str, route: str, rxnorm: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": text}
    if rxnorm:
        concept["coding"] = [
            {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": rxnorm}
        ]
    return {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p"},
        "medicationCodeableConcept": concept,
        "dosageInstruction": [{"text": text, "route": {"text": route}}],
    }


def test_a_drug_class_is_recognised_by_code_or_name_and_its_routes() -> None:
    milia = note("Milia on the nose.")
    states = {
        "coded": assessed(KB, milia, medication("Drug 1 mg capsules", "Oral", "42316")),
        "brand": assessed(KB, milia, medication("Prograf 1 mg capsules", "Oral")),
        # Tacrolimus ointment for eczema is not systemic immunosuppression (drugs.yaml not_routes).
        "ointment": assessed(KB, milia, medication("Tacrolimus 0.1% ointment", "Topical")),
    }
    found = {name: {s.id for s in a.states} for name, a in states.items()}
    assert found == {
        "coded": {"immunosuppression"},
        "brand": {"immunosuppression"},
        "ointment": set(),
    }
    assert "immunosuppression" in {h.id for h in states["coded"].red_flags}


# ------------------------------------------------------------------------ management by patient


def test_steps_follow_the_age_band_and_name_the_limit_when_the_age_is_unknown() -> None:
    milia = note("Milia on the cheeks.")
    adult = dict(assessed(KB, milia, birth=ADULT).steps)
    child = dict(assessed(KB, milia, birth="2020-06-01").steps)
    unknown = dict(assessed(KB, milia, birth=None).steps)
    assert "peels-laser-microdermabrasion" in adult and adult["peels-laser-microdermabrasion"] == ""
    assert "peels-laser-microdermabrasion" not in child and "leave-alone" in child
    assert unknown["peels-laser-microdermabrasion"] == "from 18 years"


def test_a_pregnant_patient_is_not_offered_retinoids() -> None:
    steps = dict(assessed(KB, note("Milia on the cheeks. She is 12 weeks pregnant.")).steps)
    assert "prescription-retinoids" not in steps and "professional-extraction" in steps
