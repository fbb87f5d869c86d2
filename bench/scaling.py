"""How the cost of one hook call grows (issue 17, item 3): time per call, in process, against the
number of resources in the chart (100, 1,000, 10,000) and against the length of the milia note,
with notes that differ on every call so that no text cache hides the reading.

    python bench/scaling.py

Prints a markdown table; bench/README.md keeps the latest. Timings, never pass/fail.
"""

from __future__ import annotations

import copy
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import charts  # noqa: E402

from cds_service.app import create_app  # noqa: E402
from cds_service.settings import Settings  # noqa: E402

REPEATS = 7


def chart_of(resources: int, seed: int) -> dict[str, Any]:
    """The heavy chart scaled to about ``resources`` Observations (vital signs and findings in
    the heavy chart's proportions), with its notes drawn from ``seed``."""
    base = charts.heavy_chart(seed)
    entries = base["prefetch"]["skinObservations"]["entry"]
    milia_note, others = entries[-1], entries[:-1]
    scaled = []
    for i in range(resources - 1):
        entry = copy.deepcopy(others[i % len(others)])
        entry["resource"]["id"] = f"scaled-{i}"
        scaled.append(entry)
    base["prefetch"]["skinObservations"]["entry"] = [*scaled, milia_note]
    return base


def with_note_length(chars: int, seed: int) -> dict[str, Any]:
    request = charts.heavy_chart(seed)
    note = request["prefetch"]["skinObservations"]["entry"][-1]["resource"]
    filler = " ".join(
        charts._findings_note(__import__("random").Random(seed + k)) for k in range(400)
    )
    note["valueString"] = (note["valueString"] + " " + filler)[:chars]
    return request


def timed(client: Any, requests: list[dict[str, Any]]) -> float:
    """The median time (ms) of one call over the requests, each sent once (encoded beforehand,
    so the test client's JSON encoding is not measured)."""
    times = []
    for body in [orjson.dumps(r) for r in requests]:
        started = time.perf_counter()
        response = client.post(
            "/cds-services/milia-patient-view", data=body, content_type="application/json"
        )
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)[:200]
    return statistics.median(times)


def main() -> None:
    app = create_app(Settings(database_url="sqlite://", auth_mode="development", secret_key="b"))
    client = app.test_client()
    timed(client, [chart_of(100, 999)])  # warm-up: first-call costs out of the measure
    gc.freeze()  # as the served workers do after start-up
    print("| Observations in the chart | ms per call (median, notes differ every call) |")
    print("|---:|---:|")
    for size in (100, 1_000, 10_000):
        bodies = [chart_of(size, seed) for seed in range(1, REPEATS + 1)]
        print(f"| {size:,} | {timed(client, bodies):.1f} |", flush=True)
    print()
    print("| Milia note length (characters) | ms per call (median, heavy chart) |")
    print("|---:|---:|")
    for chars in (200, 2_000, 20_000):
        bodies = [with_note_length(chars, seed) for seed in range(100, 100 + REPEATS)]
        print(f"| {chars:,} | {timed(client, bodies):.1f} |", flush=True)


if __name__ == "__main__":
    main()
