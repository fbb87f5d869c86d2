"""Loading the knowledge base (cds_service/clinical/loading.py): the shipped content loads, and a
missing file, a key defined in two files or a file that is not a mapping is named with its file and
line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cds_service.clinical.loading import load_knowledge, validate_content
from cds_service.errors import ContentError
from tests.content_copies import CARDS, check, copy_cards, edit


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


def test_content_changed_after_a_load_is_read_and_checked_again(tmp_path: Path) -> None:
    # A process loads its content once per change (apps built on the same files share it), but
    # a file changed on disk is new content: never the knowledge base read before it.
    cards = copy_cards(tmp_path)
    shipped = load_knowledge(cards).meta.content_version
    edit(
        cards / "meta.yaml",
        f'content_version: "{re.escape(shipped)}"',
        'content_version: "9999.1.0"',
    )
    assert load_knowledge(cards).meta.content_version == "9999.1.0"
    edit(cards / "meta.yaml", 'content_version: "9999.1.0"', "content_version: [not, text]")
    with pytest.raises(ContentError, match=r"meta\.yaml"):
        load_knowledge(cards)
