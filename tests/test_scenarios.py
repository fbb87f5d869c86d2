"""Every clinical scenario in fixtures/scenarios, through the HTTP endpoint, against expected.yaml.

The expectations were written by hand from the guidance; the test reads the answer the way a
clinician would: which cards, how urgent, and which red flags, look-alikes, triggers and cautions
they name (by the names in cards/).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient

from cds_service.cards import DETAIL_LIMIT
from cds_service.clinical.knowledge import KnowledgeBase
from cds_service.clinical.loading import default_content_dir, load_knowledge
from tests.conftest import FIXTURES, SCENARIOS, scenario_request

#: Left out of make check: every scenario through HTTP.
pytestmark = pytest.mark.slow

SERVICES = {
    "patient-view": "milia-patient-view",
    "order-select": "milia-order-select",
    "order-sign": "milia-order-sign",
}


def knowledge() -> KnowledgeBase:
    return load_knowledge(default_content_dir())


def names(kb: KnowledgeBase, kind: str, ids: list[str]) -> list[str]:
    items: dict[str, Any] = {
        "red_flags": {f.id: f.name for f in kb.red_flags},
        "mimics": {m.id: m.name for m in kb.mimics},
        "triggers": {t.id: t.name for t in kb.triggers},
        "cautions": {c.id: c.name for c in kb.order_cautions},
        "variants": {c.id: c.name for c in kb.conditions},
    }[kind]
    return [items[i] for i in ids]


def test_there_are_enough_scenarios() -> None:
    assert len(SCENARIOS) >= 25


def answer(client: FlaskClient, scenario: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The scenario's expected outcome and the cards the service answers through HTTP."""
    folder = Path(FIXTURES / "scenarios" / scenario)
    expected: dict[str, Any] = yaml.safe_load((folder / "expected.yaml").read_text())
    request = scenario_request(scenario)
    service = expected.get("service") or SERVICES[request["hook"]]
    response = client.post(f"/cds-services/{service}", json=request)
    assert response.status_code == 200, response.get_json()
    cards: list[dict[str, Any]] = response.get_json()["cards"]
    return expected, cards


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(client: FlaskClient, scenario: str) -> None:
    expected, cards = answer(client, scenario)

    assert [c["indicator"] for c in cards] == expected["cards"], [c["summary"] for c in cards]
    if any(c["indicator"] == "warning" for c in cards):
        assert len(cards) == 1, "no benign card may stand beside a red flag"
    text = "\n".join(c["summary"] + "\n" + c.get("detail", "") for c in cards)
    # Never a claim of absence: no card says "no red flag" in any form; the benign card says what
    # it rests on instead.
    assert "no red flag" not in text.lower()
    for card in cards:
        if card["summary"].startswith("Consistent with milia"):
            assert re.search(r" per \d+ (note|coded entr)", card["summary"]), card
    for word in expected.get("summary_contains", []):
        assert any(word in c["summary"].lower() for c in cards), word

    kb = knowledge()
    for kind in ("red_flags", "mimics", "triggers", "cautions", "variants"):
        for name in names(kb, kind, expected.get(kind, [])):
            assert name in text, f"{kind}: {name} not named"
        for name in names(kb, kind, expected.get(f"not_{kind}", [])):
            assert name not in text, f"{kind}: {name} named but should not be"
    # Management steps by name: a child never gets a step the content reserves for adults.
    steps = {s.id: s.name for s in kb.management.ladder}
    for step in expected.get("steps", []):
        assert steps[step] in text, f"step {steps[step]} not offered"
    for step in expected.get("not_steps", []):
        assert steps[step] not in text, f"step {steps[step]} offered but should not be"
    offered = {s["label"] for c in cards for s in c.get("suggestions", [])}
    for suggestion in expected.get("suggestions", []):
        assert kb.suggestions[suggestion].label in offered, suggestion
    for suggestion in expected.get("not_suggestions", []):
        assert kb.suggestions[suggestion].label not in offered, suggestion


def test_every_red_flag_mimic_trigger_and_caution_has_a_scenario() -> None:
    kb = knowledge()
    named: dict[str, set[str]] = {k: set() for k in ("red_flags", "mimics", "triggers", "cautions")}
    for scenario in SCENARIOS:
        expected = yaml.safe_load((FIXTURES / "scenarios" / scenario / "expected.yaml").read_text())
        for kind, ids in named.items():
            ids.update(expected.get(kind, []))
    assert {f.id for f in kb.red_flags} <= named["red_flags"]
    assert {m.id for m in kb.mimics} <= named["mimics"]
    assert {t.id for t in kb.triggers} <= named["triggers"]
    assert {c.id for c in kb.order_cautions} <= named["cautions"]


def test_the_referral_an_ehr_files_is_coded(client: FlaskClient) -> None:
    """The one-click referral carries SNOMED CT 3457005 (Patient referral) and the specialty, as
    text and as SNOMED CT 18803008 (Dermatologist)."""
    response = client.post(
        "/cds-services/milia-patient-view", json=scenario_request("12-red-flag-bleeding")
    )
    suggestions = [s for c in response.get_json()["cards"] for s in c.get("suggestions", [])]
    referral = next(s for s in suggestions if s.get("isRecommended"))
    resource = referral["actions"][0]["resource"]
    assert resource["resourceType"] == "ServiceRequest"
    assert {
        "system": "http://snomed.info/sct",
        "code": "3457005",
        "display": "Patient referral",
    } in (resource["code"]["coding"])
    assert resource["performerType"] == {
        "coding": [
            {"system": "http://snomed.info/sct", "code": "18803008", "display": "Dermatologist"}
        ],
        "text": "Dermatology",
    }


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_card_fits_one_screen(client: FlaskClient, scenario: str) -> None:
    # One screen (Bates et al. 2003): the rest is behind the guidance link.
    for card in answer(client, scenario)[1]:
        assert len(card["detail"]) <= DETAIL_LIMIT, (len(card["detail"]), card["summary"])


def test_a_chart_of_many_notes_still_fits_one_screen(client: FlaskClient) -> None:
    request = scenario_request("12-red-flag-bleeding")
    notes = request["prefetch"]["skinObservations"]["entry"]
    note = notes[0]["resource"]
    for index in range(12):
        copy = {**note, "id": f"{note['id']}-{index}", "effectiveDateTime": f"2026-10-{index + 10}"}
        copy["valueString"] = note["valueString"] + " Reviewed again, still bleeding when touched."
        notes.append({"resource": copy})
    card = client.post("/cds-services/milia-patient-view", json=request).get_json()["cards"][0]
    assert len(card["detail"]) <= DETAIL_LIMIT
    assert "more entries" in card["detail"]
