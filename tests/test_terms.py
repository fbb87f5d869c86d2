"""Lexicon terms as token patterns: the term syntax (alternatives, optional words, numbers, concept
references), inflection of each word, abbreviations standing for their expansion, the spaCy patterns
built from them, and the TermError messages a reviewer sees for a term that cannot be read."""

from __future__ import annotations

import pytest

from cds_service.clinical.terms import (
    Position,
    Shorthand,
    Slot,
    TermError,
    forms,
    noun_forms,
    parse,
    sequences,
    token_pattern,
    with_shorthand,
)
from cds_service.errors import CDSError


def words(text: str) -> list[str]:
    """A tokenizer as spaCy's reads terms: words split at spaces, a hyphen its own token."""
    return text.replace("-", " - ").split()


def spelled(sequence: list[Position | None]) -> list[set[str] | None]:
    """The values of each position of a sequence (None for a number)."""
    return [None if p is None else set(p[1]) for p in sequence]


def test_a_term_is_read_into_slots_of_alternatives_optional_words_and_numbers() -> None:
    slots = parse("Change in|of size? #", words, {})
    assert slots == [
        Slot((("change",),)),
        Slot((("in",), ("of",))),
        Slot((("size",),), optional=True),
        Slot((), number=True),
    ]


def test_a_concept_reference_brings_the_concepts_one_word_terms() -> None:
    concepts = {"lid": ["eyelid", "lid|lids", "lower lid", "margin?"]}
    (slot,) = parse("<lid>", words, concepts)
    # "lower lid" has two words and stays out; the "?" of a term is not part of the word.
    assert slot.choices == (("eyelid",), ("lid",), ("lids",), ("margin",))


@pytest.mark.parametrize(
    ("term", "concepts", "message"),
    [
        ("bleeding <nowhere>", {}, "'<nowhere>' names no concept of the lexicon"),
        ("bleeding |", {}, "empty alternative in '|'"),
        ("near <sites>", {"sites": ["lower lid"]}, "empty alternative in '<sites>'"),
        ("   ", {}, "empty term"),
        ("dx?", {}, "every word of 'dx?' is optional ('?' after a word makes it optional)"),
        (
            "years ago|yrs ago|in the past",
            {},
            "'ago' is an alternative in two places of 'years ago|yrs ago|in the past': '|' joins"
            " single words ('a b|c d' is a, then b or c, then d); write each phrase as a term",
        ),
    ],
)
def test_a_term_that_cannot_be_read_says_what_is_wrong(
    term: str, concepts: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(TermError) as raised:
        parse(term, words, concepts)
    assert raised.value.message == message
    # pydantic reports a ValueError raised in a validator with the content's file and line.
    assert isinstance(raised.value, ValueError)
    assert isinstance(raised.value, CDSError)


def test_words_are_inflected_as_verbs_or_as_nouns_or_kept_as_written() -> None:
    assert {"crust", "crusts", "crusted", "crusting"} <= forms("crust")
    assert noun_forms("crust") == {"crust", "crusts"}
    assert noun_forms("cheek") == {"cheek", "cheeks"}
    # Function words, sides, short words and words with marks are kept as written.
    assert forms("lower") == {"lower"}
    assert forms("mm") == {"mm"}
    assert forms("h/o") == {"h/o"}
    slots = parse("=bleed", words, {})
    assert [spelled(s) for s in sequences(slots)] == [[{"bleed"}]]


def test_sequences_spell_out_optional_words_and_multi_word_alternatives() -> None:
    slots = parse("getting? bigger|larger|pea-sized", words, {})
    found = [spelled(s) for s in sequences(slots, inflect=False)]
    assert found == [
        [{"getting"}, {"bigger", "larger"}],
        [{"getting"}, {"pea"}, {"-"}, {"sized"}],
        [{"bigger", "larger"}],
        [{"pea"}, {"-"}, {"sized"}],
    ]
    # Plurals only for nouns; a number position stays a number.
    (noun,) = sequences(parse("# cheek", words, {}), inflect="noun")
    assert spelled(noun) == [None, {"cheek", "cheeks"}]
    # A term spelling out too many alternatives is cut short.
    many = " ".join(["pea-sized|small"] * 7)  # two ways at each of 7 places: 128
    assert len(sequences(parse(many, words, {}), inflect=False)) == 64


def test_an_abbreviation_stands_for_its_expansion_and_builds_spacy_patterns() -> None:
    (sequence,) = sequences(parse("h/o basal cell carcinoma", words, {}), inflect=False)
    bcc = Shorthand(("bcc",), ("basal", "cell", "carcinoma"), case_sensitive=True)
    original, short = with_shorthand(sequence, [bcc])
    assert original == sequence
    # A case-sensitive abbreviation matches on ORTH in capitals, and takes a plural.
    assert token_pattern(short) == [{"LOWER": "h/o"}, {"ORTH": {"IN": ["BCC", "BCCs"]}}]
    assert token_pattern([None, ("LOWER", frozenset({"mm"}))]) == [
        {"LIKE_NUM": True},
        {"LOWER": "mm"},
    ]
    # An expansion that is not in the sequence gives no variant.
    scc = Shorthand(("scc",), ("squamous", "cell", "carcinoma"), case_sensitive=False)
    assert with_shorthand(sequence, [scc]) == [sequence]


def test_a_word_cut_short_may_be_written_with_its_full_stop() -> None:
    (sequence,) = sequences(parse("porphyria cutanea tarda", words, {}), inflect=False)
    cut = Shorthand(("cut",), ("cutanea",), case_sensitive=False)
    patterns = [token_pattern(v) for v in with_shorthand(sequence, [cut])]
    assert [
        {"LOWER": "porphyria"},
        {"LOWER": {"IN": ["cut", "cuts"]}},
        {"ORTH": "."},
        {"LOWER": "tarda"},
    ] in patterns
    # Not an acronym's (its stop ends a sentence), nor at the end of the term (nothing follows).
    (bcc_term,) = sequences(parse("basal cell carcinoma excised", words, {}), inflect=False)
    bcc = Shorthand(("bcc",), ("basal", "cell", "carcinoma"), case_sensitive=False)
    assert len(with_shorthand(bcc_term, [bcc])) == 2
    (ending,) = sequences(parse("skin ulcer", words, {}), inflect=False)
    ulc = Shorthand(("ulc",), ("ulcer",), case_sensitive=False)
    assert len(with_shorthand(ending, [ulc])) == 2


def test_every_abbreviation_that_fits_gives_a_variant_in_the_order_of_the_content() -> None:
    (sequence,) = sequences(parse("basal cell carcinoma or squamous cell carcinoma", words, {}))
    scc = Shorthand(("scc",), ("squamous", "cell", "carcinoma"), case_sensitive=False)
    bcc = Shorthand(("bcc",), ("basal", "cell", "carcinoma"), case_sensitive=False)
    aka = Shorthand(("aka",), ("also", "known", "as"), case_sensitive=False)
    original, short_scc, short_bcc = with_shorthand(sequence, [aka, scc, bcc])
    assert original == sequence
    assert [sorted(p[1]) for p in short_scc if p][3:] == [["or"], ["scc", "sccs"]]
    assert [sorted(p[1]) for p in short_bcc if p][:2] == [["bcc", "bccs"], ["or"]]
