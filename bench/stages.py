"""Where a hook call's processor time goes, in units of the bare stack's call: the service and the
baseline app (bench/baseline.py) are called in process, in turn, on the same bodies, and each stage
of the service's call is timed with the process's CPU clock. This machine's speed drifts by a
factor of two within minutes; a ratio taken call by call drifts with it, so it stays comparable
across commits where milliseconds do not (bench/README.md, "This machine is noisy").

    python bench/stages.py [scenario ...] [--calls 150]

The served ratio (bench/run.py) is lower than this one by the server's own costs, which the bare
stack has too; the order of the stages is the same.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bodies import bodies as scenario_bodies
from bodies import url as scenario_url

HERE = Path(__file__).resolve().parent
DEFAULT = ["heavy-chart", "heavy-chart-distinct-notes"]

#: Seconds of processor time per stage, summed over the calls.
spent: dict[str, float] = {}


def timed(function: Callable[..., Any], stage: str) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[stage] = spent.get(stage, 0.0) + time.process_time() - start

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenarios", nargs="*", default=DEFAULT)
    parser.add_argument("--calls", type=int, default=150)
    args = parser.parse_args()
    os.environ.setdefault("CDS_AUTH_MODE", "development")
    logging.disable(logging.WARNING)
    sys.path.insert(0, str(HERE))
    import baseline

    from cds_service import api, pipeline
    from cds_service.app import create_app
    from cds_service.fhir import context, lean_body, resources
    from cds_service.settings import Settings

    database = Path(tempfile.mkdtemp(prefix="cds-stages-")) / "stages.sqlite3"
    app = create_app(Settings(database_url=f"sqlite:///{database}", secret_key="stages"))
    runtime = app.extensions["cds"]
    # Stages as the pipeline calls them (module attributes looked up at call time).
    lean_body.decode = timed(lean_body.decode, "parse the body")
    pipeline.gather = timed(pipeline.gather, "gather: filter, validate kept")
    context.read_value = timed(context.read_value, "  of which: prefetch Bundles")
    resources.validated.parse = timed(resources.validated.parse, "  of which: validation")
    runtime.reader.read = timed(runtime.reader.read, "read the record")
    pipeline.assess = timed(pipeline.assess, "reason")
    runtime.renderer.render_all = timed(runtime.renderer.render_all, "render cards")
    runtime.suppression.apply = timed(runtime.suppression.apply, "snoozes, count shown")
    api.answer_hook = timed(api.answer_hook, "the hook (all of the above but parse)")
    service, bare = app.test_client(), baseline.app.test_client()
    for scenario in args.scenarios:
        bodies, url = scenario_bodies(scenario), scenario_url(scenario)
        for body in bodies[:3]:
            service.post(url, data=body, content_type="application/json")
        gc.freeze()
        spent.clear()
        ours = theirs = 0.0
        for n in range(args.calls):
            body = bodies[(n + 3) % len(bodies)]
            start = time.process_time()
            answer = service.post(url, data=body, content_type="application/json")
            ours += time.process_time() - start
            assert answer.status_code == 200, answer.get_data(as_text=True)[:200]
            start = time.process_time()
            bare.post(url, data=body, content_type="application/json")
            theirs += time.process_time() - start
        print(
            f"{scenario}: service {ours / args.calls * 1000:.2f} ms, bare stack "
            f"{theirs / args.calls * 1000:.2f} ms of processor a call; ratio {theirs / ours:.2f}"
        )
        order = [
            "parse the body",
            "gather: filter, validate kept",
            "  of which: prefetch Bundles",
            "  of which: validation",
            "read the record",
            "reason",
            "render cards",
            "snoozes, count shown",
            "the hook (all of the above but parse)",
        ]
        for stage in order:
            print(f"  {stage:40} {spent.get(stage, 0.0) / theirs:5.2f} bare-stack calls")
        rest = ours - spent.get(order[0], 0.0) - spent.get(order[-1], 0.0)
        print(
            f"  {'Flask, log line, audit, freeing the body':40} {rest / theirs:5.2f} bare-stack calls"
        )


if __name__ == "__main__":
    main()
