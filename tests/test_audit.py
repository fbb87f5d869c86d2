"""Who called and what was answered: the audit trail (database and FHIR AuditEvent), silent mode
per issuer and per tenant, and the trusted-issuers options that say who may call (``sub`` and
published ``jku`` lists)."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from flask import Flask
from flask.testing import FlaskClient

from cds_service.audit import AuditWriter
from cds_service.logs import JsonFormatter
from cds_service.store import AuditRecord, Store
from tests.conftest import build_app, overridden, scenario_request
from tests.issuer import TestIssuer, write_issuers
from tests.test_auth import KeyServer, jwk
from tests.test_metrics import sample

BASE = "https://cds.example.org"
PV = "/cds-services/milia-patient-view"
EPIC = TestIssuer("https://fhir.hospital.example/api/FHIR/R4")
PILOT = TestIssuer("https://ehr.pilot.example")
RED_FLAG = "12-red-flag-bleeding"


def audit_app(directory: Path, *entries: dict[str, Any]) -> Flask:
    return build_app(
        database_url=f"sqlite:///{directory / 'audit.sqlite3'}",
        auth_mode="required",
        trusted_issuers_file=write_issuers(directory, *entries),
        public_base_url=BASE,
        secret_key="audit-test-secret",
    )


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = audit_app(
        tmp_path,
        EPIC.entry(sub_allowlist=["epic-client-1", "epic-client-2"], silent_tenants=["pilot"]),
        PILOT.entry(silent=True),
    )
    yield app
    app.extensions["cds"].store.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def post(
    client: FlaskClient,
    path: str,
    body: dict[str, Any],
    issuer: TestIssuer = EPIC,
    **claims: Any,
) -> Any:
    if issuer is EPIC:
        claims.setdefault("sub", "epic-client-1")
    bearer = issuer.token(BASE + path, **claims)
    return client.post(path, json=body, headers={"Authorization": f"Bearer {bearer}"})


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def cli(tmp_path: Path, *args: str) -> str:
    """``cds-service ARGS`` on the test's database, as an operator runs it; its output."""
    env = {
        "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.sqlite3'}",
        "CDS_PUBLIC_BASE_URL": BASE,
        "PATH": "",
    }
    command = [sys.executable, "-m", "cds_service.cli", *args]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout


def audit(app: Flask) -> list[Any]:
    """The audit rows, once the writer has written what the calls queued."""
    app.extensions["cds.audit"].flush()
    records: list[Any] = app.extensions["cds"].store.audit_records()
    return records


# ------------------------------------------------------------------------------- who may call


def test_a_client_on_the_sub_allowlist_is_answered(client: FlaskClient) -> None:
    for sub in ("epic-client-1", "epic-client-2"):
        assert (
            post(client, PV, scenario_request("01-coded-milia-adult"), sub=sub).status_code == 200
        )


