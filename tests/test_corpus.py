"""The evaluation corpus (cds_service/corpus.py): a corpus in the format of fixtures/corpus/README.md
loads into items of both halves; ``evaluate`` scores what the service reads against the annotation
and ``targets_met`` names each target missed; a malformed item is a CorpusError naming its file and
item."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cds_service.clinical.findings import RecordReader
from cds_service.clinical.knowledge import KnowledgeBase
from cds_service.clinical.loading import default_content_dir, load_knowledge
from cds_service.clinical.text import text_reader
from cds_service.clinical.vocabulary import Vocabulary
from cds_service.corpus import CorpusError, evaluate, load_corpus, targets_met

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)

DEV = """\
- id: dev-t-bleeding-1
  written_for: bleeding-or-crusting
  kind: positive
  style: dermatology
  age: 67 years
  text: |
    Two milia on the left cheek; one of them has bled twice this month.
  expect: [milia, bleeding-or-crusting]
- id: dev-t-plain-1
  written_for: milia
  kind: plain
  style: primary-care
  age: 30 years
  text: Three tiny milia on the upper cheeks, no change, no symptoms.
  expect: [milia]
"""

HELDOUT = """\
- id: ho-t-newborn-1
  written_for: milia
  kind: plain
  style: problem-list
  age: 3 weeks
  text: Milia
  expect: [milia]
  variant: neonatal-milia
"""

#: Annotated as bleeding, but the text says nothing of it: the service cannot find the red flag.
MISSED = """\
- id: ho-t-missed-1
  written_for: bleeding-or-crusting
  kind: positive
  style: dermatology
  age: 50 years
  text: Milia on the nose.
  expect: [milia, bleeding-or-crusting]
"""


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge(default_content_dir())


@pytest.fixture(scope="module")
def reader(kb: KnowledgeBase) -> RecordReader:
    vocabulary = Vocabulary(kb)
    return RecordReader(vocabulary, text_reader(kb, frozenset(vocabulary.phrases())))


def write_corpus(root: Path, dev: str = DEV, heldout: str = HELDOUT) -> Path:
    for half, text in (("dev", dev), ("heldout", heldout)):
        (root / half).mkdir(parents=True, exist_ok=True)
        (root / half / "notes.yaml").write_text(text, encoding="utf-8")
    return root


def test_a_small_corpus_loads_into_items_of_both_halves(tmp_path: Path, kb: KnowledgeBase) -> None:
    items = load_corpus(write_corpus(tmp_path), kb)
    assert [(i.id, i.half) for i in items] == [
        ("dev-t-bleeding-1", "dev"),
        ("dev-t-plain-1", "dev"),
        ("ho-t-newborn-1", "heldout"),
    ]
    bleeding, _, newborn = items
    assert bleeding.expect == frozenset({"milia", "bleeding-or-crusting"})
    assert bleeding.text == "Two milia on the left cheek; one of them has bled twice this month."
    assert bleeding.age_days == round(67 * 365.25)
    assert bleeding.variant is None
    assert (newborn.age_days, newborn.style, newborn.variant) == (
        21,
        "problem-list",
        "neonatal-milia",
    )


def test_evaluate_scores_a_tiny_corpus_and_its_targets_are_met(
    tmp_path: Path, kb: KnowledgeBase, reader: RecordReader
) -> None:
    report = evaluate(load_corpus(write_corpus(tmp_path), kb), reader, kb, NOW)
    red_flags = report.total("dev", "red-flag")
    assert (red_flags.tp, red_flags.fn, red_flags.fp) == (1, 0, 0)
    assert report.score("dev", "bleeding-or-crusting").sensitivity == 1.0
    milia = report.total("heldout", "milia")
    assert (milia.tp, milia.fn) == (1, 0)
    assert report.score("heldout", "neonatal-milia").tp == 1
    assert report.misses == []
    assert targets_met(report) == []


def test_a_missed_red_flag_is_reported_and_fails_its_target(
    tmp_path: Path, kb: KnowledgeBase, reader: RecordReader
) -> None:
    items = load_corpus(write_corpus(tmp_path, heldout=MISSED), kb)
    report = evaluate(items, reader, kb, NOW)
    assert [(item.id, concept, what) for item, concept, what in report.misses] == [
        ("ho-t-missed-1", "bleeding-or-crusting", "missed")
    ]
    assert report.total("heldout", "red-flag").sensitivity == 0.0
    assert targets_met(report) == ["red-flag sensitivity heldout 0.0 % < 95 %"]


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (("  age: 30 years\n", ""), "missing age"),
        (("  age: 30 years", "  age: thirty"), "age 'thirty' is not like '12 days' or '67 years'"),
        (("expect: [milia]\n", "expect: [milia, warts]\n"), "unknown concept warts"),
        (("id: dev-t-plain-1", "id: dev-t-bleeding-1"), "duplicate id"),
    ],
)
def test_a_malformed_item_is_named_by_file_and_item(
    tmp_path: Path, kb: KnowledgeBase, edit: tuple[str, str], problem: str
) -> None:
    old, new = edit
    assert DEV.count(old) == 1  # each edit breaks the second item only
    dev = DEV.replace(old, new)
    root = write_corpus(tmp_path, dev=dev)
    item = "dev-t-bleeding-1" if "duplicate" in problem else "dev-t-plain-1"
    with pytest.raises(CorpusError) as caught:
        load_corpus(root, kb)
    assert str(caught.value) == f"{root / 'dev' / 'notes.yaml'}: item {item}: {problem}"
