"""Prefetch to the letter and the FHIR fallback, against a real FHIR engine started by the suite.

The engine (Medplum's, tests/fhir_server/) holds every scenario patient and the Synthea patients.
"""

from __future__ import annotations

import copy
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.fhir.client import is_allowed
from tests.conftest import SCENARIOS, build_app, scenario_request, searchset
from tests.medplum import FhirServer, fhir_server

#: Left out of make check: needs a real FHIR server (Medplum).
pytestmark = pytest.mark.external

SERVICES = {
    "patient-view": "milia-patient-view",
    "order-select": "milia-order-select",
    "order-sign": "milia-order-sign",
}
TOKEN = "test-token-7f3a"  # the suite's own token for its own server, nothing real
FHIR_AUTHORIZATION = {
    "access_token": TOKEN,
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "patient/*.read",
    "subject": "milia-cds",
}


def scenario_resources() -> list[dict[str, Any]]:
    """Every resource the scenarios prefetch, as the EHR's FHIR server would hold them."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for name in SCENARIOS:
        for value in scenario_request(name).get("prefetch", {}).values():
            if value is None:
                continue
            entries = (
                [e["resource"] for e in value.get("entry", [])]
                if value["resourceType"] == "Bundle"
                else [value]
            )
            for resource in entries:
                found[(resource["resourceType"], resource["id"])] = resource
    return list(found.values())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FhirServer]:
    with fhir_server(
        scenario_resources(), tmp_path_factory.mktemp("fhir"), page_size=20
    ) as running:
        yield running


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FhirServer]:
    with fhir_server(
        scenario_resources(), tmp_path_factory.mktemp("fhir-secured"), token=TOKEN
    ) as running:
        yield running


def fallback_app(tmp_path: Path, allow: list[str], **limits: Any) -> Flask:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return build_app(
        database_url=f"sqlite:///{tmp_path / 'f.sqlite3'}",
        fhir_server_allowlist=allow,
        # Generous for a shared CI machine; the failure tests set their own small budgets.
        fhir_request_timeout_ms=limits.pop("timeout", 5000),
        fhir_hook_budget_ms=limits.pop("budget", 8000),
        **limits,
    )


@pytest.fixture
def client(tmp_path: Path, server: FhirServer) -> FlaskClient:
    server.faults()
    server.forget_requests()
    return fallback_app(tmp_path, [server.url]).test_client()


def comparable(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cards without the parts that differ on every call (uuids)."""
    cards = copy.deepcopy(cards)
    for card in cards:
        card.pop("uuid", None)
        for suggestion in card.get("suggestions", []):
            suggestion.pop("uuid", None)
    return cards


def post(client: FlaskClient, request: dict[str, Any]) -> Any:
    return client.post(f"/cds-services/{SERVICES[request['hook']]}", json=request)


def without_prefetch(request: dict[str, Any], server: FhirServer, *keep: str) -> dict[str, Any]:
    request = copy.deepcopy(request)
    request["fhirServer"] = server.url
    request["prefetch"] = {k: v for k, v in request.get("prefetch", {}).items() if k in keep}
    if not request["prefetch"]:
        del request["prefetch"]
    return request


def diagnostics(response: Any) -> str:
    text: str = response.get_json()["issue"][0]["diagnostics"]
    return text


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_same_cards_with_prefetch_and_with_none(
    client: FlaskClient, server: FhirServer, scenario: str
) -> None:
    request = scenario_request(scenario)
    with_prefetch = post(client, request)
    fetched = post(client, without_prefetch(request, server))
    assert fetched.status_code == 200, fetched.get_json()
    assert comparable(fetched.get_json()["cards"]) == comparable(with_prefetch.get_json()["cards"])
    assert server.requests_seen(), "the service should have read the FHIR server"


