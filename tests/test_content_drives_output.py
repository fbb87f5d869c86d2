"""No clinical rule is Python: adding a look-alike or a red flag to cards/ changes the cards."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from cds_service.clinical.loading import validate_content
from tests.conftest import ROOT, build_app, searchset

PV = "/cds-services/milia-patient-view"


def request(note: str) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": "content-test",
        "context": {"userId": "Practitioner/1", "patientId": "p1"},
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1980-01-01"},
            "conditions": searchset(),
            "skinObservations": searchset(
                {
                    "resourceType": "Observation",
                    "id": "o1",
                    "status": "final",
                    "code": {"text": "Skin exam"},
                    "valueString": note,
                }
            ),
        },
    }


def cards_with(tmp_path: Path, edit: Any, note: str) -> list[dict[str, Any]]:
    cards = tmp_path / "cards"
    if not cards.exists():
        shutil.copytree(ROOT / "cards", cards)
        edit(cards)
    app = build_app(content_dir=cards)
    response = app.test_client().post(PV, json=request(note))
    assert response.status_code == 200
    result: list[dict[str, Any]] = response.get_json()["cards"]
    return result


def append(path: Path, key: str, item: dict[str, Any]) -> None:
    data = yaml.safe_load(path.read_text())
    data[key].append(item)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_a_new_mimic_is_named_once_it_is_in_the_content(tmp_path: Path) -> None:
    note = "A few milia on the cheeks; tiny shiny flat-topped papules on the forearms (lichen nitidus)."
    before = cards_with(tmp_path / "before", lambda cards: None, note)
    assert "Lichen nitidus" not in str(before)

    def add_mimic(cards: Path) -> None:
        statement = {
            "text": "Lichen nitidus forms tiny shiny flat-topped papules.",
            "cites": ["berk-bayliss-2008"],
        }
        append(
            cards / "mimics.yaml",
            "mimics",
            {
                "id": "lichen-nitidus",
                "name": "Lichen nitidus",
                "synonyms": ["lichen nitidus"],
                "features": [
                    {
                        "id": "flat-topped",
                        "label": "flat-topped papules",
                        "recognise": {"text": ["flat-topped papules"]},
                    }
                ],
                "differs": [statement],
                "action": [{"text": "Examine; biopsy if unclear.", "cites": ["berk-bayliss-2008"]}],
            },
        )

    after = cards_with(tmp_path / "after", add_mimic, note)
    # One coherent answer: the look-alike card, not beside "consistent with milia".
    assert [c["indicator"] for c in after] == ["info"]
    assert "lichen nitidus" in after[0]["summary"].lower()
    assert "Lichen nitidus" in after[0]["detail"]


def test_a_new_red_flag_escalates_once_it_is_in_the_content(tmp_path: Path) -> None:
    note = "Milia on both cheeks, intensely itchy at night."
    before = cards_with(tmp_path / "before", lambda cards: None, note)
    assert [c["indicator"] for c in before] == ["info"]

    def add_flag(cards: Path) -> None:
        append(
            cards / "red-flags.yaml",
            "red_flags",
            {
                "id": "itching",
                "name": "Itching",
                "short": "itching",
                "origin": "clinical",
                "recognise": {"text": ["itchy"]},
                "escalation": [
                    {
                        "text": "Itchy papules are not typical of milia; examine.",
                        "cites": ["berk-bayliss-2008"],
                    }
                ],
            },
        )

    after = cards_with(tmp_path / "after", add_flag, note)
    assert [c["indicator"] for c in after] == ["warning"]
    assert "itching" in after[0]["summary"]


def choose(order: list[str], alone: list[str]) -> Any:
    def edit(cards: Path) -> None:
        path = cards / "templates.yaml"
        data = yaml.safe_load(path.read_text())
        data["card_choice"] = {"order": order, "alone": alone}
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    return edit


PATIENT_VIEW_KINDS = [
    "red-flags",
    "mimic-to-rule-out",
    "neonatal-milia",
    "secondary-milia",
    "likely-milia",
    "order-caution",
]


def test_which_cards_stand_together_is_content(tmp_path: Path) -> None:
    # A look-alike beside milia: one card, the look-alike (one coherent answer). With the look-alike
    # no longer alone in templates.yaml, the milia card joins it; reordered, it comes first.
    note = "Milia on both cheeks. Separately, soft yellow papules with a central dimple on the forehead."
    before = cards_with(tmp_path / "before", lambda cards: None, note)
    assert len(before) == 1 and "sebaceous hyperplasia" in before[0]["summary"].lower()

    together = cards_with(tmp_path / "together", choose(PATIENT_VIEW_KINDS, ["red-flags"]), note)
    assert together[0]["summary"] == before[0]["summary"]
    assert together[1]["summary"].startswith("Consistent with milia")
    kinds = ["red-flags", "likely-milia", "mimic-to-rule-out", "neonatal-milia", "secondary-milia"]
    milia_first = cards_with(
        tmp_path / "reordered", choose([*kinds, "order-caution"], ["red-flags"]), note
    )
    assert [c["summary"] for c in milia_first] == [together[1]["summary"], before[0]["summary"]]


def test_a_reassuring_card_before_the_red_flags_is_refused(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    shutil.copytree(ROOT / "cards", cards)
    kinds = ["likely-milia", "red-flags", "mimic-to-rule-out", "neonatal-milia", "secondary-milia"]
    choose([*kinds, "order-caution"], ["red-flags"])(cards)
    kb, problems = validate_content(cards)
    assert kb is None
    assert any("'likely-milia' comes before 'red-flags'" in p for p in problems), problems


def infant_request(days_old: int) -> dict[str, Any]:
    body = request("Milia on the nose.")
    birth = date.today() - timedelta(days=days_old)
    body["prefetch"]["patient"]["birthDate"] = birth.isoformat()
    return body


def post(cards: Path, body: dict[str, Any], path: str = PV) -> list[dict[str, Any]]:
    app = build_app(content_dir=cards)
    response = app.test_client().post(path, json=body)
    assert response.status_code == 200
    result: list[dict[str, Any]] = response.get_json()["cards"]
    return result


def test_an_age_band_is_content(tmp_path: Path) -> None:
    # Neonatal milia last about three months (patients.yaml: first-three-months). Narrowed to the
    # first four weeks, the same six-week-old gets the ordinary milia card instead.
    cards = tmp_path / "cards"
    shutil.copytree(ROOT / "cards", cards)
    before = post(cards, infant_request(42))
    assert "newborn" in before[0]["summary"].lower()
    path = cards / "patients.yaml"
    data = yaml.safe_load(path.read_text())
    band = next(b for b in data["age_bands"] if b["id"] == "first-three-months")
    band["days_under"] = 29
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    after = post(cards, infant_request(42))
    assert after[0]["summary"].startswith("Consistent with milia")


def steroid_order(drug: str) -> dict[str, Any]:
    return {
        "hook": "order-sign",
        "hookInstance": "content-test",
        "context": {
            "userId": "Practitioner/1",
            "patientId": "p1",
            "draftOrders": searchset(
                {
                    "resourceType": "MedicationRequest",
                    "id": "d1",
                    "status": "draft",
                    "intent": "order",
                    "subject": {"reference": "Patient/p1"},
                    "medicationCodeableConcept": {"text": drug},
                    "dosageInstruction": [
                        {
                            "text": "Apply to the cheeks twice daily for 8 weeks",
                            "timing": {
                                "repeat": {
                                    "boundsDuration": {"value": 8, "unit": "wk", "code": "wk"}
                                }
                            },
                        }
                    ],
                }
            ),
        },
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1980-01-01"},
            "conditions": searchset(
                {
                    "resourceType": "Condition",
                    "id": "c1",
                    "subject": {"reference": "Patient/p1"},
                    "code": {"text": "Milia"},
                }
            ),
        },
    }


def test_a_drug_class_is_content(tmp_path: Path) -> None:
    # Desonide is a low-potency steroid: no caution. Put into the potent class (drugs.yaml, through
    # a lexicon concept), the same order gets the long-course caution.
    cards = tmp_path / "cards"
    shutil.copytree(ROOT / "cards", cards)
    sign = "/cds-services/milia-order-sign"
    assert post(cards, steroid_order("Desonide 0.05% cream"), sign) == []
    lexicon = cards / "lexicon.yaml"
    data = yaml.safe_load(lexicon.read_text())
    data["lexicon"]["concepts"].append({"id": "desonide", "terms": ["desonide"]})
    lexicon.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    drugs = cards / "drugs.yaml"
    data = yaml.safe_load(drugs.read_text())
    potent = next(d for d in data["drug_classes"] if d["id"] == "potent-topical-corticosteroids")
    potent["concepts"].append("desonide")
    drugs.write_text(yaml.safe_dump(data, sort_keys=False))
    after = post(cards, steroid_order("Desonide 0.05% cream"), sign)
    assert [c["indicator"] for c in after] == ["info"]
    assert "long potent steroid on the face" in after[0]["summary"]
