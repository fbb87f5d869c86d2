"""The clinical text reader: ConText decides what a mention really says."""

from __future__ import annotations

import pytest

from cds_service.clinical.text import TextReader, text_reader

PHRASES = frozenset(
    {
        ("milia", "condition:milia"),
        ("numerous milia", "variant:eruptive"),
        ("bleeding", "red-flag:bleeding"),
        ("bcc", "mimic:bcc"),
        ("basal cell carcinoma", "mimic:bcc"),
        ("syringoma", "mimic:syringoma"),
        ("clobetasol", "trigger:steroid"),
        ("clobetasol", "caution:steroid-face"),
    }
)


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return text_reader(PHRASES)


def statuses(reader: TextReader, text: str) -> dict[str, str]:
    return {label: m.status for m in reader.read(text) for label in m.labels}


@pytest.mark.parametrize(
    "text",
    [
        "No bleeding.",
        "Patient denies bleeding.",
        "Skin: no milia, no bleeding.",
        "Family history of BCC.",
        "Mother had basal cell carcinoma.",
        "Return if bleeding occurs.",
        "Assess for bleeding at next visit.",
    ],
)
def test_negated_family_and_hypothetical_mentions_do_not_count(
    reader: TextReader, text: str
) -> None:
    assert statuses(reader, text) == {}


@pytest.mark.parametrize(
    ("text", "label", "status"),
    [
        ("Milia on both cheeks.", "condition:milia", "present"),
        ("Lesion bleeding when touched.", "red-flag:bleeding", "present"),
        ("History of BCC excised 2019.", "mimic:bcc", "historical"),
        ("Rule out BCC.", "mimic:bcc", "uncertain"),
        ("Small papules: milia vs syringoma.", "mimic:syringoma", "uncertain"),
        ("Query milia.", "condition:milia", "uncertain"),
        (
            "<div xmlns='http://www.w3.org/1999/xhtml'>Milia &amp; bleeding</div>",
            "red-flag:bleeding",
            "present",
        ),
    ],
)
def test_status_of_a_mention(reader: TextReader, text: str, label: str, status: str) -> None:
    assert statuses(reader, text).get(label) == status


def test_a_longer_phrase_keeps_the_meaning_of_the_phrases_inside_it(reader: TextReader) -> None:
    found = statuses(reader, "Sudden appearance of numerous milia.")
    assert found == {"condition:milia": "present", "variant:eruptive": "present"}


def test_a_phrase_shared_by_two_items_names_both(reader: TextReader) -> None:
    assert set(statuses(reader, "Clobetasol 0.05% cream")) == {
        "trigger:steroid",
        "caution:steroid-face",
    }


def test_a_negation_in_one_clause_does_not_reach_the_next(reader: TextReader) -> None:
    assert statuses(reader, "No bleeding; milia on the eyelids.") == {"condition:milia": "present"}