def test_partial_prefetch_fetches_only_what_is_missing(
    client: FlaskClient, server: FhirServer
) -> None:
    request = scenario_request("12-red-flag-bleeding")
    partial = without_prefetch(request, server, "patient", "conditions")
    response = post(client, partial)
    assert [c["indicator"] for c in response.get_json()["cards"]] == ["warning"]
    paths = [r["path"] for r in server.requests_seen()]
    assert not any(p.startswith(("/Patient", "/Condition")) for p in paths)
    assert any(p.startswith("/Observation") for p in paths)


def test_null_patient_is_fetched_and_null_search_means_no_data(
    client: FlaskClient, server: FhirServer
) -> None:
    request = scenario_request("14-red-flag-solitary-4mm")
    request["fhirServer"] = server.url
    request["prefetch"]["patient"] = None  # a read that should exist: fetch it
    assert [c["indicator"] for c in post(client, request).get_json()["cards"]] == ["warning"]
    assert any(r["path"].startswith("/Patient/") for r in server.requests_seen())
    server.forget_requests()
    request["prefetch"]["skinObservations"] = None  # a search the client says has no data
    assert [c["indicator"] for c in post(client, request).get_json()["cards"]] == ["info"]
    assert not any(r["path"].startswith("/Observation") for r in server.requests_seen())


def test_operation_outcome_prefetch_is_fetched(client: FlaskClient, server: FhirServer) -> None:
    request = scenario_request("14-red-flag-solitary-4mm")
    expected = comparable(post(client, request).get_json()["cards"])
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    request["fhirServer"] = server.url
    request["prefetch"]["patient"] = outcome
    request["prefetch"]["skinObservations"] = outcome
    response = post(client, request)
    assert comparable(response.get_json()["cards"]) == expected
    paths = [r["path"] for r in server.requests_seen()]
    assert any(p.startswith("/Patient/") for p in paths) and any(
        p.startswith("/Observation") for p in paths
    )


def test_token_is_sent_when_given_and_never_otherwise(tmp_path: Path, secured: FhirServer) -> None:
    secured.forget_requests()
    client = fallback_app(tmp_path, [secured.url]).test_client()
    request = without_prefetch(scenario_request("07-secondary-steroid"), secured)
    refused = post(client, request)
    assert refused.status_code == 412
    assert "refused access (401)" in diagnostics(refused)
    assert all(r["authorization"] is None for r in secured.requests_seen())

    request["fhirAuthorization"] = dict(FHIR_AUTHORIZATION)
    answered = post(client, request)
    assert answered.status_code == 200
    assert [c["indicator"] for c in answered.get_json()["cards"]] == ["info"]
    assert {r["authorization"] for r in secured.requests_seen()} == {None, f"Bearer {TOKEN}"}


def test_a_fhir_server_outside_the_allowlist_is_never_contacted(
    tmp_path: Path, server: FhirServer
) -> None:
    server.forget_requests()
    client = fallback_app(tmp_path, ["https://ehr.example.org/fhir"]).test_client()
    response = post(client, without_prefetch(scenario_request("01-coded-milia-adult"), server))
    assert response.status_code == 412
    assert "not allowed" in diagnostics(response)
    assert server.requests_seen() == []


def test_allowlist_matches_host_and_path_not_prefix_strings(
    tmp_path: Path, server: FhirServer
) -> None:
    server.forget_requests()
    client = fallback_app(tmp_path, [server.url + "/fhir"]).test_client()
    request = without_prefetch(scenario_request("01-coded-milia-adult"), server)
    request["fhirServer"] = server.url + "/fhirx"
    assert post(client, request).status_code == 412
    assert server.requests_seen() == []


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_server_down_is_412_unreachable(tmp_path: Path, server: FhirServer) -> None:
    down = f"http://127.0.0.1:{closed_port()}"
    client = fallback_app(tmp_path, [down]).test_client()
    request = without_prefetch(scenario_request("01-coded-milia-adult"), server)
    request["fhirServer"] = down
    response = post(client, request)
    assert response.status_code == 412
    assert "'patient'" in diagnostics(response) and "unreachable" in diagnostics(response)


