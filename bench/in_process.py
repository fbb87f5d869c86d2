"""Milliseconds per hook call in process (no HTTP server, no wrk): the median of 60 calls per
scenario, after a warm-up and ``gc.freeze()`` as the served workers do. Run it at two commits, in
turn, to compare them on this noisy machine (bench/README.md, "Issue 17").

    python bench/in_process.py [scenario ...]
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import statistics
import time

from bodies import bodies as scenario_bodies
from bodies import url as scenario_url

DEFAULT = ["heavy-chart", "heavy-chart-distinct-notes", "newborn", "patient-view-500-obs-no-skin"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenarios", nargs="*", default=DEFAULT)
    parser.add_argument("--calls", type=int, default=60)
    args = parser.parse_args()
    os.environ.setdefault("CDS_AUTH_MODE", "development")
    logging.disable(logging.WARNING)
    from cds_service.app import create_app
    from cds_service.settings import Settings

    app = create_app(Settings(database_url="sqlite://", secret_key="in-process"))
    client = app.test_client()
    for scenario in args.scenarios:
        bodies = scenario_bodies(scenario, most=200)
        url = scenario_url(scenario)
        for body in bodies[:3]:
            client.post(url, data=body, content_type="application/json")
        gc.freeze()
        times = []
        for n in range(args.calls):
            body = bodies[(n + 3) % len(bodies)]
            started = time.perf_counter()
            answer = client.post(url, data=body, content_type="application/json")
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.get_data(as_text=True)[:200]
        print(f"{scenario}: {statistics.median(times):.1f} ms per call (median of {args.calls})")


if __name__ == "__main__":
    main()
