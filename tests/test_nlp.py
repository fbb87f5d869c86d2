"""The spaCy/medspaCy pipeline built from the shipped knowledge base, and the plain-text helpers
around it: which ConText cues reach a word (negated, historical, possible), where sentences end,
how shorthand is tokenized, and how a note is normalised and cut into passages before reading."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.clinical.loading import default_content_dir, load_knowledge
from cds_service.clinical.nlp import (
    build_pipeline,
    normalise,
    passages,
    plain_text,
    questions,
    scopes,
    sentence_index,
)
from tests.conftest import fresh_interpreter

CATEGORIES = {"NEGATED_EXISTENCE", "HISTORICAL", "POSSIBLE_EXISTENCE", "HYPOTHETICAL", "FAMILY"}


@pytest.fixture(scope="module")
def nlp() -> Any:
    return build_pipeline(load_knowledge(default_content_dir()))


def context(nlp: Any, text: str, word: str) -> set[str]:
    """The ConText categories whose scope reaches the first token ``word`` of the note."""
    doc = nlp(normalise(text))
    (at,) = [t.i for t in doc if t.text == word][:1]
    return {
        category
        for category in CATEGORIES
        for start, end in scopes(doc, {category})
        if start <= at < end
    }


@pytest.mark.parametrize(
    ("text", "word", "expected"),
    [
        ("No milia seen on the face.", "milia", {"NEGATED_EXISTENCE"}),
        ("Skin: no milia", "milia", {"NEGATED_EXISTENCE"}),  # a heading, then a negation
        ("Milia: not seen", "Milia", {"NEGATED_EXISTENCE"}),  # the lexicon's backward cue
        ("Milia have resolved.", "Milia", {"HISTORICAL"}),
        ("?milia on the cheek", "milia", {"POSSIBLE_EXISTENCE"}),
        ("Milia on the cheek, tender.", "Milia", set()),
        ("Milia since birth.", "Milia", set()),  # "since" is not "because" here
    ],
)
def test_context_cues_reach_the_words_they_modify(
    nlp: Any, text: str, word: str, expected: set[str]
) -> None:
    assert context(nlp, text, word) == expected


def test_a_history_reaches_only_what_it_names(nlp: Any) -> None:
    text = "h/o BCC, presents with a bleeding papule on the cheek."
    assert context(nlp, text, "BCC") == {"HISTORICAL"}
    assert context(nlp, text, "bleeding") == set()
    assert [t.text for t in nlp.make_doc(text)][:2] == ["h/o", "BCC"]  # shorthand kept whole


def test_sentences_end_at_stops_and_questions_but_not_after_approx(nlp: Any) -> None:
    doc = nlp("Milia approx. 2 yrs on the cheek. Is it bleeding? Seen today")
    index = sentence_index(doc)
    sentences = [[t.text for t in doc if index[t.i] == n] for n in sorted(set(index))]
    assert sentences == [
        ["Milia", "approx", ".", "2", "yrs", "on", "the", "cheek", "."],
        ["Is", "it", "bleeding", "?"],
        ["Seen", "today"],
    ]
    assert questions(doc, index) == {1}


def test_shorthand_that_ends_a_sentence_ends_it_before_a_capital(nlp: Any) -> None:
    doc = nlp("Milia unchanged per pt. Seb keratosis L temple. Porphyria cut. tarda")
    index = sentence_index(doc)
    sentences = [" ".join(t.text for t in doc if index[t.i] == n) for n in sorted(set(index))]
    assert sentences == [
        "Milia unchanged per pt .",
        "Seb keratosis L temple .",
        "Porphyria cut . tarda",
    ]


def test_the_tokenizer_splits_numbers_from_units_and_pluses(nlp: Any) -> None:
    assert [t.text for t in nlp.make_doc("milia x6wks, 2mm, TTP+")] == [
        *("milia", "x", "6", "wks", ","),
        *("2", "mm", ",", "TTP", "+"),
    ]


def test_a_note_is_normalised_before_it_is_read() -> None:
    narrative = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Milia &amp; papules</p></div>'
    assert plain_text(narrative).split() == ["Milia", "&", "papules"]
    assert normalise("Skin: no milia") == "Skin. no milia"
    assert normalise("Skin: not seen") == "Skin: not seen"  # a backward cue stays in its sentence
    assert normalise("no\nimprovement") == "no improvement"
    assert normalise("no no no no no no milia") == "no no no milia"
    assert normalise("milia " * 10, limit=12) == "milia milia "


def test_comparison_signs_are_not_tags() -> None:
    # "<60 ... >140" once read as one tag, and the bleeding papule between was never read.
    note = "eGFR <60, bleeding papule L lid, BP >140; lesion < 2 mm"
    assert plain_text(note) == note
    marked = "<p class='exam'>Bleeding papule<br/></p> <b>milia</b>"
    assert plain_text(marked).split() == ["Bleeding", "papule", "milia"]


def test_typographic_apostrophes_and_pasted_blobs_are_read_as_written() -> None:
    assert normalise("won\u2019t heal") == "won't heal"
    blob = "ZX81PQ" * 10 + "BCC"
    assert normalise(blob, limit=len(blob)).split()[-1] == "BCC"  # not pushed past the limit


def test_a_long_note_is_cut_into_passages_of_whole_sentences() -> None:
    sentence = "Milia on the right cheek for about six weeks, not bleeding. "
    note = (sentence * 100).strip()
    cut = passages(note)
    assert len(cut) > 1
    assert all(len(p) <= 2000 for p in cut)
    assert all(p.endswith("bleeding.") for p in cut)
    assert " ".join(cut).split() == note.split()
    assert passages("Short note.") == ["Short note."]


def _reference_tokenizer(kb: Any) -> Any:
    """The clinical tokenizer built the way spaCy's documentation shows: blank English, then
    the affixes set and the shorthand added as special cases, one by one (slow, plainly right)."""
    import re

    import spacy
    from spacy.symbols import ORTH
    from spacy.util import compile_infix_regex, compile_suffix_regex

    english: Any = spacy.blank("en")
    reference: Any = english.tokenizer
    infixes = [*english.Defaults.infixes, r"(?<=[0-9])(?=[a-zA-Z])", r"(?<=^[xX])(?=[0-9])"]
    reference.infix_finditer = compile_infix_regex(infixes).finditer
    suffixes = [*english.Defaults.suffixes, r"\++"]
    reference.suffix_search = compile_suffix_regex(suffixes).search
    for entry in kb.abbreviations:
        if not re.fullmatch(r"[A-Za-z0-9]+", entry.short) and " " not in entry.short:
            short = entry.short
            for variant in {short, short.lower(), short.upper(), short.capitalize()}:
                reference.add_special_case(variant, [{ORTH: variant}])
    return reference


def test_the_tokenizer_is_spacys_english_with_the_clinical_affixes_and_shorthand(nlp: Any) -> None:
    """Built as the language's defaults (its special cases load once), the tokenizer cuts every
    note of the evaluation corpus, every abbreviation and spaCy's own exceptions as the
    step-by-step construction does."""
    from pathlib import Path

    import yaml

    kb = load_knowledge(default_content_dir())
    reference = _reference_tokenizer(kb)
    corpus = Path(__file__).parent.parent / "fixtures" / "corpus"
    texts = [
        str(item["text"])
        for path in sorted(corpus.glob("*/*.yaml"))
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []
    ]
    texts += [f"{e.short} {e.short.upper()} {e.short.lower()}." for e in kb.abbreviations]
    texts += ["I won't squeeze it, can't stop. Dr. Smith's pt. isn't sure", "e.g. 3x/day x2wks"]
    assert len(texts) > 300
    for text in texts:
        assert [t.text for t in nlp.make_doc(text)] == [t.text for t in reference(text)], text


def test_medspacy_is_imported_without_the_umls_matcher_the_service_does_not_use() -> None:
    """QuickUMLS (and nltk with it) is a third of a second of every start-up; medspaCy imports
    it only to register a component the service never adds. Imported later, it is the real one."""
    printed = fresh_interpreter(
        "import sys\n"
        "from cds_service.clinical.loading import default_content_dir, load_knowledge\n"
        "from cds_service.clinical.nlp import build_pipeline\n"
        "nlp = build_pipeline(load_knowledge(default_content_dir()))\n"
        "assert 'medspacy_context' in nlp.pipe_names\n"
        "print(sorted(m for m in ('quickumls', 'nltk') if m in sys.modules))\n"
        "import quickumls\n"
        "print(quickumls.QuickUMLS.__name__)\n"
    )
    assert printed.split("\n")[:2] == ["[]", "QuickUMLS"]


def test_every_invisible_format_character_is_taken_out() -> None:
    # The list is written out (start-up); it must hold every Cf character of this Python's
    # Unicode, and nothing visible.
    import sys
    import unicodedata

    from cds_service.clinical.nlp import FORMAT_CHARACTERS

    every = {
        chr(c) for c in range(0x80, sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"
    }
    listed = {chr(c) for c in range(0x80, sys.maxunicode + 1) if FORMAT_CHARACTERS.match(chr(c))}
    assert every <= listed
    assert all(unicodedata.category(c) in {"Cf", "Cn"} for c in listed)
