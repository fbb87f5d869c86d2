"""A profile of one hook call, in process, with pyinstrument: the slowest benchmark scenario by
default. Writes bench/profile-<scenario>.txt.

    python bench/profile_hook.py [scenario] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bodies import bodies as scenario_bodies
from bodies import url as scenario_url
from pyinstrument import Profiler

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", nargs="?", default="patient-view-2000-obs-skin")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("CDS_AUTH_MODE", "development")
    from cds_service.app import create_app
    from cds_service.settings import Settings

    app = create_app(Settings(database_url="sqlite://", secret_key="profile"))
    client = app.test_client()
    bodies = scenario_bodies(args.scenario)  # a pool's bodies are sent in turn
    url = scenario_url(args.scenario)
    client.post(url, data=bodies[-1], content_type="application/json")  # warm up
    profiler = Profiler(interval=0.0005)
    with profiler:
        for n in range(args.repeat):
            body = bodies[n % len(bodies)]
            response = client.post(url, data=body, content_type="application/json")
            assert response.status_code == 200, response.get_json()
    out = HERE / f"profile-{args.scenario}.txt"
    out.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    print(out.read_text()[:6000])


if __name__ == "__main__":
    main()
