"""Long names written with one slip (cds_service/clinical/spelling.py); the reader's use of it is
tested in test_text.py ("penicilamine" in a note)."""

from __future__ import annotations

import pytest

from cds_service.clinical.spelling import NearWords

NAMES = ["penicillamine", "fluorouracil", "dermabrasion", "cryotherapy", "friction", "fraction"]


@pytest.fixture(scope="module")
def near() -> NearWords:
    return NearWords(NAMES, words=["fractional", "cryo"])


@pytest.mark.parametrize(
    ("word", "name"),
    [
        ("penicilamine", "penicillamine"),  # a letter dropped
        ("fluorourracil", "fluorouracil"),  # a letter added
        ("dermabraison", "dermabrasion"),  # two letters swapped
        ("cryothorapy", "cryotherapy"),  # a letter changed
        ("Penicilamine", "penicillamine"),  # whatever the case
    ],
)
def test_a_word_one_slip_from_a_long_name_is_read_as_it(
    near: NearWords, word: str, name: str | None
) -> None:
    assert near.name_for(word) == name


@pytest.mark.parametrize(
    "word",
    [
        "penicillamine",  # the name itself needs no correcting
        "fractional",  # a word of the knowledge base
        "frection",  # one slip from "friction" and from "fraction": two names, no choice
        "xenicillamine",  # a slip in the first letters is not followed
        "penicillamixx",  # nor two slips
        "cryo",  # short words are left alone
    ],
)
def test_other_words_are_left_as_they_are(near: NearWords, word: str) -> None:
    assert near.name_for(word) is None


def test_corrections_name_each_slip_in_a_set_of_words(near: NearWords) -> None:
    words = {"long", "term", "penicilamine", "and", "dermabraison", "2", "years"}
    assert near.corrections(words) == {
        "penicilamine": "penicillamine",
        "dermabraison": "dermabrasion",
    }
