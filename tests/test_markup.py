"""Record text cannot become markup in a card: links, images, HTML and autolinks stay inert."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from markdown_it import MarkdownIt

from cds_service.markup import inert
from tests.conftest import searchset

#: GitHub-flavoured markdown as EHRs render it: CommonMark, tables, strikethrough, autolinks.
GFM = MarkdownIt("gfm-like")

HOSTILE = [
    "[click](https://evil.example/phish)",
    "![x](https://evil.example/pixel.png)",
    "<img src=x onerror=alert(1)>",
    "<a href='https://evil.example'>open</a>",
    "https://evil.example/auto",
    "www.evil.example",
    "**bold** _it_ `code` ~~gone~~",
    "line one\n# heading\n- item",
    "<script>alert(1)</script>",
    "refill at evil.com/phish or email rx@evil.com",
    "mailto:a@evil.com",
    "evil.co.uk",
    "wWw.evil.com",
    "http\uff1a//evil.com",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_inert_text_renders_as_its_own_characters(text: str) -> None:
    html = GFM.render(inert(text))
    assert "<a " not in html and "<img" not in html and "<script" not in html
    assert "<strong>" not in html and "<em>" not in html and "<h1>" not in html
    # The characters a clinician reads are the characters written (line breaks become spaces).
    shown = re.sub(r"<[^>]+>", "", html).replace("\u200b", "")
    expected = re.sub(r"\s+", " ", text).strip()
    unescaped = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert unescaped.replace("&quot;", '"').strip() == expected


def test_long_record_text_is_shortened() -> None:
    assert len(inert("x" * 5000)) == 200


def chart(drug_text: str) -> dict[str, Any]:
    """Milia, and a long course of a potent steroid whose text the EHR took from a free-text field:
    the secondary-milia card names the medication as the record writes it."""
    return {
        "hook": "patient-view",
        "hookInstance": "markup-test",
        "context": {"userId": "Practitioner/1", "patientId": "p1"},
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
            "skinObservations": searchset(),
            "medicationRequests": searchset(
                {
                    "resourceType": "MedicationRequest",
                    "id": "m1",
                    "status": "active",
                    "intent": "order",
                    "subject": {"reference": "Patient/p1"},
                    "authoredOn": "2025-01-01",
                    "medicationCodeableConcept": {
                        "coding": [{"system": "http://www.whocc.no/atc", "code": "D07AD01"}],
                        "text": drug_text,
                    },
                    "dosageInstruction": [
                        {"text": "Apply to the face", "route": {"text": "Topical"}}
                    ],
                }
            ),
        },
    }


@pytest.mark.parametrize("text", HOSTILE)
def test_a_medication_text_from_the_record_cannot_render_as_markup(
    client: FlaskClient, text: str
) -> None:
    response = client.post("/cds-services/milia-patient-view", json=chart(f"Clobetasol {text}"))
    cards = response.get_json()["cards"]
    assert "Clobetasol" in cards[0]["detail"], "the card names the medication as recorded"
    for card in cards:
        html = GFM.render(card["detail"])
        links = re.findall(r'<a href="([^"]+)"', html)
        assert not any("evil" in link for link in links), links
        assert "<img" not in html and "<script" not in html and "<h1>" not in html
        assert all("evil" not in link["url"] for link in card.get("links", []))
