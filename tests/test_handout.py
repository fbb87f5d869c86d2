"""Patient handouts: one per variant and age group, in plain words (reading grade 8 or below),
printable on one page, and each card links the one that fits the patient."""

from __future__ import annotations

import re
from html import unescape

import pytest
import textstat
from flask.testing import FlaskClient

from cds_service.clinical.loading import default_content_dir, load_knowledge
from tests.conftest import scenario_request

KB = load_knowledge(default_content_dir())
PATHS = ["/handouts/milia"] + [f"/handouts/milia/{h.id}" for h in KB.handouts[1:]]


def words(html: str) -> str:
    """The handout's own text: title, headings and points (not the sources and status)."""
    main = html.split("<main>", 1)[1].split("<footer>", 1)[0]
    return unescape(re.sub(r"<[^>]+>", " ", main))


@pytest.mark.parametrize("path", PATHS)
def test_a_handout_is_plain_words_on_one_page(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    text = words(html)
    # Points are list items without a full stop at the end of every heading: read as sentences.
    sentences = re.sub(r"\s*\n\s*", ". ", text.strip())
    assert textstat.flesch_kincaid_grade(sentences) <= 8, textstat.flesch_kincaid_grade(sentences)
    assert len(text) < 2500  # one printed page
    assert '<html lang="en">' in html and "@media print" in html
    assert "draft, awaiting dermatology review" in html


def test_an_unknown_handout_is_404(client: FlaskClient) -> None:
    assert client.get("/handouts/milia/nothing-here").status_code == 404


@pytest.mark.parametrize(
    ("scenario", "handout"),
    [
        ("04-neonate-milia-text", "Milia in your baby"),
        ("07-secondary-steroid", "Milia after skin damage or a skin treatment"),
        ("03-text-only-milia", "Milia: small white bumps on the skin"),
        ("125-child-six-years-milia-cheeks", "Milia in children"),
    ],
)
def test_each_card_links_the_handout_for_its_patient(
    client: FlaskClient, scenario: str, handout: str
) -> None:
    card = client.post(
        "/cds-services/milia-patient-view", json=scenario_request(scenario)
    ).get_json()["cards"][0]
    labels = [link["label"] for link in card["links"]]
    assert f"Patient handout: {handout}" in labels, labels
    link = next(link for link in card["links"] if link["label"] == f"Patient handout: {handout}")
    path = "/" + link["url"].split("/", 3)[3]
    assert client.get(path).status_code == 200
