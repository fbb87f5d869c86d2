"""Logs: a request value cannot forge a log line, and no library writes patient ids at DEBUG."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from cds_service.logs import OneLineFormatter, configure_logging
from tests.conftest import scenario_request


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
