from __future__ import annotations

import re

from flask.testing import FlaskClient

# CDS Hooks 2.0 §Prefetch tokens: context fields a hook marks "Prefetch Token: Yes", or a user token.
LEGAL_TOKENS = {
    "patient-view": {"context.userId", "context.patientId", "context.encounterId"},
    "order-select": {"context.userId", "context.patientId", "context.encounterId"},
    "order-sign": {"context.userId", "context.patientId", "context.encounterId"},
}
USER_TOKENS = {
    "userPractitionerId",
    "userPractitionerRoleId",
    "userPatientId",
    "userRelatedPersonId",
}


def test_discovery_lists_one_service_per_hook(client: FlaskClient) -> None:
    response = client.get("/cds-services")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    services = response.get_json()["services"]
    assert sorted(s["hook"] for s in services) == ["order-select", "order-sign", "patient-view"]
    for service in services:
        for field in ("id", "hook", "title", "description", "usageRequirements", "prefetch"):
            assert isinstance(service[field], str | dict) and service[field], field


def test_discovery_is_deterministic(client: FlaskClient) -> None:
    first = client.get("/cds-services").get_data()
    assert client.get("/cds-services").get_data() == first
    ids = [s["id"] for s in client.get("/cds-services").get_json()["services"]]
    assert ids == sorted(ids)


def test_prefetch_templates_use_only_legal_tokens_and_recommended_queries(
    client: FlaskClient,
) -> None:
    for service in client.get("/cds-services").get_json()["services"]:
        for key, template in service["prefetch"].items():
            tokens = set(re.findall(r"\{\{(.*?)\}\}", template))
            assert tokens, (key, template)
            assert tokens <= LEGAL_TOKENS[service["hook"]] | USER_TOKENS, (key, template)
            # Reads or type-level searches; no chaining, _include or modifiers beyond the subset.
            assert re.fullmatch(r"[A-Z][A-Za-z]+(/\{\{[^}]+\}\}|\?[^#]+)", template), template
            assert "_include" not in template and ":" not in template.split("?")[-1].split("=")[0]


def test_patient_view_asks_for_patient_conditions_observations_medicines_procedures(
    client: FlaskClient,
) -> None:
    services = {s["hook"]: s for s in client.get("/cds-services").get_json()["services"]}
    templates = services["patient-view"]["prefetch"].values()
    for resource in (
        "Patient/",
        "Condition?",
        "Observation?",
        "MedicationRequest?",
        "MedicationStatement?",
        "Procedure?",
    ):
        assert any(t.startswith(resource) for t in templates), resource
    observation = next(t for t in templates if t.startswith("Observation?"))
    assert "category=" in observation  # skin exam findings only, not every vital sign and lab