def test_optional_data_missing_still_gives_cards(tmp_path: Path, server: FhirServer) -> None:
    down = f"http://127.0.0.1:{closed_port()}"
    client = fallback_app(tmp_path, [down]).test_client()
    request = scenario_request("01-coded-milia-adult")
    request["fhirServer"] = down
    for optional in ("medicationRequests", "medicationStatements", "procedures"):
        del request["prefetch"][optional]
    response = post(client, request)
    assert response.status_code == 200
    assert [c["indicator"] for c in response.get_json()["cards"]] == ["info"]


def test_slow_server_is_cut_at_the_budget(tmp_path: Path, server: FhirServer) -> None:
    client = fallback_app(tmp_path, [server.url], timeout=200, budget=300).test_client()
    with server.faulty(delayMs=2000):
        response = post(client, without_prefetch(scenario_request("01-coded-milia-adult"), server))
    assert response.status_code == 412
    assert "did not answer within" in diagnostics(response)


def test_invalid_data_from_the_fhir_server_is_412_not_the_callers_400(
    tmp_path: Path, server: FhirServer
) -> None:
    client = fallback_app(tmp_path, [server.url]).test_client()
    request = without_prefetch(scenario_request("01-coded-milia-adult"), server, "patient")
    with server.faulty(invalidResource=True):
        response = post(client, request)
    assert response.status_code == 412
    assert "the FHIR server sent invalid data for 'conditions'" in diagnostics(response)


def test_a_server_that_trickles_its_answer_holds_no_thread_after_the_hook(
    tmp_path: Path, server: FhirServer
) -> None:
    # One byte every 100 ms: no single read times out, but the hook's budget does. The threads
    # that were reading must be free for the next call, to the same (now healthy) server.
    client = fallback_app(tmp_path, [server.url], timeout=300, budget=400).test_client()
    request = without_prefetch(scenario_request("01-coded-milia-adult"), server)
    with server.faulty(trickleMs=100):
        for _ in range(3):
            assert post(client, request).status_code == 412
    healthy = post(client, request)
    assert healthy.status_code == 200, diagnostics(healthy)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"status": 500}, "answered 500"),
        ({"invalidJson": True}, "not valid JSON"),
        # Nested deeper than any parser should follow: an error, not a crash.
        ({"deepJson": True}, "not valid JSON"),
    ],
)
def test_broken_answers_are_412_naming_the_reason(
    client: FlaskClient, server: FhirServer, fault: dict[str, Any], reason: str
) -> None:
    with server.faulty(**fault):
        response = post(client, without_prefetch(scenario_request("01-coded-milia-adult"), server))
    assert response.status_code == 412
    assert reason in diagnostics(response)


def many_conditions(count: int, milia_last: bool = True) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": "big", "birthDate": "1970-01-01"}
    ]
    for index in range(count):
        code: dict[str, Any] = {"text": f"Problem {index}"}
        if milia_last and index == count - 1:
            code = {
                "coding": [{"system": "http://snomed.info/sct", "code": "254679001"}],
                "text": "Milia",
            }
        resources.append(
            {
                "resourceType": "Condition",
                "id": f"big-{index}",
                "subject": {"reference": "Patient/big"},
                "code": code,
            }
        )
    return resources


def big_request(server: FhirServer) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": "big-1",
        "fhirServer": server.url,
        "context": {"userId": "Practitioner/1", "patientId": "big"},
    }


def test_paging_links_are_followed(tmp_path: Path) -> None:
    with fhir_server(many_conditions(12), tmp_path, page_size=5) as paged:
        client = fallback_app(tmp_path, [paged.url]).test_client()
        response = post(client, big_request(paged))
        assert response.status_code == 200
        assert [c["indicator"] for c in response.get_json()["cards"]] == [
            "info"
        ]  # milia was on page 3
        pages = [r["path"] for r in paged.requests_seen() if r["path"].startswith("/Condition")]
        assert len(pages) == 3


