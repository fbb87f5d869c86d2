"""Processor time of hostile notes through the whole hook (in-process, default settings).

The tests assert only that each is answered (tests/test_hostile_input.py); how long each takes is
measured here:

    .venv/bin/python bench/hostile_input.py   # prints a Markdown table
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cds_service.app import create_app
from cds_service.settings import Settings
from tests.conftest import scenario_request

EXAM = (
    "Full skin exam. Scalp: clear. Face: several 1-2 mm milia below both eyes, no bleeding. "
    "Trunk: multiple SKs; 7 mm nevus L scapula, unchanged. "
)
CASES = {
    "60 KB of one punctuation character": "." * 60_000,
    "60 KB of digits": "7" * 60_000,
    "60 KB of 'no '": "no " * 20_000,
    "60 KB of 'no x, '": "no x, " * 10_000,
    "60 KB of '3 mm '": "3 mm " * 12_000,
    "200 KB ordinary skin exam": EXAM * (200_000 // len(EXAM)),
    "200 KB of one colon": ":" * 200_000,
    "20 KB medication text of colons": "",
}


def main() -> None:
    app = create_app(Settings(database_url="sqlite://", auth_mode="development"))
    client = app.test_client()
    base = scenario_request("03-text-only-milia")
    print("| Note | Status | Processor time (s) |\n|---|---|---|")
    for name, text in CASES.items():
        request = copy.deepcopy(base)
        note = request["prefetch"]["skinObservations"]["entry"][0]["resource"]
        note["valueString"] = "Milia on the nose. " + text
        if not text:  # the medication list: read through its own path (names, sites)
            patient = request["context"]["patientId"]
            medication = {
                "resourceType": "MedicationRequest",
                "id": "m1",
                "status": "active",
                "intent": "order",
                "subject": {"reference": f"Patient/{patient}"},
                "medicationCodeableConcept": {"text": "tretinoin " + ":" * 20_000},
                "dosageInstruction": [{"text": ":" * 20_000}],
            }
            request["prefetch"]["medicationRequests"] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": medication}],
            }
        started = time.process_time()
        response = client.post("/cds-services/milia-patient-view", json=request)
        print(f"| {name} | {response.status_code} | {time.process_time() - started:.2f} |")


if __name__ == "__main__":
    main()
