"""Prefetch templates (cds_service.fhir.templates): rendering the CDS Hooks 2.0 tokens from a call's
context, and template_problems, which finds tokens a hook does not allow before the service starts."""

from __future__ import annotations

import pytest

from cds_service.fhir.templates import render, template_problems
from cds_service.hooks import HOOKS

CONTEXT = {"userId": "Practitioner/dr-1", "patientId": "p-42", "encounterId": "e.7"}


def test_context_tokens_are_filled_with_the_calls_values() -> None:
    assert render("Patient/{{context.patientId}}", CONTEXT) == "Patient/p-42"
    assert (
        render(
            "Condition?patient={{ context.patientId }}&encounter={{context.encounterId}}", CONTEXT
        )
        == "Condition?patient=p-42&encounter=e.7"
    )
    assert render("Observation?code=http://loinc.org|82810-3", CONTEXT) == (
        "Observation?code=http://loinc.org|82810-3"
    )


def test_a_token_without_a_value_in_this_call_renders_nothing() -> None:
    assert render("Encounter/{{context.encounterId}}", {"patientId": "p1"}) is None
    assert render("Patient/{{context.patientId}}", {"patientId": ""}) is None
    assert render("Patient/{{context.patientId}}", {"patientId": 42}) is None


def test_user_tokens_take_the_bare_id_of_a_user_of_that_type() -> None:
    assert render("Practitioner/{{userPractitionerId}}", CONTEXT) == "Practitioner/dr-1"
    assert render("Patient/{{userPatientId}}", CONTEXT) is None
    assert render("Patient/{{userPatientId}}", {"userId": "Patient/p-42"}) == "Patient/p-42"


def test_values_are_quoted_so_they_cannot_change_the_query() -> None:
    hostile = {"patientId": "p1&_count=1000/../x y"}
    assert render("Condition?patient={{context.patientId}}", hostile) == (
        "Condition?patient=p1%26_count%3D1000%2F..%2Fx%20y"
    )


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_the_services_own_templates_have_no_problems(hook: str) -> None:
    for template in (
        "Patient/{{context.patientId}}",
        "Condition?patient={{context.patientId}}",
        "Encounter/{{ context.encounterId }}",
        "PractitionerRole?practitioner={{userPractitionerId}}",
    ):
        assert template_problems(template, HOOKS[hook]) == [], template


def test_unknown_or_non_primitive_tokens_and_unbalanced_braces_are_problems() -> None:
    order_select = HOOKS["order-select"]
    assert template_problems(
        "MedicationRequest?_id={{context.selections}}&x={{patient}}", order_select
    ) == [
        "token {{context.selections}} is not a 2.0 prefetch token for order-select",
        "token {{patient}} is not a 2.0 prefetch token for order-select",
    ]
    assert template_problems("Bundle/{{context.draftOrders}}", HOOKS["order-sign"]) == [
        "token {{context.draftOrders}} is not a 2.0 prefetch token for order-sign"
    ]
    assert template_problems("Patient/{{context.patientId}", HOOKS["patient-view"]) == [
        "unbalanced {{ }} in template"
    ]
