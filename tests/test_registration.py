"""`cds-service registration`: what an EHR administrator enters, from the service's own catalogue."""

from __future__ import annotations

import json

import pytest

from cds_service.cli import main


def test_registration_names_everything_an_ehr_administrator_enters(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CDS_PUBLIC_BASE_URL", "https://cds.example.org")
    monkeypatch.setenv("CDS_AUTH_MODE", "development")
    assert main(["registration", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["discovery"] == "https://cds.example.org/cds-services"
    hooks = {s["id"]: s["hook"] for s in info["services"]}
    assert hooks == {
        "milia-patient-view": "patient-view",
        "milia-order-select": "order-select",
        "milia-order-sign": "order-sign",
    }
    view = next(s for s in info["services"] if s["id"] == "milia-patient-view")
    assert view["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    assert "https://sandbox.cds-hooks.org" in {i["iss"] for i in info["token"]["issuers"]}
    assert "cds.example.org" in info["cardLinkDomains"] and "doi.org" in info["cardLinkDomains"]
    assert "patient/Condition.read" in info["fhirScopesForTheFallback"]
    assert main(["registration"]) == 0
    assert "Discovery URL: https://cds.example.org/cds-services" in capsys.readouterr().out
