"""Every error status answers an OperationOutcome whose message names the problem."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service import pipeline
from tests.conftest import AppFactory, load_fixture, searchset, with_prefetch

PV = "/cds-services/milia-patient-view"


def message(response: Any) -> str:
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert "Traceback" not in response.get_data(as_text=True)
    text: str = body["issue"][0]["diagnostics"]
    return text


def valid() -> dict[str, Any]:
    return with_prefetch(
        load_fixture("spec-examples/patient-view.json"),
        patient={"resourceType": "Patient", "id": "1288992"},
        conditions=searchset(),
        skinObservations=searchset(),
    )


def test_malformed_json_is_400_with_the_position(client: FlaskClient) -> None:
    response = client.post(PV, data='{"hook": ', content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in message(response)
    assert "line 1" in message(response)


def test_body_that_is_not_an_object_is_400(client: FlaskClient) -> None:
    response = client.post(PV, json=["patient-view"])
    assert response.status_code == 400
    assert "JSON object" in message(response)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r.pop("hookInstance"), "hookInstance: Field required"),
        (lambda r: r.pop("context"), "context: Field required"),
        (lambda r: r.update(hook="order-sign"), "hook 'order-sign' does not match service"),
        (lambda r: r["context"].pop("patientId"), "context.patientId is required"),
        (lambda r: r["context"].update(userId=7), "context.userId must be a non-empty string"),
        (lambda r: r.pop("fhirServer"), "fhirServer is required when fhirAuthorization"),
        (lambda r: r.update(fhirServer="ftp://x"), "fhirServer: must be an absolute http(s) URL"),
        (lambda r: r["fhirAuthorization"].pop("scope"), "fhirAuthorization.scope: Field required"),
        (lambda r: r["fhirAuthorization"].update(token_type="MAC"), "fhirAuthorization.token_type"),
        (lambda r: r["prefetch"].update(conditions=[1]), "prefetch.conditions"),
        (
            lambda r: r["prefetch"].update(patient=searchset()),
            "prefetch.patient must be a Patient, not 'Bundle'",
        ),
        (
            lambda r: r["prefetch"].update(conditions={"resourceType": "Condition"}),
            "prefetch.conditions must be a searchset Bundle, not 'Condition'",
        ),
        (
            lambda r: r["prefetch"].update(
                conditions=searchset(
                    {
                        "resourceType": "Condition",
                        "code": {
                            "coding": [{"system": "http://snomed.info/sct", "code": "254679001"}]
                        },
                        "subject": "Patient/1",
                    }
                )
            ),
            "invalid FHIR R4 Condition: prefetch.conditions[0].subject",
        ),
    ],
)
def test_invalid_request_is_400_naming_the_field(
    client: FlaskClient, mutate: Any, expected: str
) -> None:
    request = valid()
    mutate(request)
    response = client.post(PV, json=request)
    assert response.status_code == 400, response.get_json()
    assert expected in message(response)


def test_order_hook_requires_draft_orders_bundle(client: FlaskClient) -> None:
    request = load_fixture("spec-examples/order-select.json")
    request["context"]["draftOrders"] = {"resourceType": "MedicationRequest"}
    response = client.post("/cds-services/milia-order-select", json=request)
    assert response.status_code == 400
    assert message(response) == "context.draftOrders must be a FHIR Bundle"
    del request["context"]["selections"]
    response = client.post("/cds-services/milia-order-select", json=request)
    assert "context.selections is required by the order-select hook" in message(response)


def test_resources_that_cannot_concern_milia_are_not_validated(client: FlaskClient) -> None:
    # A vital sign with an odd shape costs nothing and fails nothing: only what can matter is read.
    request = valid()
    request["prefetch"]["skinObservations"] = searchset(
        {"resourceType": "Observation", "code": {"text": "Body height"}, "valueQuantity": "tall"}
    )
    assert client.post(PV, json=request).status_code == 200


def test_validation_messages_never_echo_request_values(client: FlaskClient) -> None:
    request = valid()
    request["prefetch"]["patient"]["birthDate"] = "Jane-Doe-secret"
    response = client.post(PV, json=request)
    assert response.status_code == 400
    assert "birthDate" in message(response)
    assert "Jane-Doe-secret" not in response.get_data(as_text=True)


def test_unknown_service_is_404(client: FlaskClient) -> None:
    response = client.post("/cds-services/no-such-service", json=valid())
    assert response.status_code == 404
    assert message(response) == "no CDS service with id 'no-such-service'"
    response = client.post("/cds-services/no-such-service/feedback", json={})
    assert response.status_code == 404


def test_unknown_path_is_404(client: FlaskClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert message(response) == "no resource at /nowhere"


def test_wrong_method_is_405_with_allow(client: FlaskClient) -> None:
    response = client.get(PV)
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert message(response).startswith("GET is not allowed here")
    assert client.delete("/cds-services").status_code == 405


def test_body_over_the_limit_is_413(make_app: AppFactory) -> None:
    app = make_app(body_limit_bytes=2048)
    response = app.test_client().post(
        PV, data=b'{"pad": "' + b"x" * 4096 + b'"}', content_type="application/json"
    )
    assert response.status_code == 413
    assert message(response) == "the request body is larger than the limit of 2048 bytes"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_not_json_is_415(client: FlaskClient, content_type: str) -> None:
    response = client.post(PV, data="{}", content_type=content_type)
    assert response.status_code == 415
    assert message(response) == f"Content-Type must be application/json, not {content_type}"


def test_fhir_json_media_type_is_accepted(client: FlaskClient) -> None:
    import json

    response = client.post(PV, data=json.dumps(valid()), content_type="application/fhir+json")
    assert response.status_code == 200


def test_real_fault_is_500_logged_with_hook_instance_and_no_patient_data(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def broken(*_args: Any) -> Any:
        raise KeyError("Jane Doe, born 1925-12-23")

    monkeypatch.setattr(pipeline, "assess", broken)
    caplog.set_level(logging.INFO)
    response = client.post(PV, json=valid())
    assert response.status_code == 500
    assert message(response) == "internal error; it has been logged"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea" in logged
    assert "KeyError" in logged
    assert "Jane Doe" not in logged
    assert "Jane Doe" not in response.get_data(as_text=True)
