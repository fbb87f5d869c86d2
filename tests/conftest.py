"""Layered fixtures: settings -> app -> client. Every response the client sees is checked against
openapi.yaml, so the contract cannot drift from what the service really answers."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_schema_validator import OAS31Validator

from cds_service.app import create_app
from cds_service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
OPENAPI_PATH = ROOT / "openapi.yaml"

_openapi = OpenAPI.from_file_path(str(OPENAPI_PATH))
_components = yaml.safe_load(OPENAPI_PATH.read_text())["components"]["schemas"]


def operation_outcome_problems(body: Any) -> list[str]:
    validator = OAS31Validator(_components["OperationOutcome"])
    return [e.message for e in validator.iter_errors(body)]


class ContractClient(FlaskClient):
    """A test client that fails the test when a response breaks openapi.yaml."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        # A twin of the request for the validator: the one sent has its body consumed by the app.
        builder_kwargs = {
            k: v for k, v in kwargs.items() if k not in {"buffered", "follow_redirects"}
        }
        twin = self._request_from_builder_args(args, builder_kwargs)
        response = super().open(*args, **kwargs)
        try:
            _openapi.validate_response(
                WerkzeugOpenAPIRequest(twin), WerkzeugOpenAPIResponse(response)
            )
        except (OperationNotFound, PathNotFound):
            # Methods and paths the contract does not offer (405, 404) still answer its error shape.
            assert response.status_code in {404, 405}, response.status_code
            assert not operation_outcome_problems(response.get_json())
        return response


#: Scenario dates are written relative to this day and shifted to today by the tests.
ANCHOR = date(2026, 11, 26)
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(.*)$")
SCENARIOS = sorted(p.name for p in (FIXTURES / "scenarios").iterdir() if p.is_dir())


def shift_dates(value: Any, days: int) -> Any:
    """Move every FHIR date and dateTime by ``days``, so relative ages and durations hold."""
    if isinstance(value, dict):
        return {k: shift_dates(v, days) for k, v in value.items()}
    if isinstance(value, list):
        return [shift_dates(v, days) for v in value]
    if isinstance(value, str) and (match := _DATE.match(value)):
        try:
            moved = date.fromisoformat(match.group(1)).toordinal() + days
        except ValueError:
            return value
        return date.fromordinal(moved).isoformat() + match.group(2)
    return value


def fresh_interpreter(script: str) -> str:
    """What ``script`` prints, run in a new Python: the test process has imported everything."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def scenario_request(name: str) -> dict[str, Any]:
    """A scenario's hook request with its dates moved so that relative ages and durations hold."""
    return shift_dates(load_fixture(f"scenarios/{name}/request.json"), (date.today() - ANCHOR).days)  # type: ignore[no-any-return]


def load_fixture(relative: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / relative).read_text())
    return data


#: The override reasons' code system (cards/override_reasons.yaml).
OVERRIDE_REASONS = "https://cds-service.invalid/fhir/CodeSystem/milia-override-reason"


def overridden(card: str, reason: str | None = "patient-declines") -> dict[str, Any]:
    """A feedback body: ``card`` overridden for ``reason`` (a code of cards/), or for none."""
    entry: dict[str, Any] = {
        "card": card,
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-26T10:00:00Z",
    }
    if reason:
        entry["overrideReason"] = {"reason": {"system": OVERRIDE_REASONS, "code": reason}}
    return {"feedback": [entry]}


def with_prefetch(request: dict[str, Any], **prefetch: Any) -> dict[str, Any]:
    """The request as an EHR honouring this service's templates would send it."""
    request = copy.deepcopy(request)
    request.setdefault("prefetch", {}).update(prefetch)
    return request


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
    }
    if resources:
        bundle["entry"] = [{"resource": r} for r in resources]
    return bundle


@pytest.fixture(autouse=True)
def development_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Feature tests call without tokens; tests/test_auth.py sets the required mode explicitly."""
    monkeypatch.setenv("CDS_AUTH_MODE", "development")


def build_app(**overrides: Any) -> Flask:
    """The one way the tests build the service: ``create_app`` with these settings (an in-memory
    database unless ``database_url`` is given), its test client checking every answer against
    openapi.yaml. Module-scoped fixtures call it; tests use :func:`make_app`."""
    overrides.setdefault("database_url", "sqlite://")
    app = create_app(Settings(**overrides))
    app.test_client_class = ContractClient
    return app


AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[AppFactory]:
    """:func:`build_app` with a database file in the test's folder by default; every app built is
    closed after the test."""
    built: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        overrides.setdefault("database_url", f"sqlite:///{tmp_path / f'app-{len(built)}.sqlite3'}")
        app = build_app(**overrides)
        built.append(app)
        return app

    yield make
    for app in built:
        app.extensions["cds"].store.engine.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'test.sqlite3'}")


@pytest.fixture
def app(make_app: AppFactory, settings: Settings) -> Flask:
    return make_app(database_url=settings.database_url)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests import test_guidance_coverage as coverage

    if coverage.FOUND:
        terminalreporter.section("guidance coverage: where each point lives in cards/")
        for section, point, location in coverage.FOUND:
            terminalreporter.write_line(f"{section:22} {point[:60]:60} {location}")
