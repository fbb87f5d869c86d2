"""The request bodies of a benchmark scenario, as make_requests.py wrote them, for the scripts that
call the service in process (in_process.py, profile_hook.py, stages.py)."""

from __future__ import annotations

from pathlib import Path

REQUESTS = Path(__file__).resolve().parent / "requests"


def bodies(scenario: str, most: int | None = None) -> list[bytes]:
    """One body, or a pool's bodies in order (at most ``most``), sent in turn."""
    path = REQUESTS / f"{scenario}.json"
    if path.exists():
        return [path.read_bytes()]
    pool = sorted((REQUESTS / scenario).glob("*.json"))
    return [p.read_bytes() for p in pool[:most]]


def url(scenario: str) -> str:
    """The service a scenario calls."""
    service = "milia-order-sign" if scenario.startswith("order") else "milia-patient-view"
    return f"/cds-services/{service}"
