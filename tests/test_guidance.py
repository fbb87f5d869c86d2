"""The guidance page: every item of cards/ has its anchor, and every card links to a section that
exists; the page is readable on a phone and printable."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask.testing import FlaskClient

from cds_service.clinical.loading import default_content_dir, load_knowledge
from tests.conftest import SCENARIOS, scenario_request

KB = load_knowledge(default_content_dir())


def page(client: FlaskClient) -> str:
    response = client.get("/guidance/milia")
    assert response.status_code == 200 and response.mimetype == "text/html"
    return response.get_data(as_text=True)


def test_every_item_of_the_knowledge_base_has_its_anchor(client: FlaskClient) -> None:
    ids = set(re.findall(r'id="([^"]+)"', page(client)))
    expected = {f"red-flag-{f.id}" for f in KB.red_flags}
    expected |= {f"mimic-{m.id}" for m in KB.mimics}
    expected |= {f"trigger-{t.id}" for t in KB.triggers}
    expected |= {f"step-{s.id}" for s in KB.management.ladder}
    expected |= {f"variant-{c.id}" for c in KB.conditions if c.kind == "variant"}
    assert expected <= ids, expected - ids


def test_every_card_links_to_a_section_of_the_page(client: FlaskClient) -> None:
    ids = set(re.findall(r'id="([^"]+)"', page(client)))
    seen = 0
    for name in SCENARIOS:
        request = scenario_request(name)
        service = {
            "patient-view": "milia-patient-view",
            "order-select": "milia-order-select",
            "order-sign": "milia-order-sign",
        }[request["hook"]]
        for card in client.post(f"/cds-services/{service}", json=request).get_json()["cards"]:
            guidance = [link for link in card["links"] if "/guidance/milia#" in link["url"]]
            assert len(guidance) == 1, card["summary"]
            assert urlsplit(guidance[0]["url"]).fragment in ids
            seen += 1
    assert seen > 100


def test_the_page_is_for_phones_and_print_and_says_its_status(client: FlaskClient) -> None:
    html = page(client)
    assert '<html lang="en">' in html
    assert 'name="viewport" content="width=device-width' in html
    assert "@media print" in html
    assert "draft, awaiting dermatology review" in html
    # Age-limited steps say who they are for.
    assert "Chemical peels, laser resurfacing or microdermabrasion</strong>" in html
    assert "(for: adult (18 years and over))" in html
