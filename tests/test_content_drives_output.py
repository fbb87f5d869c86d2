"""No clinical rule is Python: adding a look-alike or a red flag to cards/ changes the cards."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from cds_service.app import create_app
from cds_service.settings import Settings
from tests.conftest import ROOT, ContractClient, searchset

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
    app = create_app(Settings(database_url="sqlite://", content_dir=cards))
    app.test_client_class = ContractClient
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
    assert [c["indicator"] for c in after] == ["info", "info"]
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


def test_which_cards_stand_together_is_content(tmp_path: Path) -> None:
    # A look-alike beside milia: two cards, the look-alike first. Reordered and made to stand
    # alone in templates.yaml, the same record gives the milia card first, or the look-alike alone.
    note = "Milia on both cheeks. Separately, soft yellow papules with a central dimple on the forehead."
    before = cards_with(tmp_path / "before", lambda cards: None, note)
    assert len(before) == 2 and "sebaceous hyperplasia" in before[0]["summary"].lower()

    def choose(order: list[str], alone: list[str]) -> Any:
        def edit(cards: Path) -> None:
            path = cards / "templates.yaml"
            data = yaml.safe_load(path.read_text())
            data["card_choice"] = {"order": order, "alone": alone}
            path.write_text(yaml.safe_dump(data, sort_keys=False))

        return edit

    kinds = ["red-flags", "likely-milia", "mimic-to-rule-out", "neonatal-milia", "secondary-milia"]
    milia_first = cards_with(tmp_path / "reordered", choose(kinds, ["red-flags"]), note)
    assert [c["summary"] for c in milia_first] == [before[1]["summary"], before[0]["summary"]]
    mimic_kinds = [
        "red-flags",
        "mimic-to-rule-out",
        "neonatal-milia",
        "secondary-milia",
        "likely-milia",
    ]
    alone = cards_with(
        tmp_path / "alone", choose(mimic_kinds, ["red-flags", "mimic-to-rule-out"]), note
    )
    assert [c["summary"] for c in alone] == [before[0]["summary"]]
