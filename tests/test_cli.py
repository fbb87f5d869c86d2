"""The cds-service command: evaluate gives the endpoint's body; serve runs gunicorn for real."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from tests.conftest import FIXTURES, ROOT

#: Left out of make check: the command in subprocesses.
pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "cds_service.cli"]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **env}
    )


def without_uuids(body: dict[str, Any]) -> dict[str, Any]:
    for card in body["cards"]:
        card.pop("uuid", None)
    return body


def test_evaluate_prints_what_the_endpoint_answers(client: FlaskClient) -> None:
    fixture = FIXTURES / "spec-examples" / "patient-view-with-milia.json"
    result = run("evaluate", str(fixture))
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    served = client.post("/cds-services/milia-patient-view", json=json.loads(fixture.read_text()))
    assert without_uuids(printed) == without_uuids(served.get_json())
    assert len(printed["cards"]) == 1
    # It takes no calls: nothing to say about tokens, issuers or a shared key.
    strict = run("evaluate", str(fixture), CDS_AUTH_MODE="required")
    assert strict.returncode == 0, strict.stderr
    for said in (result.stderr, strict.stderr):
        assert "401" not in said and "DEVELOPMENT MODE" not in said
        assert "CDS_SECRET_KEY" not in said


def test_evaluate_explains_invalid_input(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"hook": "patient-view",')
    result = run("evaluate", str(broken))
    assert result.returncode != 0
    assert "not valid JSON" in result.stderr
    missing = run("evaluate", str(tmp_path / "nope.json"))
    assert missing.returncode != 0 and "cannot read" in missing.stderr
    result = run("evaluate", str(FIXTURES / "spec-examples" / "patient-view.json"))
    assert result.returncode != 0
    assert "412" in result.stderr and "'patient'" in result.stderr


def test_check_content_passes_on_the_shipped_cards() -> None:
    result = run("check-content", str(ROOT / "cards"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.external
def test_serve_runs_gunicorn_and_answers_discovery(tmp_path: Path) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--workers", "1"],
        env={**os.environ, "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/cds-services", timeout=2)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert response.status_code == 200
        assert len(response.json()["services"]) == 3
        assert "gunicorn" in response.headers.get("Server", "").lower()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "Booting worker" in output or "Listening at" in output


def test_start_up_runs_without_the_collector_and_leaves_it_on() -> None:
    # What start-up builds is frozen (outside every later collection), and the collector is on
    # again for the requests, also when start-up fails: off, a worker's memory would only grow.
    import gc

    from cds_service.cli import frozen_start_up

    frozen = gc.get_freeze_count()
    try:
        with frozen_start_up():
            assert not gc.isenabled()
            built: list[list[int]] = [[] for _ in range(1000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(built)
        with pytest.raises(ValueError), frozen_start_up():
            raise ValueError("invalid content")
        assert gc.isenabled()
    finally:
        gc.unfreeze()  # the test process's objects go back to the collector
