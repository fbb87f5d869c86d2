"""Hook calls end to end through HTTP: the spec's examples and the thin milia slice."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import load_fixture, searchset, with_prefetch

PATIENT = {"resourceType": "Patient", "id": "1288992", "gender": "male", "birthDate": "1925-12-23"}
PV = "/cds-services/milia-patient-view"


def condition(code: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": extra.pop("id", "c1"),
        "subject": {"reference": "Patient/1288992"},
        "code": {"coding": [code]},
        **extra,
    }


MILIA_SNOMED = {"system": "http://snomed.info/sct", "code": "254679001", "display": "Milia"}
MILIA_ICD10 = {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "L72.0"}
ASTHMA = {"system": "http://snomed.info/sct", "code": "195967001", "display": "Asthma"}


def patient_view(*conditions: dict[str, Any], observations: tuple[Any, ...] = ()) -> dict[str, Any]:
    return with_prefetch(
        load_fixture("spec-examples/patient-view.json"),
        patient=PATIENT,
        conditions=searchset(*conditions),
        skinObservations=searchset(*observations),
    )


@pytest.mark.parametrize(
    ("fixture", "service"),
    [
        ("spec-examples/patient-view.json", "milia-patient-view"),
        ("spec-examples/order-select.json", "milia-order-select"),
        ("spec-examples/order-sign.json", "milia-order-sign"),
    ],
)
def test_spec_examples_with_this_services_prefetch_get_a_conformant_empty_answer(
    client: FlaskClient, fixture: str, service: str
) -> None:
    request = with_prefetch(load_fixture(fixture), patient=PATIENT, conditions=searchset())
    if service == "milia-patient-view":
        request["prefetch"]["skinObservations"] = searchset()
    response = client.post(f"/cds-services/{service}", json=request)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"cards": []}


def test_spec_example_verbatim_is_412_naming_each_missing_key(client: FlaskClient) -> None:
    response = client.post(PV, json=load_fixture("spec-examples/patient-view.json"))
    assert response.status_code == 412
    message = response.get_json()["issue"][0]["diagnostics"]
    for key in ("'patient'", "'conditions'", "'skinObservations'"):
        assert key in message
    assert "fhirServer is not allowed" in message
    # Optional keys never make a call fail.
    assert "medicationRequests" not in message


def test_coded_milia_condition_gives_one_info_card_from_the_knowledge_base(
    client: FlaskClient,
) -> None:
    response = client.post(PV, json=patient_view(condition(MILIA_SNOMED)))
    assert response.status_code == 200
    cards = response.get_json()["cards"]
    assert len(cards) == 1
    card = cards[0]
    assert card["indicator"] == "info"
    assert len(card["summary"]) < 140
    assert "milia" in card["summary"].lower()
    assert card["source"]["topic"]["code"] == "254679001"
    # Why this card: the entry in words and a date, not a resource id.
    assert "**Why this card:** based on the condition" in card["detail"]
    assert "Condition/c1" not in card["detail"]
    version = client.get("/readyz").get_json()["knowledgeBase"]["contentVersion"]
    assert f"Milia guidance {version} (draft, awaiting dermatology review)" in card["detail"]
    assert "https://doi.org/10.1016/j.jaad.2008.07.034" in {link["url"] for link in card["links"]}
    assert card["uuid"]


def test_icd10cm_l72_0_counts_only_with_milia_in_words(client: FlaskClient) -> None:
    # L72.0 "Epidermal cyst" also codes ordinary epidermoid cysts (issue 12): alone it is silent.
    alone = client.post(PV, json=patient_view(condition(MILIA_ICD10))).get_json()["cards"]
    assert alone == []
    named = condition({**MILIA_ICD10, "display": "Milia"})
    cards = client.post(PV, json=patient_view(named)).get_json()["cards"]
    assert [c["indicator"] for c in cards] == ["info"]


def test_milia_as_an_exam_observation_value(client: FlaskClient) -> None:
    observation = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8709-8"}]},
        "valueCodeableConcept": {"coding": [MILIA_SNOMED]},
    }
    cards = client.post(PV, json=patient_view(observations=(observation,))).get_json()["cards"]
    assert len(cards) == 1
    assert "based on the observation" in cards[0]["detail"]


@pytest.mark.parametrize(
    "extra",
    [
        {"verificationStatus": {"coding": [{"code": "refuted"}]}},
        {"verificationStatus": {"coding": [{"code": "entered-in-error"}]}},
        {"clinicalStatus": {"coding": [{"code": "resolved"}]}},
    ],
)
def test_refuted_or_resolved_milia_stays_silent(client: FlaskClient, extra: dict[str, Any]) -> None:
    response = client.post(PV, json=patient_view(condition(MILIA_SNOMED, **extra)))
    assert response.get_json() == {"cards": []}


def test_patient_without_skin_findings_gets_no_card(client: FlaskClient) -> None:
    response = client.post(PV, json=patient_view(condition(ASTHMA)))
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


def test_null_search_prefetch_means_no_data(client: FlaskClient) -> None:
    request = patient_view()
    request["prefetch"]["conditions"] = None
    request["prefetch"]["skinObservations"] = None
    assert client.post(PV, json=request).get_json() == {"cards": []}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "prefetch is null"),
        (
            {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "forbidden"}],
            },
            "OperationOutcome",
        ),
    ],
)
def test_unusable_patient_prefetch_is_not_provided(
    client: FlaskClient, value: Any, reason: str
) -> None:
    request = patient_view()
    request["prefetch"]["patient"] = value
    response = client.post(PV, json=request)
    assert response.status_code == 412
    assert reason in response.get_json()["issue"][0]["diagnostics"]


def test_bundle_reporting_an_error_is_not_provided(client: FlaskClient) -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "fatal", "code": "timeout"}],
    }
    request = patient_view()
    request["prefetch"]["conditions"] = searchset(outcome)
    response = client.post(PV, json=request)
    assert response.status_code == 412
    assert "'conditions'" in response.get_json()["issue"][0]["diagnostics"]


def test_undeclared_prefetch_keys_are_never_trusted(client: FlaskClient) -> None:
    request = patient_view()
    request["prefetch"]["somebodyElses"] = searchset(condition(MILIA_SNOMED))
    assert client.post(PV, json=request).get_json() == {"cards": []}


def test_unknown_request_fields_and_extensions_are_tolerated(client: FlaskClient) -> None:
    request = patient_view(condition(MILIA_SNOMED))
    request["extension"] = {"org.example.trace": {"id": 7}}
    request["someFutureField"] = True
    request["context"]["org.example.extra"] = "x"
    response = client.post(PV, json=request)
    assert response.status_code == 200
    assert len(response.get_json()["cards"]) == 1


def test_optional_fields_are_omitted_never_null_or_empty(client: FlaskClient) -> None:
    body = client.post(PV, json=patient_view(condition(MILIA_SNOMED))).get_data(as_text=True)
    assert "null" not in body
    assert '""' not in body
    assert "[]" not in body


def _milia_at_age(client: FlaskClient, birth_date: str) -> dict[str, Any]:
    request = patient_view(condition(MILIA_SNOMED))
    request["prefetch"]["patient"] = {**PATIENT, "birthDate": birth_date}
    cards: list[dict[str, Any]] = client.post(PV, json=request).get_json()["cards"]
    assert len(cards) == 1
    return cards[0]


def test_advice_fits_the_patients_age(client: FlaskClient) -> None:
    from datetime import date, timedelta

    today = date.today()
    # The card names the first few steps; the rest are counted and on the guidance page.
    adult = _milia_at_age(client, "1980-05-01")
    assert "1. Reassure and leave alone; 2. Gentle exfoliation" in adult["detail"]
    assert "+2 in the guidance" in adult["detail"]
    child = _milia_at_age(client, (today - timedelta(days=6 * 365)).isoformat())
    assert "Reassure and leave alone" in child["detail"]
    for adult_step in ("Chemical peels", "Prescription topical retinoids", "Gentle exfoliation"):
        assert adult_step not in child["detail"]
    assert "in the guidance" not in child["detail"]
    # Neonatal milia last months: a two-month-old still gets the newborn card.
    infant = _milia_at_age(client, (today - timedelta(days=60)).isoformat())
    assert "newborn" in infant["summary"].lower()


@pytest.mark.parametrize(
    ("note", "flag"),
    [
        ("Won't heal", "ulceration"),
        ("Hx 2BCC", "history of skin cancer"),
        ("> 6 mths", "persisting for months"),
        ("Still won\u2019t heal", "ulceration"),
        ("eGFR <60, bleeding papule L lid, BP >140", "bleeding"),
    ],
)
def test_a_terse_note_with_a_red_flag_escalates_a_coded_milia(
    client: FlaskClient, note: str, flag: str
) -> None:
    # Terse notes as clinicians write them once fell through the relevance filter, and the
    # patient got the benign card: a red flag missed and phrased as reassurance.
    exam = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "Exam"},
        "valueString": note,
    }
    request = patient_view(condition(MILIA_SNOMED), observations=(exam,))
    cards = client.post(PV, json=request).get_json()["cards"]
    assert [c["indicator"] for c in cards] == ["warning"]
    assert flag in cards[0]["summary"]
