"""Honest provenance: the content's status as it is, peer-reviewed sources first, unverified
references never linked as if verified."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import yaml
from flask.testing import FlaskClient

from cds_service import cards
from cds_service.clinical.loading import default_content_dir, load_knowledge, validate_content
from tests.conftest import ROOT, scenario_request

PV = "/cds-services/milia-patient-view"


def test_cards_and_pages_say_the_content_awaits_dermatology_review(client: FlaskClient) -> None:
    card = client.post(PV, json=scenario_request("12-red-flag-bleeding")).get_json()["cards"][0]
    footer = card["detail"].splitlines()[-1]
    assert "(draft, awaiting dermatology review)" in footer
    assert "reviewed 20" not in footer  # never "reviewed" before a clinician has
    page = client.get("/handouts/milia").get_data(as_text=True)
    assert "draft, awaiting dermatology review" in page


def test_peer_reviewed_sources_are_cited_first(client: FlaskClient) -> None:
    card = client.post(PV, json=scenario_request("12-red-flag-bleeding")).get_json()["cards"][0]
    references = card["detail"].split("**References**", 1)[1]
    first = re.search(r"^1\. (.*)$", references, re.MULTILINE)
    assert first and "J Am Acad Dermatol" in first.group(1)


def test_an_unverified_reference_is_never_linked_as_if_verified(client: FlaskClient) -> None:
    card = client.post(PV, json=scenario_request("04-neonate-milia-text")).get_json()["cards"][0]
    link = next(link for link in card["links"] if "Sachdeva" in link["label"])
    assert "unverified" in link["label"] and "doi.org" not in link["url"]
    # In a card's numbered references, an unverified citation says so and links only a search.
    kb = load_knowledge(default_content_dir())
    listed = cards._cited(kb.reference("sachdeva-2009"))
    assert listed.endswith("(citation not verified)") and "http" not in listed


def test_a_recorded_sign_off_changes_what_cards_say(tmp_path: Path) -> None:
    content = tmp_path / "cards"
    shutil.copytree(ROOT / "cards", content)
    path = content / "meta.yaml"
    data = yaml.safe_load(path.read_text())
    data["meta"]["status"] = "reviewed"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    kb, problems = validate_content(content)
    assert kb is None and any("needs a sign_off" in p for p in problems), problems
    data["meta"]["sign_off"] = {"role": "Consultant dermatologist", "date": date.today()}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    kb, problems = validate_content(content)
    assert kb is not None, problems
    assert kb.meta.provenance == (
        f"reviewed: reviewed by a consultant dermatologist on {date.today().isoformat()}"
    )
