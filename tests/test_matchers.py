"""The term matcher: sequences of positions (as built from lexicon terms) are found in spaCy docs as
(key, start, end), whether spelled out into phrases (case-insensitive, or case-sensitive as written)
or kept as token patterns (numbers, regular expressions, too many spellings); and the words a
match can begin with, for the relevance pre-filter."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from cds_service.clinical.matchers import PhraseIndex, TermMatcher
from cds_service.clinical.terms import Position


@pytest.fixture(scope="module")
def nlp() -> Any:
    """spaCy's blank English pipeline (its CLI imports trip a click deprecation warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import spacy
    return spacy.blank("en")


def lower(*words: str) -> Position:
    return ("LOWER", frozenset(words))


def found(matcher: TermMatcher, nlp: Any, text: str) -> list[tuple[str, str]]:
    """(key, matched words) of every match in ``text``, in the order of the text."""
    doc = nlp.make_doc(text)
    return [
        (key, doc[start:end].text) for key, start, end in sorted(matcher(doc), key=lambda m: m[1:])
    ]


def test_every_spelling_of_a_sequence_is_found_in_any_case(nlp: Any) -> None:
    matcher = TermMatcher(nlp)
    bleeding: list[Position | None] = [
        lower("bleed", "bleeds", "bled", "bleeding"),
        lower("easily"),
    ]
    matcher.add_sequences("bleeding", [bleeding, bleeding])  # the same sequence twice
    matcher.add_sequences("site", [[lower("cheek", "cheeks")]])
    text = "Milium on the CHEEK, Bled easily; bleeds easily now. Bleeding from cheeks."
    assert found(matcher, nlp, text) == [
        ("site", "CHEEK"),
        ("bleeding", "Bled easily"),
        ("bleeding", "bleeds easily"),
        ("site", "cheeks"),
    ]
    assert set(matcher.ends()) == {"bleed", "bleeds", "bled", "bleeding", "cheek", "cheeks"}
    assert matcher.any_first() == frozenset()


def test_a_case_sensitive_abbreviation_matches_only_as_written(nlp: Any) -> None:
    matcher = TermMatcher(nlp)
    matcher.add_sequences("bcc", [[lower("history"), lower("of"), lower("bcc")]])
    matcher.add_sequences("bcc", [[("ORTH", frozenset({"BCC", "BCCs"}))]])
    assert found(matcher, nlp, "Two BCCs excised.") == [("bcc", "BCCs")]
    assert found(matcher, nlp, "bcc? Bcc") == []
    assert found(matcher, nlp, "History of BCC.") == [("bcc", "History of BCC"), ("bcc", "BCC")]
    assert set(matcher.ends()) == {"history", "bcc", "bccs"}  # lower-cased


def test_a_number_position_matches_any_number(nlp: Any) -> None:
    matcher = TermMatcher(nlp)
    matcher.add_sequences("count", [[None, lower("papule", "papules")]])
    assert found(matcher, nlp, "3 papules and twelve papules, no papule.") == [
        ("count", "3 papules"),
        ("count", "twelve papules"),
    ]
    # A match can begin with any number: the pre-filter cannot list its first words.
    matcher.add_sequences("site", [[lower("cheek")]])
    assert matcher.any_first() == {"count"}
    assert set(matcher.ends()) == {"cheek"}


def test_token_patterns_are_kept_as_they_are(nlp: Any) -> None:
    matcher = TermMatcher(nlp)
    matcher.add_patterns("SIZE", [[{"TEXT": {"REGEX": r"^\d+(\.\d+)?$"}}, {"LOWER": "mm"}]])
    assert found(matcher, nlp, "A 1.5 mm papule, 2 MM, 3 cm.") == [
        ("SIZE", "1.5 mm"),
        ("SIZE", "2 MM"),
    ]
    assert matcher.any_first() == {"SIZE"}


def test_a_sequence_with_too_many_spellings_is_still_found(nlp: Any) -> None:
    # 8 ** 5 = 32,768 spellings: too many to spell out, so it stays one token pattern.
    place: list[Position | None] = [lower(*(f"w{i}{j}" for j in range(8))) for i in range(5)]
    matcher = TermMatcher(nlp)
    matcher.add_sequences("many", [place])
    assert found(matcher, nlp, "then w03 w17 w20 w35 w46 here") == [("many", "w03 w17 w20 w35 w46")]
    assert found(matcher, nlp, "w03 w17 w20 w35") == []
    assert set(matcher.ends()) == {f"w0{j}" for j in range(8)}
    assert matcher.any_first() == frozenset()


def test_each_first_word_lists_the_words_its_matches_can_end_with(nlp: Any) -> None:
    matcher = TermMatcher(nlp)
    matcher.add_sequences("bleeding", [[lower("bleeds", "bled"), lower("easily")]])
    matcher.add_sequences("bcc", [[lower("history"), lower("of"), ("ORTH", frozenset({"BCC"}))]])
    matcher.add_sequences("count", [[lower("papules"), None]])  # "papules x 6": any number ends it
    matcher.add_sequences("milia", [[lower("milium", "milia")]])  # one word ends with itself
    assert matcher.ends() == {
        "milium": {"milium"},
        "milia": {"milia"},
        "bleeds": {"easily"},
        "bled": {"easily"},
        "history": {"bcc"},  # lower-cased, as the pre-filter's words are
        "papules": None,
    }


def test_the_phrase_index_finds_every_phrase_at_every_place_once_per_key() -> None:
    index = PhraseIndex()
    assert not index
    index.add("bcc", [("basal", "cell", "carcinoma"), ("basal", "cell", "carcinoma")])
    index.add("cell", [("cell",), ("basal", "cell")])
    index.add("growth", [("basal", "cell")])  # the same phrase under another key
    words = ["h/o", "basal", "cell", "carcinoma", ";", "basal", "cell"]
    assert sorted(index.find(words), key=lambda m: (m[1], m[2], m[0])) == [
        ("cell", 1, 3),
        ("growth", 1, 3),
        ("bcc", 1, 4),
        ("cell", 2, 3),
        ("cell", 5, 7),
        ("growth", 5, 7),
        ("cell", 6, 7),
    ]
    assert index.find(["basal"]) == []  # a phrase longer than what is left is not looked up
