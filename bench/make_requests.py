"""Writes the benchmark's hook requests (bench/requests/*.json) from the fixtures.

Realistic sizes: a Synthea patient's Observations (vital signs, labs, surveys) repeated with new ids
to about 50, 500 and 2,000, with its Conditions and a few medicines; "with skin findings" adds a milia
Condition and a skin exam note with a red flag. Run: python bench/make_requests.py
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "requests"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import charts  # noqa: E402  (bench/ is a folder of scripts)

#: Bodies in the varied-notes pool: more than the text cache could matter for within a run.
POOL_SIZE = 400


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (ROOT / "fixtures" / "scenarios" / name / "request.json").read_text()
    )
    return data


def bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r} for r in resources],
    }


def patient_view(observations: int, skin: bool) -> dict[str, Any]:
    source = load("92-synthea-ordinary-patient")
    prefetch = source["prefetch"]
    pool = [e["resource"] for e in prefetch["skinObservations"]["entry"]]
    obs = []
    for i in range(observations):
        resource = copy.deepcopy(pool[i % len(pool)])
        resource["id"] = f"bench-obs-{i}"
        obs.append(resource)
    conditions = [e["resource"] for e in prefetch["conditions"].get("entry", [])][:10]
    medicines = [e["resource"] for e in prefetch["medicationRequests"].get("entry", [])][:10]
    patient_id = prefetch["patient"]["id"]
    if skin:
        skin_case = load("12-red-flag-bleeding")["prefetch"]["skinObservations"]["entry"][0][
            "resource"
        ]
        note = copy.deepcopy(skin_case)
        note["subject"] = {"reference": f"Patient/{patient_id}"}
        obs.append(note)
        milia = copy.deepcopy(
            load("01-coded-milia-adult")["prefetch"]["conditions"]["entry"][0]["resource"]
        )
        milia["subject"] = {"reference": f"Patient/{patient_id}"}
        conditions.append(milia)
    request = copy.deepcopy(source)
    request["prefetch"] = {
        "patient": prefetch["patient"],
        "conditions": bundle(conditions),
        "skinObservations": bundle(obs),
        "medicationRequests": bundle(medicines),
        "medicationStatements": bundle([]),
        "procedures": bundle([]),
    }
    return request


def varied_notes(count: int) -> list[dict[str, Any]]:
    """The 500-Observation chart with skin findings, its exam note replaced, request by request, by
    one of the annotated corpus's notes (realistic and never the same twice in a row)."""
    import yaml

    notes = []
    for path in sorted((ROOT / "fixtures" / "corpus").glob("*/*.yaml")):
        notes += [str(item["text"]).strip() for item in yaml.safe_load(path.read_text())]
    base = patient_view(500, True)
    requests = []
    for i in range(count):
        request = copy.deepcopy(base)
        entries = request["prefetch"]["skinObservations"]["entry"]
        entries[-1]["resource"]["valueString"] = notes[(i * 7) % len(notes)]
        request["hookInstance"] = f"bench-{i:04d}-0000-4000-8000-000000000000"
        requests.append(request)
    return requests


def main() -> None:
    OUT.mkdir(exist_ok=True)
    pool = OUT / "patient-view-500-obs-skin-varied-notes"
    pool.mkdir(exist_ok=True)
    for i, request in enumerate(varied_notes(POOL_SIZE)):
        (pool / f"{i}.json").write_text(json.dumps(request, separators=(",", ":")))
    print(f"{pool.name}: {POOL_SIZE} bodies")
    written = {}
    for count in (50, 500, 2000):
        for skin in (False, True):
            name = f"patient-view-{count}-obs-{'skin' if skin else 'no-skin'}"
            written[name] = patient_view(count, skin)
    written["order-sign-steroid"] = load("28-order-sign-steroid-face-long")
    written["heavy-chart"] = charts.heavy_chart(0)
    written["newborn"] = charts.newborn_chart()
    written["order-sign-long-medication-list"] = charts.order_sign_long_list()
    distinct = OUT / "heavy-chart-distinct-notes"
    distinct.mkdir(exist_ok=True)
    for i in range(POOL_SIZE):
        # Every body has its own 300 findings and milia note: no text cache can hide the reading.
        body = json.dumps(charts.heavy_chart(i + 1), separators=(",", ":"))
        (distinct / f"{i}.json").write_text(body)
    print(f"{distinct.name}: {POOL_SIZE} bodies")
    for name, request in written.items():
        (OUT / f"{name}.json").write_text(json.dumps(request, separators=(",", ":")))
        print(f"{name}: {len(json.dumps(request)) // 1024} KiB")


if __name__ == "__main__":
    main()