def test_huge_result_sets_are_capped(tmp_path: Path) -> None:
    with fhir_server(many_conditions(40), tmp_path, page_size=5) as paged:
        too_many = fallback_app(tmp_path / "a", [paged.url], fhir_max_resources=20).test_client()
        response = post(too_many, big_request(paged))
        assert response.status_code == 412
        assert "more than 20 resources" in diagnostics(response)
        too_long = fallback_app(tmp_path / "b", [paged.url], fhir_max_pages=3).test_client()
        response = post(too_long, big_request(paged))
        assert "more than 3 pages" in diagnostics(response)
        too_big = fallback_app(tmp_path / "c", [paged.url], fhir_max_bytes=2048).test_client()
        response = post(too_big, big_request(paged))
        assert "larger than 2048 bytes" in diagnostics(response)


def test_a_paginated_prefetch_bundle_is_completed_from_the_server(
    client: FlaskClient, server: FhirServer
) -> None:
    request = scenario_request("16-red-flag-history-of-bcc")
    conditions = request["prefetch"]["conditions"]
    first, rest = conditions["entry"][:1], conditions["entry"][1:]
    assert rest, "the scenario needs two conditions"
    request["fhirServer"] = server.url
    patient = request["context"]["patientId"]
    request["prefetch"]["conditions"] = {
        **searchset(first[0]["resource"]),
        "link": [{"relation": "next", "url": f"{server.url}/Condition?patient={patient}&_page=0"}],
    }
    response = post(client, request)
    assert [c["indicator"] for c in response.get_json()["cards"]] == ["warning"]
    assert any(r["path"].startswith("/Condition") for r in server.requests_seen())


def test_a_paging_link_to_another_host_is_not_followed(
    client: FlaskClient, server: FhirServer
) -> None:
    request = scenario_request("01-coded-milia-adult")
    request["fhirServer"] = server.url
    request["prefetch"]["conditions"]["link"] = [
        {"relation": "next", "url": "http://169.254.169.254/latest"}
    ]
    response = post(client, request)
    assert response.status_code == 412
    assert "leads away from the fhirServer of the request" in diagnostics(response)


def test_a_paging_link_to_another_allowlisted_server_is_not_sent_the_token(
    tmp_path: Path, server: FhirServer, secured: FhirServer
) -> None:
    # Both servers are allowlisted; the token was issued for the first one only.
    client = fallback_app(tmp_path, [server.url, secured.url]).test_client()
    request = scenario_request("01-coded-milia-adult")
    request["fhirServer"] = server.url
    request["fhirAuthorization"] = dict(FHIR_AUTHORIZATION)
    request["prefetch"]["conditions"]["link"] = [
        {"relation": "next", "url": f"{secured.url}/Condition?patient=p01"}
    ]
    secured.forget_requests()
    response = post(client, request)
    assert response.status_code == 412
    assert "leads away from the fhirServer of the request" in diagnostics(response)
    assert secured.requests_seen() == []


@pytest.mark.parametrize(
    "link",
    ["/fhir/../Patient", "/fhir/%2e%2e/Patient", "/fhir/%2E%2E/%2e%2E/x", "/fhir%2f..%2fadmin"],
)
def test_a_paging_link_cannot_climb_out_of_the_allowed_path(link: str) -> None:
    # The allowlist allows the /fhir base; dot segments, encoded or not, are resolved first.
    allowed = ["https://ehr.example.org/fhir"]
    assert not is_allowed("https://ehr.example.org" + link, allowed)
    assert is_allowed("https://ehr.example.org/fhir/./Condition?_page=2", allowed)
    # Segment parameters ("..;") are servers' dot segments too; the default port is no port.
    assert not is_allowed("https://ehr.example.org/fhir/..;/admin", allowed)
    assert is_allowed("https://ehr.example.org:443/fhir/Condition?_page=2", allowed)
    assert not is_allowed("https://ehr.example.org:8443/fhir/Condition", allowed)