@pytest.mark.parametrize("sub", ["another-client", None, 42])
def test_a_client_not_on_the_sub_allowlist_is_refused(
    client: FlaskClient, sub: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    claims = {} if sub is None else {"sub": sub}
    bearer = EPIC.token(BASE + PV, **claims)
    response = client.post(
        PV,
        json=scenario_request("01-coded-milia-adult"),
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert response.status_code == 401
    # PyJWT refuses a sub that is not a string before the allowlist is read.
    assert ("sub not allowed" if sub != 42 else "InvalidSubjectError") in caplog.text
    assert (
        sample(
            client.get("/metrics").get_data(as_text=True),
            "cds_auth_failures_total",
            reason="client",
        )
        >= 1
    )


def test_a_jku_on_the_issuers_published_list_is_fetched_and_accepted(tmp_path: Path) -> None:
    """Oracle Health publishes the jku URLs its tokens may name; the service reads that list."""
    ehr = TestIssuer("https://cds-hooks.ehr.example")
    keys = KeyServer({"/tenant-a/jwks.json": {"keys": [jwk(ehr.key, ehr.kid, "ES384")]}})
    stranger = KeyServer({"/jwks.json": {"keys": [jwk(ehr.key, ehr.kid, "ES384")]}})
    listed = f"{keys.url}/tenant-a/jwks.json"
    keys.documents["/jku-list"] = {"jkus": [listed]}
    try:
        app = audit_app(tmp_path, {"iss": ehr.iss, "jku_list_url": f"{keys.url}/jku-list"})
        client = app.test_client()

        def call(jku: str) -> int:
            bearer = ehr.token(BASE + PV, jku=jku)
            body = scenario_request("01-coded-milia-adult")
            return client.post(
                PV, json=body, headers={"Authorization": f"Bearer {bearer}"}
            ).status_code

        assert call(listed) == 200
        assert "/jku-list" in keys.hits and "/tenant-a/jwks.json" in keys.hits
        assert call(f"{stranger.url}/jwks.json") == 401
        assert stranger.hits == []  # a jku that is not listed is never fetched
        app.extensions["cds"].store.engine.dispose()
    finally:
        keys.stop()
        stranger.stop()


def test_the_jku_allowlist_may_be_one_url(tmp_path: Path) -> None:
    app = audit_app(
        tmp_path, {"iss": "https://ehr.example", "jku_allowlist": "https://ehr.example/jwks"}
    )
    issuer = app.extensions["cds"].auth.trust.issuer("https://ehr.example")
    assert issuer.jku_allowlist == ["https://ehr.example/jwks"]
    app.extensions["cds"].store.engine.dispose()


# ------------------------------------------------------------------------------- silent mode


def test_a_silent_tenant_gets_no_cards_but_they_are_computed_and_recorded(
    app: Flask, client: FlaskClient
) -> None:
    before = client.get("/metrics").get_data(as_text=True)
    answered = post(client, PV, scenario_request(RED_FLAG), tenant="pilot")
    assert answered.status_code == 200
    assert answered.get_json() == {"cards": []}
    after = client.get("/metrics").get_data(as_text=True)
    labels = {"kind": "red-flags", "indicator": "warning", "delivery": "silent"}
    assert (
        sample(after, "cds_cards_total", **labels)
        == sample(before, "cds_cards_total", **labels) + 1
    )
    (record,) = audit(app)
    assert record.silent and record.card_kinds == ("red-flags",) and record.tenant == "pilot"
    # Another tenant of the same issuer sees the same card.
    shown = post(client, PV, scenario_request(RED_FLAG), tenant="main-hospital").get_json()["cards"]
    assert [card["indicator"] for card in shown] == ["warning"]


def test_a_silent_issuer_gets_no_cards_for_any_tenant(client: FlaskClient) -> None:
    for tenant in (None, "any"):
        claims = {"tenant": tenant} if tenant else {}
        answered = post(client, PV, scenario_request(RED_FLAG), issuer=PILOT, **claims)
        assert answered.get_json() == {"cards": []}


def test_feedback_report_shows_what_would_have_been_shown(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    post(client, PV, scenario_request(RED_FLAG), tenant="pilot")
    post(client, PV, scenario_request(RED_FLAG), tenant="pilot")
    post(client, PV, scenario_request("01-coded-milia-adult"), tenant="main-hospital")
    report = cli(tmp_path, "feedback-report")
    rows = {
        line.split()[0]: line.split()[1:6] for line in report.splitlines() if line[:1].isalpha()
    }
    # version, shown, silent, accepted, overridden
    assert rows["red-flags"] == ["2026.11.0", "0", "2", "0", "0"]
    assert rows["likely-milia"] == ["2026.11.0", "1", "0", "0", "0"]
    assert "would have been shown" in report


# ------------------------------------------------------------------------------- audit trail


def test_each_hook_and_feedback_call_is_audited_without_patient_data(
    app: Flask, client: FlaskClient
) -> None:
    request = scenario_request("03-text-only-milia")
    card = post(client, PV, request, tenant="main-hospital").get_json()["cards"][0]["uuid"]
    assert (
        post(client, PV + "/feedback", overridden(card), tenant="main-hospital").status_code == 200
    )
    assert post(client, PV, {"hook": "patient-view"}, tenant="main-hospital").status_code == 400
    hook, feedback, refused = audit(app)
    assert (hook.action, hook.status, hook.card_kinds) == ("hook-call", 200, ("likely-milia",))
    assert (hook.issuer, hook.tenant, hook.client) == (EPIC.iss, "main-hospital", "epic-client-1")
    assert hook.hook_instance == request["hookInstance"] and hook.content_version == "2026.11.0"
    assert (feedback.action, feedback.feedback_outcomes) == ("feedback", (("overridden", 1),))
    assert refused.status == 400 and refused.card_kinds == ()
    with app.extensions["cds"].store.engine.connect() as conn:
        stored = json.dumps(
            [list(row) for row in conn.exec_driver_sql("SELECT * FROM audit_events")], default=str
        )
    assert request["context"]["patientId"] not in stored
    record_text = [text for text in strings(request["prefetch"]) if len(text) > 12]
    assert record_text, "the scenario has text to leak"
    assert not [text for text in record_text if text in stored]


def test_refused_tokens_write_no_audit_rows(app: Flask, client: FlaskClient) -> None:
    client.post(
        PV, json=scenario_request("01-coded-milia-adult"), headers={"Authorization": "Bearer x"}
    )
    assert audit(app) == []


def test_the_audit_trail_is_given_as_fhir_audit_events(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    post(client, PV, scenario_request(RED_FLAG), tenant="pilot")
    post(client, PV, scenario_request("01-coded-milia-adult"), tenant="main-hospital")
    app.extensions["cds.audit"].flush()
    printed = cli(tmp_path, "audit-events", "--since", "2026-01-01")
    bundle = Bundle.model_validate_json(printed)  # R4B shares R4's AuditEvent
    events: list[Any] = [entry.resource for entry in bundle.entry or []]
    assert [e.action for e in events] == ["E", "E"]
    assert [e.outcome for e in events] == ["0", "0"]
    first = events[0]
    assert (
        first.agent[0].who.identifier.value == EPIC.iss and first.agent[0].altId == "epic-client-1"
    )
    details = {d.type.rsplit("/", 1)[-1]: d.valueString for d in first.entity[0].detail}
    assert details["delivery"] == "silent" and details["cardKinds"] == "red-flags"
    assert details["tenant"] == "pilot" and details["contentVersion"] == "2026.11.0"
    later = json.loads(cli(tmp_path, "audit-events", "--since", "2999-01-01"))
    assert later["entry"] == []


# --------------------------------------------------------------------------------------- logs


def test_json_log_lines_name_the_call_and_nothing_of_the_patient(client: FlaskClient) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        request = scenario_request(RED_FLAG)
        request["hookInstance"] = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea\u2028forged"
        post(client, PV, request, tenant="main-hospital")
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
    lines = stream.getvalue().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    (call,) = [e for e in entries if e.get("route") == "/cds-services/<service_id>"]
    assert call["status"] == 200 and call["service"] == "milia-patient-view"
    assert call["issuer"] == EPIC.iss and call["tenant"] == "main-hospital"
    assert call["cards"] == {"red-flags": 1} and call["silent"] is False
    assert set(call["stagesMs"]) == {"read", "reason", "cards", "record"} and call["ms"] > 0
    assert call["hookInstance"].startswith("d1577c69")
    assert request["context"]["patientId"] not in stream.getvalue()


def test_audit_records_are_written_off_the_request_in_batches(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'batched.sqlite3'}")
    store.ensure_schema()
    writer = AuditWriter(store, interval_s=0.05)
    record = AuditRecord("hook-call", "milia-patient-view", 200, "2026.11.0", 12.0)
    for _ in range(50):
        writer.submit(record)  # returns at once: the writer thread does the insert
    writer.flush()
    written = store.audit_records()
    assert len(written) == 50
    assert all(r.recorded_at is not None for r in written)  # the call's time, not the write's
    store.engine.dispose()
