"""The hooks this service answers (cds_service.hooks): which context fields may be prefetch tokens,
and check_context's InvalidRequest naming the first field of a context that breaks its hook."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cds_service.errors import InvalidRequest
from cds_service.hooks import HOOKS
from tests.conftest import load_fixture

BUNDLE: dict[str, Any] = {"resourceType": "Bundle", "type": "collection", "entry": []}


def context_of(scenario: str) -> dict[str, Any]:
    context: dict[str, Any] = load_fixture(f"scenarios/{scenario}/request.json")["context"]
    return context


def rejection(hook: str, context: dict[str, Any]) -> str:
    with pytest.raises(InvalidRequest) as raised:
        HOOKS[hook].check_context(context)
    assert raised.value.status == 400
    return raised.value.message


def test_the_three_hooks_and_their_prefetch_token_fields() -> None:
    assert set(HOOKS) == {"patient-view", "order-select", "order-sign"}
    for name, hook in HOOKS.items():
        assert hook.name == name
        # Only first-level string fields: never the Bundle or the array of selections.
        assert hook.token_fields == {"userId", "patientId", "encounterId"}


@pytest.mark.parametrize(
    ("hook", "scenario"),
    [
        ("patient-view", "01-coded-milia-adult"),
        ("order-select", "106-order-select-differin-under-eyes"),
        ("order-sign", "108-order-sign-tazarotene-back-pregnancy-coded"),
    ],
)
def test_contexts_as_ehrs_send_them_pass_and_extra_fields_are_tolerated(
    hook: str, scenario: str
) -> None:
    context = context_of(scenario)
    HOOKS[hook].check_context(context)
    HOOKS[hook].check_context({**context, "encounterId": "e1", "appointments": {"x": [1]}})


def test_a_missing_field_is_required_by_the_hook() -> None:
    assert (
        rejection("patient-view", {"userId": "Practitioner/1"})
        == "context.patientId is required by the patient-view hook"
    )
    context = context_of("108-order-sign-tazarotene-back-pregnancy-coded")
    del context["draftOrders"]
    assert rejection("order-sign", context) == (
        "context.draftOrders is required by the order-sign hook"
    )


@pytest.mark.parametrize("user_id", ["", 42, None, ["Practitioner/1"]])
def test_user_id_must_be_a_non_empty_string(user_id: Any) -> None:
    context = {"userId": user_id, "patientId": "p1"}
    assert rejection("patient-view", context) == "context.userId must be a non-empty string"


@pytest.mark.parametrize("draft_orders", [{"resourceType": "Patient"}, {}, "Bundle", []])
def test_draft_orders_must_be_a_fhir_bundle(draft_orders: Any) -> None:
    context = {"userId": "Practitioner/1", "patientId": "p1", "draftOrders": draft_orders}
    assert rejection("order-sign", context) == "context.draftOrders must be a FHIR Bundle"


@pytest.mark.parametrize("selections", [[], [""], "MedicationRequest/1", [1], None])
def test_selections_must_be_a_non_empty_array_of_strings(selections: Any) -> None:
    context = {
        "userId": "Practitioner/1",
        "patientId": "p1",
        "draftOrders": copy.deepcopy(BUNDLE),
        "selections": selections,
    }
    assert (
        rejection("order-select", context)
        == "context.selections must be a non-empty array of strings"
    )
