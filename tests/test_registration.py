"""`cds-service registration`: what an EHR administrator enters, from the service's own catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cds_service.cli import main
from tests.issuer import TestIssuer, write_issuers


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


def test_registration_shows_each_issuers_restrictions_and_silent_mode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    epic = TestIssuer("https://fhir.hospital.example/api/FHIR/R4")
    issuers = write_issuers(
        tmp_path,
        epic.entry(
            sub_allowlist=["epic-client-1"], tenants=["main", "pilot"], silent_tenants="pilot"
        ),
        {
            "iss": "https://cds-hooks.ehr.example",
            "jku_list_url": "https://auth.ehr.example/jwk",
            "silent": True,
        },
    )
    monkeypatch.setenv("CDS_TRUSTED_ISSUERS_FILE", str(issuers))
    monkeypatch.setenv("CDS_AUTH_MODE", "required")
    assert main(["registration"]) == 0
    text = capsys.readouterr().out
    assert "sub (client) allowed: epic-client-1" in text
    assert "tenants allowed: main, pilot" in text
    assert "silent mode (cards recorded, not shown): tenant pilot" in text
    assert "keys: https://auth.ehr.example/jwk" in text
    assert "silent mode (cards recorded, not shown): all calls" in text
