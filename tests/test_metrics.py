"""Prometheus metrics: what an operator watches, with no patient data in any label."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.conftest import scenario_request


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the exposition text (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return 0.0


def test_hook_calls_are_counted_without_patient_data(client: FlaskClient) -> None:
    before = client.get("/metrics").get_data(as_text=True)
    request = scenario_request("12-red-flag-bleeding")
    assert client.post("/cds-services/milia-patient-view", json=request).status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    after = response.get_data(as_text=True)
    cards = {"indicator": "warning", "kind": "red-flags", "delivery": "shown"}
    assert (
        sample(after, "cds_cards_total", **cards) == sample(before, "cds_cards_total", **cards) + 1
    )
    flag = {"flag": "bleeding-or-crusting"}
    assert sample(after, "cds_red_flags_total", **flag) == (
        sample(before, "cds_red_flags_total", **flag) + 1
    )
    calls = {"service": "milia-patient-view"}
    assert sample(after, "cds_hook_duration_seconds_count", **calls) == (
        sample(before, "cds_hook_duration_seconds_count", **calls) + 1
    )
    assert 'cds_prefetch_keys_total{key="patient",outcome="sent"}' in after
    assert "cds_content_info{" in after
    # No patient data: not the patient id, not a word of the note.
    assert request["context"]["patientId"] not in after
    assert "bleeds" not in after


def test_refused_calls_are_counted_by_reason_class(client: FlaskClient) -> None:
    bad = {"Authorization": "Bearer not.a.jwt"}
    client.post("/cds-services/milia-patient-view", json={}, headers=bad)
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "cds_auth_failures_total", reason="malformed") >= 1
    assert "not.a.jwt" not in text
