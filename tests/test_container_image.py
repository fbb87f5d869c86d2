"""The container image, built with ``make image`` and run for real with podman on a fresh PostgreSQL
database: migrations at start-up, readiness, a hook call with a card, feedback, the image's own
health check, a non-root process, a read-only root filesystem as the Kubernetes manifests run it,
nothing of the build left in the image, and its size over the base.

``make test`` builds on a stand-in base (no registry is reachable on the CI machines; see
deploy/container/standin-base.sh) and sets CDS_TEST_IMAGE_BASE; without it and without podman, the
module is skipped (a developer's machine), with it a missing tool is a failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import requests

from tests.conftest import ROOT, overridden, scenario_request
from tests.issuer import TestIssuer
from tests.postgres import fresh_database, query, sqlalchemy_url
from tests.servers import free_port

#: Left out of make check: needs podman.
pytestmark = pytest.mark.external

BASE = os.environ.get("CDS_TEST_IMAGE_BASE")
IMAGE = f"localhost/cds-milia-test:{uuid.uuid4().hex[:8]}"
PV = "/cds-services/milia-patient-view"
ISSUER = TestIssuer()
#: The issue's ceiling for what the image adds to its base.
MAX_ADDED_BYTES = 400 * 1000 * 1000

if shutil.which("podman") is None:
    if BASE:
        raise RuntimeError("CDS_TEST_IMAGE_BASE is set but podman is not installed")
    pytest.skip("podman is not installed (make test installs it)", allow_module_level=True)


def podman(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, check=check
    )


class Container:
    def __init__(self, name: str, url: str, database: str) -> None:
        self.name = name
        self.url = url
        self.database = database

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(self.url + path, json=body, headers=self._auth(path), timeout=30)

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, headers=self._auth(path), timeout=30)

    def _auth(self, path: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {ISSUER.token(self.url + path, sub='epic-client-1')}"}

    def run(self, *command: str) -> str:
        return podman("exec", self.name, *command, timeout=30).stdout

    def logs(self) -> str:
        return (
            podman("logs", self.name, check=False).stdout
            + podman("logs", self.name, check=False).stderr
        )


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    base = BASE or "python:3.11-slim-bookworm"
    built = subprocess.run(
        ["make", "--no-print-directory", "image", f"IMAGE={IMAGE}", f"PYTHON_IMAGE={base}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    try:
        yield IMAGE
    finally:
        podman("rmi", "--force", IMAGE, check=False)
        # The build's intermediate stage is of no further use.
        podman("image", "prune", "--force", check=False)


@pytest.fixture(scope="module")
def container(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    directory = tmp_path_factory.mktemp("image")
    # The service runs as uid 10001: the mounted issuers file must be readable by it.
    directory.chmod(0o755)
    ISSUER.issuers_file(directory, sub_allowlist=["epic-client-1"]).chmod(0o644)
    port = free_port()
    name = f"cds-test-{uuid.uuid4().hex[:8]}"
    url = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        database = stack.enter_context(fresh_database())
        settings = {
            "CDS_PORT": str(port),
            "CDS_DATABASE_URL": sqlalchemy_url(database),
            "CDS_SECRET_KEY": "image-test-secret",
            "CDS_TRUSTED_ISSUERS_FILE": "/etc/cds/issuers.yaml",
            "CDS_PUBLIC_BASE_URL": url,
            "CDS_WORKERS": "2",
        }
        podman(
            "run",
            "--detach",
            "--name",
            name,
            "--network",
            "host",
            # As the Deployment runs it: read-only root (podman mounts a tmpfs on /tmp), no
            # capabilities, no privilege escalation.
            "--read-only",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--volume",
            f"{directory}:/etc/cds:ro",
            *[arg for key, value in settings.items() for arg in ("--env", f"{key}={value}")],
            image,
        )
        stack.callback(podman, "rm", "--force", "--time", "5", name, check=False)
        found = Container(name, url, database)
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            state = podman("inspect", "--format", "{{.State.Status}}", name, check=False).stdout
            if "running" not in state or time.monotonic() > deadline:
                pytest.fail(
                    f"the container did not become ready ({state.strip()}):\n{found.logs()}"
                )
            time.sleep(0.5)
        yield found


def test_the_image_migrates_a_fresh_database_at_start_up(container: Container) -> None:
    ready = requests.get(container.url + "/readyz", timeout=10).json()
    assert ready["status"] == "ready"
    tables = {
        row[0]
        for row in query(
            container.database,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
        )
    }
    assert {"alembic_version", "feedback", "snoozes"} <= tables


def test_the_image_answers_a_hook_with_a_card_and_takes_feedback(container: Container) -> None:
    discovery = container.get("/cds-services").json()
    assert PV.rsplit("/", 1)[1] in {service["id"] for service in discovery["services"]}
    request = scenario_request("01-coded-milia-adult")
    answered = container.post(PV, request)
    assert answered.status_code == 200, answered.text
    cards = answered.json()["cards"]
    assert len(cards) == 1 and "milia" in cards[0]["summary"].lower()
    feedback = overridden(cards[0]["uuid"])
    assert container.post(PV + "/feedback", feedback).status_code == 200
    assert query(container.database, "SELECT count(*) FROM feedback") == [(1,)]
    # What the database learnt is used: the overridden card is snoozed.
    assert container.post(PV, request).json()["cards"] == []


def test_a_call_without_a_token_is_refused(container: Container) -> None:
    body = scenario_request("01-coded-milia-adult")
    assert requests.post(container.url + PV, json=body, timeout=10).status_code == 401


def test_the_images_health_check_passes(container: Container) -> None:
    inspected = json.loads(podman("image", "inspect", IMAGE).stdout)[0]
    assert inspected["Healthcheck"]["Test"] == ["CMD", "cds-service", "healthcheck"]
    assert podman("healthcheck", "run", container.name, check=False).returncode == 0


def test_the_service_runs_as_a_user_that_is_not_root(container: Container) -> None:
    # Every process of the container: gunicorn's arbiter and its workers.
    statuses = container.run(
        "python3",
        "-c",
        "import glob; print(*[open(p).read() for p in glob.glob('/proc/[0-9]*/status')])",
    )
    uids = {line.split()[1] for line in statuses.splitlines() if line.startswith("Uid:")}
    assert uids == {"10001"}


def test_nothing_of_the_build_is_left_in_the_image(container: Container) -> None:
    probe = (
        "import importlib.util as u, os, shutil; "
        "tools = [shutil.which(t) for t in ('gcc', 'cc', 'pip')]; "
        "tests = [u.find_spec(m) for m in ('pytest', 'schemathesis', 'playwright', 'mypy', 'ruff')]; "
        "print([tools, tests, os.path.exists('/wheelhouse')])"
    )
    assert container.run("python3", "-c", probe).strip() == str([[None] * 3, [None] * 5, False])
    # The knowledge base is inside.
    assert container.run("cds-service", "check-content").strip().endswith("is valid")


def test_the_image_adds_less_than_400_mb_to_its_base(image: str) -> None:
    base = BASE or "python:3.11-slim-bookworm"

    def size(name: str) -> int:
        return int(podman("image", "inspect", "--format", "{{.Size}}", name).stdout)

    assert size(image) - size(base) < MAX_ADDED_BYTES
