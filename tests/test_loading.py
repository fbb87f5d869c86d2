"""Loading the knowledge base (cds_service/clinical/loading.py): the shipped content loads, and a
missing file, a key defined in two files or a file that is not a mapping is named with its file and
line."""

from __future__ import annotations

from pathlib import Path

from cds_service.clinical.loading import validate_content
from tests.content_copies import CARDS, check, copy_cards


def test_shipped_content_is_valid() -> None:
    kb, problems = validate_content(CARDS)
    assert problems == []
    assert kb is not None
    result = check(CARDS)
    assert result.returncode == 0, result.stdout
    assert f"content {kb.meta.content_version}" in result.stdout


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    cards = copy_cards(tmp_path)
    (cards / "triggers.yaml").unlink()
    result = check(cards)
    assert f"{cards / 'triggers.yaml'}:1: missing content file" in result.stdout


def test_a_key_defined_in_two_files_and_a_file_that_is_not_a_mapping_are_named(
    tmp_path: Path,
) -> None:
    cards = copy_cards(tmp_path)
    sites = cards / "sites.yaml"
    text = sites.read_text()
    sites.write_text(text + "mimics: []\n")
    _, problems = validate_content(cards)
    assert problems == [f"{sites}:{text.count(chr(10)) + 1}: 'mimics' is defined twice"]
    sites.write_text("- a list, not a mapping\n")
    _, problems = validate_content(cards)
    assert problems == [f"{sites}:1: the file must hold a mapping of top-level keys"]
