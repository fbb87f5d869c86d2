"""What the vocabulary exposes from the shipped knowledge base: the labelled items, the codes that
find them (verified only; exact, class prefix, broader than the item) and the phrases that name them
in free text, including the terms of the lexicon concepts they use."""

from __future__ import annotations

import pytest

from cds_service.clinical.loading import default_content_dir, load_knowledge
from cds_service.clinical.vocabulary import Vocabulary, feature_label, label, part_label

SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
ATC = "http://www.whocc.no/atc"
MILIA = "condition:milia"
POTENT_STEROIDS = "drug-class:potent-topical-corticosteroids"


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary(load_knowledge(default_content_dir()))


def test_labels_are_kind_and_id() -> None:
    assert label("condition", "milia") == MILIA
    assert feature_label("syringoma", "site") == "feature:syringoma/site"
    assert part_label("red-flag:x", "all_of.0") == "red-flag:x/all_of.0"


def test_every_item_has_one_entry_that_can_recognise_it(vocabulary: Vocabulary) -> None:
    labels = [entry.label for entry in vocabulary.entries]
    assert len(labels) == len(set(labels))
    kinds = {item.split(":", 1)[0] for item in labels}
    assert {"condition", "variant", "mimic", "feature", "red-flag", "trigger"} <= kinds
    assert {"state", "drug-class"} <= kinds
    assert MILIA in labels
    assert all(e.codes or e.phrases or e.concepts for e in vocabulary.entries)
    # Sub-rules of a recognition have their own entries, labelled with their path.
    assert any(lbl.startswith("red-flag:") and "/" in lbl for lbl in labels)


def test_only_verified_codes_find_an_item(vocabulary: Vocabulary) -> None:
    assert vocabulary.labels_for_code(SNOMED, "254679001") == [MILIA]
    assert vocabulary.labels_for_code(SNOMED, "254683001") == []  # listed, not verified
    assert vocabulary.labels_for_code(SNOMED, "0") == []
    assert vocabulary.labels_for_code(ICD10, "254679001") == []  # another system's code


def test_a_class_code_finds_every_code_below_it(vocabulary: Vocabulary) -> None:
    assert POTENT_STEROIDS in vocabulary.labels_for_code(ATC, "D07AC01")  # betamethasone
    assert POTENT_STEROIDS in vocabulary.labels_for_code(ATC, "D07AD01")  # clobetasol
    assert POTENT_STEROIDS not in vocabulary.labels_for_code(ATC, "D07AB01")  # moderate
    assert POTENT_STEROIDS not in vocabulary.labels_for_code(ATC, "D07BC01")  # not verified


def test_a_broader_code_is_marked_for_the_item_it_is_listed_under(vocabulary: Vocabulary) -> None:
    assert vocabulary.labels_for_code(ICD10, "L72.0") == [MILIA]
    assert vocabulary.is_broader(ICD10, "L72.0", MILIA)
    assert not vocabulary.is_broader(SNOMED, "254679001", MILIA)
    assert not vocabulary.is_broader(ICD10, "L72.0", "mimic:syringoma")


def test_phrases_name_items_and_the_concepts_rules_ask_for(vocabulary: Vocabulary) -> None:
    phrases = set(vocabulary.phrases())
    assert {("milia", MILIA), ("milium", MILIA), ("milial cyst", MILIA)} <= phrases
    assert all(term == term.lower() for term, _ in phrases)
    # A concept is a label of its own only where a rule names it ...
    assert vocabulary.named_concepts() >= {"skin-cancer", "steroid"}
    assert ("basal cell carcinoma", "concept:skin-cancer") in phrases
    # ... elsewhere its terms stand for the items that use it.
    assert ("clobetasol", POTENT_STEROIDS) in phrases
    assert not any(lbl == "concept:potent-steroid" for _, lbl in phrases)


def test_lesion_bound_labels_are_the_rules_that_count_only_the_milia_lesion(
    vocabulary: Vocabulary,
) -> None:
    bound = vocabulary.lesion_bound()
    said = {e.label for e in vocabulary.entries}  # recognised by codes or words at all
    for flag in vocabulary.kb.red_flags:
        if label("red-flag", flag.id) in said:
            lesion_only = flag.recognise.scope in ("lesion", "milia")
            assert (label("red-flag", flag.id) in bound) is lesion_only, flag.id
    assert label("red-flag", "inflamed") in bound
    # Names count wherever they are said: a look-alike, milia itself, a concept, a variant.
    assert not [b for b in bound if b.startswith(("mimic:", "condition:", "concept:", "variant:"))]
