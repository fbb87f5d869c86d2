"""The reviewers' gallery: every scenario as a page with its expected outcome, what was read and
the cards as the sandbox shows them; the guidance page and handouts beside them."""

from __future__ import annotations

import re
from pathlib import Path

from cds_service.cli import main
from tests.conftest import FIXTURES

SCENARIOS = sorted(
    p.name for p in (FIXTURES / "scenarios").iterdir() if (p / "expected.yaml").is_file()
)


def test_the_gallery_shows_every_scenario_as_the_sandbox_would(
    tmp_path: Path, capsys: object
) -> None:
    site = tmp_path / "gallery"
    assert main(["gallery", str(site), "--scenarios", str(FIXTURES / "scenarios")]) == 0
    index = (site / "index.html").read_text()
    for name in SCENARIOS:
        assert f'href="scenarios/{name}.html"' in index
        assert (site / "scenarios" / f"{name}.html").is_file()
    # Every scenario gives the cards its expected.yaml asks for (the scenario tests say the same).
    assert f"{len(SCENARIOS)} of {len(SCENARIOS)} scenarios give the cards expected" in index
    bleeding = (site / "scenarios" / "12-red-flag-bleeding.html").read_text()
    assert 'class="card card-warning"' in bleeding
    assert "<strong>Red flags in the record</strong>" in bleeding  # markdown rendered, not raw
    assert "<button" in bleeding and "Refer to dermatology" in bleeding
    assert "Red flags: Bleeding or crusting" in bleeding  # what the service read
    silent = (site / "scenarios" / "22-negated-milia.html").read_text()
    assert "No card: the service stays silent." in silent
    for page in ("guidance.html", "handouts/milia.html", "handouts/newborn.html"):
        assert (site / page).is_file()
    for href in re.findall(r'href="([^"#]+)"', index):
        if not href.startswith("http"):
            assert (site / href).is_file(), href
