from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.conftest import AppFactory, scenario_request

SANDBOX = "https://sandbox.cds-hooks.org"


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/cds-services", "GET"),
        ("/cds-services/milia-patient-view", "POST"),
        ("/cds-services/milia-order-sign/feedback", "POST"),
    ],
)
def test_preflight_is_answered_on_every_cds_path(
    client: FlaskClient, path: str, method: str
) -> None:
    response = client.options(
        path,
        headers={
            "Origin": SANDBOX,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] in {"*", SANDBOX}
    allowed_methods = {
        m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")
    }
    assert {"GET", "POST", "OPTIONS"} <= allowed_methods
    allowed_headers = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers


def test_private_network_preflight_is_allowed(client: FlaskClient) -> None:
    response = client.options(
        "/cds-services",
        headers={
            "Origin": SANDBOX,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert response.headers["Access-Control-Allow-Private-Network"] == "true"


def test_actual_post_carries_cors_headers(client: FlaskClient) -> None:
    response = client.post("/cds-services/x", json={}, headers={"Origin": SANDBOX})
    assert response.headers["Access-Control-Allow-Origin"] in {"*", SANDBOX}


def test_only_configured_origins_are_allowed(make_app: AppFactory) -> None:
    client = make_app(cors_origins=["https://ehr.example.org"]).test_client()
    ok = client.get("/cds-services", headers={"Origin": "https://ehr.example.org"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"
    other = client.get("/cds-services", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_healthz_and_readyz(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["status"] == "ready"
    assert body["database"] == "ok"
    assert body["knowledgeBase"]["contentVersion"]
    assert body["knowledgeBase"]["edited"]
    # The content's status as it is: no clinician has signed this version off.
    assert body["knowledgeBase"]["provenance"] == "draft, awaiting dermatology review"


def test_pages_and_answers_carry_security_headers(client: FlaskClient) -> None:
    page = client.get("/handouts/milia")
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src" not in policy  # no script may run on a page
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    answer = client.post(
        "/cds-services/milia-patient-view", json=scenario_request("01-coded-milia-adult")
    )
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "no-store"  # cards hold patient data
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    discovery = client.get("/cds-services")
    assert discovery.headers["X-Content-Type-Options"] == "nosniff"
