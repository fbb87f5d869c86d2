"""Logs: a request value cannot forge a log line, and no library writes patient ids at DEBUG."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient

from cds_service.logs import OneLineFormatter, configure_logging
from tests.conftest import scenario_request
from tests.servers import free_port, service_instance


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OneLineFormatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


FORGED = "INFO cds_service.api GET /cds-services status=200 FORGED"


def test_a_request_value_cannot_start_a_log_line(
    client: FlaskClient, log_text: io.StringIO
) -> None:
    request = scenario_request("01-coded-milia-adult")
    request["hook"] = "patient-view\n" + FORGED
    request["hookInstance"] = "abc\r\n" + FORGED + "\x85" + FORGED + "\u2028" + FORGED
    response = client.post("/cds-services/milia-patient-view%0a" + FORGED, json=request)
    assert response.status_code in {400, 404}
    response = client.post("/cds-services/milia-patient-view", json=request)
    assert response.status_code == 400
    # str.splitlines() also breaks at NEL (\x85) and U+2028: none may appear unescaped.
    lines = log_text.getvalue().splitlines()
    assert lines, "the calls were logged"
    assert not any(line.startswith(FORGED) for line in lines)


def test_library_debug_logging_that_writes_urls_stays_off() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging("DEBUG")
        # urllib3 logs "GET /Condition?patient=<id>" at DEBUG: it never gets that level.
        assert not logging.getLogger("urllib3").isEnabledFor(logging.DEBUG)
        assert logging.getLogger("cds_service").isEnabledFor(logging.DEBUG)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.mark.external
def test_under_gunicorn_every_line_is_json_when_asked(tmp_path: Path) -> None:
    """CDS_LOG_FORMAT=json: the service's lines and gunicorn's own are one JSON object each."""
    port = free_port()
    env = {
        "CDS_LOG_FORMAT": "json",
        "CDS_AUTH_MODE": "development",
        "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'logs.sqlite3'}",
    }
    with service_instance(port, env, tmp_path) as url:
        body = scenario_request("01-coded-milia-adult")
        assert requests.post(url + "/cds-services/milia-patient-view", json=body, timeout=30).ok
    lines = (tmp_path / f"instance-{port}.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert {"gunicorn.error", "cds_service.api"} <= {entry["logger"] for entry in entries}
    (call,) = [e for e in entries if e.get("route") == "/cds-services/<service_id>"]
    assert call["cards"] == {"likely-milia": 1} and call["status"] == 200
    assert body["context"]["patientId"] not in "\n".join(lines)
