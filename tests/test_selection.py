"""The raw-JSON relevance filter keeps whatever can concern milia and drops the rest unread."""

from __future__ import annotations

import dataclasses
import json
import random
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from cds_service.clinical import fields
from cds_service.clinical.findings import ReadingLimits, RecordReader
from cds_service.clinical.loading import default_content_dir, load_knowledge
from cds_service.clinical.reasoning import Assessment, assess
from cds_service.clinical.selection import RelevanceFilter
from cds_service.clinical.text import text_reader
from cds_service.clinical.vocabulary import Vocabulary
from cds_service.fhir.record import ClinicalRecord
from cds_service.fhir.resources import parse_resource
from tests.conftest import SCENARIOS, scenario_request

KB = load_knowledge(default_content_dir())
VOCABULARY = Vocabulary(KB)
READER = text_reader(KB, frozenset(VOCABULARY.phrases()))
KEEP = RelevanceFilter(VOCABULARY, READER)
RECORD_READER = RecordReader(VOCABULARY, READER)
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"


@pytest.mark.parametrize(
    "resource",
    [
        {
            "resourceType": "Condition",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "254679001"}]},
        },
        {
            "resourceType": "Observation",
            "code": {"text": "Skin exam"},
            "valueString": "Two milia on the left eyelid.",
        },
        {
            "resourceType": "Observation",
            "code": {"text": "Skin exam"},
            "note": [{"text": "It bleeds easily."}],
        },
        {
            "resourceType": "Observation",
            "code": {"text": "Size of skin lesion"},
            "valueQuantity": {"value": 4, "code": "mm"},
        },
        {
            "resourceType": "MedicationRequest",
            "medicationCodeableConcept": {
                "coding": [{"system": "http://www.whocc.no/atc", "code": "D07AD01"}]
            },
        },
        {
            "resourceType": "MedicationRequest",
            "medicationCodeableConcept": {"text": "Clobetasol 0.05% cream"},
        },
        {
            "resourceType": "Condition",
            "code": {"text": "x"},
            "text": {"div": "<div>History of BCC</div>"},
        },
    ],
    ids=[
        "coded milia",
        "milia in text",
        "red flag in a note",
        "lesion size",
        "ATC class",
        "drug name",
        "narrative",
    ],
)
def test_what_can_concern_milia_is_kept(resource: dict[str, Any]) -> None:
    assert KEEP(resource)


def test_an_ordinary_patients_vital_signs_and_labs_are_dropped() -> None:
    prefetch = scenario_request("92-synthea-ordinary-patient")["prefetch"]
    observations = [e["resource"] for e in prefetch["skinObservations"]["entry"]]
    assert len(observations) > 500
    assert not any(KEEP(o) for o in observations)


def test_every_scenario_resource_that_shapes_a_card_is_kept() -> None:
    # The scenarios' skin findings all pass the filter: nothing that mattered there is dropped.
    request = scenario_request("13-red-flag-growth")
    kept = [
        e["resource"]
        for e in request["prefetch"]["skinObservations"]["entry"]
        if KEEP(e["resource"])
    ]
    assert len(kept) == 2


def _corpus_words() -> list[str]:
    words: list[str] = []
    for path in sorted(CORPUS.glob("*/*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")):
            words += str(item["text"]).split()
    return words


def _put(resource_type: str, path: str, text: str) -> dict[str, Any]:
    """A resource with ``text`` at ``path`` (one of the declared text fields)."""
    node: dict[str, Any] = {"resourceType": resource_type}
    here: Any = node
    parts = path.split(".")
    for part in parts[:-1]:
        name = part.removesuffix("[]")
        child: dict[str, Any] = {}
        here[name] = [child] if part.endswith("[]") else child
        here = child
    last = parts[-1].removesuffix("[]")
    here[last] = [text] if parts[-1].endswith("[]") else text
    return node


@pytest.mark.parametrize("reading_ahead", [False, True], ids=["words", "read ahead"])
def test_what_the_pre_filter_drops_would_have_given_no_finding(reading_ahead: bool) -> None:
    """Texts made of the corpus's own words (so near misses abound), put in every field the
    reader reads: whenever the pre-filter drops one, reading the text finds nothing."""
    words = _corpus_words()
    rng = random.Random(11)
    dropped = 0
    keep = KEEP.for_call() if reading_ahead else KEEP
    for n in range(1500):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
        kind = rng.choice(sorted(fields.TEXT_PATHS))
        path = rng.choice(fields.TEXT_PATHS[kind])
        resource = _put(kind, path, text)
        assert fields.texts(resource, kind) == [text], (kind, path)
        if not keep(resource):
            dropped += 1
            assert_dropped_text_changes_nothing(text, reading_ahead), n
    assert dropped > 100  # the test saw many dropped texts, not only kept ones


@pytest.mark.parametrize("reading_ahead", [False, True], ids=["words", "read ahead"])
def test_texts_in_two_fields_are_judged_each_on_its_own(reading_ahead: bool) -> None:
    """The reader reads each field's text on its own; the filter must not read them as one
    ("Nose bleeding" then "Risk assessed" is no ignored "bleeding risk")."""
    said = {"resourceType": "Condition", "code": {"text": "Nose bleeding"}}
    keep = KEEP.for_call() if reading_ahead else KEEP
    assert keep({**said, "note": [{"text": "Risk assessed"}]})
    assert keep(
        {
            "resourceType": "Condition",
            "code": {"text": "Hair"},
            "note": [{"text": "transplant recipient"}],
        }
    )
    # And for any two texts of the corpus's words: whenever the resource is dropped, reading
    # either text finds nothing.
    words = _corpus_words() + [w for t in KB.lexicon.ignore for w in t.split()]
    rng = random.Random(13)
    dropped = 0
    for n in range(1500):
        first, second = (
            " ".join(rng.choice(words) for _ in range(rng.randint(1, 3))) for _ in "ab"
        )
        resource = {
            "resourceType": "Condition",
            "code": {"text": first},
            "note": [{"text": second}],
        }
        if not keep(resource):
            dropped += 1
            for text in (first, second):
                assert_dropped_text_changes_nothing(text, reading_ahead), (n, first, second)
    assert dropped > 100


def test_narrative_xhtml_is_screened_as_the_reader_reads_it() -> None:
    div = '<div xmlns="http://www.w3.org/1999/xhtml"><p>&#77;ilia</p></div>'
    assert READER.read(div).mentions
    assert KEEP({"resourceType": "Condition", "text": {"status": "generated", "div": div}})


def test_within_a_call_each_resource_is_judged_as_if_it_came_alone() -> None:
    # One call remembers what each text's words showed: a text said again, in another field,
    # type or shape, is still judged by its own resource.
    words = _corpus_words()
    rng = random.Random(5)
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 4))) for _ in range(60)]
    texts += ["Size of skin lesion", "Heart rate"]
    resources = []
    for text in texts * 3:
        kind = rng.choice(sorted(fields.TEXT_PATHS))
        resource = _put(kind, rng.choice(fields.TEXT_PATHS[kind]), text)
        if kind == "Observation" and rng.random() < 0.5:
            resource["valueQuantity"] = {"value": 4, "unit": "mm"}
        resources.append(resource)
    # Coded resources of one shape, as a chart's vital signs are (the filter remembers what it
    # decided of each): with and without displays, a quantity, a known code.
    for text in [*texts[:20], "Heart rate", "Size of skin lesion", "Milia"]:
        for code in ("8867-4", "254679001"):
            coding = {"system": "http://loinc.org", "code": code}
            for concept in ({"coding": [coding]}, {"coding": [{**coding, "display": text}]}):
                resource = {"resourceType": "Observation", "code": {**concept, "text": text}}
                resources += [resource, {**resource, "valueQuantity": {"value": 4, "unit": "mm"}}]
    rng.shuffle(resources)
    # A lesion word with a measurement is kept unread; the same words without one are read.
    said = _put("Observation", "code.text", "Thyroid not enlarged, no nodules palpable.")
    resources[:0] = [said, {**said, "valueQuantity": {"value": 4, "unit": "mm"}}, said]
    shared = KEEP.for_call()
    together = [shared(r) for r in resources]
    assert together == [KEEP.for_call()(r) for r in resources]
    assert any(together) and not all(together)


def test_the_reader_and_the_pre_filter_read_the_same_fields() -> None:
    # Every field the reader takes text from is one the pre-filter looks at, by construction:
    # both use fields.TEXT_PATHS; each declared path leads to text in a resource built for it.
    for kind, paths in fields.TEXT_PATHS.items():
        for path in paths:
            assert fields.texts(_put(kind, path, "milia"), kind) == ["milia"]
            assert KEEP(_put(kind, path, "milia")), (kind, path)


def _corpus_sentences() -> list[str]:
    return [
        str(item["text"])
        for path in sorted(CORPUS.glob("*/*.yaml"))
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))
    ]


def _assessed(*texts: str) -> Assessment:
    """The assessment of a record of exam notes, but for what it says was read."""
    notes = [
        parse_resource(
            {
                "resourceType": "Observation",
                "id": f"o{n}",
                "status": "final",
                "code": {"text": "Exam"},
                "valueString": text,
            },
            "test",
        )
        for n, text in enumerate(texts)
    ]
    record = ClinicalRecord(NOW, None, {"Observation": notes}, [])
    found = assess(RECORD_READER.read(record), KB)
    return dataclasses.replace(found, notes_read=0, described=())


def assert_dropped_text_changes_nothing(text: str, reading_ahead: bool) -> bool:
    """A text the filter dropped: the reader finds nothing in it, or (reading ahead) only
    findings said of another lesion under rules that count them only of the milia ("sore
    birthmarks"), so that beside a milia note the assessment is the same with it as without it.
    Whether it held such findings."""
    reading = READER.read(text)
    assert not reading.lesions, text
    if not reading.mentions:
        return False
    assert reading_ahead, text  # looking at words alone drops only texts with none of them
    for milia in ("Milia noted.", "Milia on both cheeks."):
        assert _assessed(milia, text) == _assessed(milia), text
    return True


def test_reading_ahead_drops_only_notes_that_change_no_card() -> None:
    """Every note of the annotated corpus (real findings, negations, red flags), as an exam
    Observation: a note the call's filter drops unvalidated is one the reader finds nothing in,
    or whose findings are all said of another lesion under rules that count them only of the
    milia ("throat erythematous"): beside a milia note, with or without a site, the assessment
    is the same with it as without it. Notes that name lesions but no finding are among those
    dropped."""
    kept_only_by_words = other_lesions_only = 0
    notes = _corpus_sentences()
    # and each sentence of each note alone, as an earlier visit's note about something else
    notes += [s for note in notes for s in re.split(r"(?<=[.;])\s+", note) if s != note]
    for text in dict.fromkeys(notes):
        resource = {"resourceType": "Observation", "code": {"text": "Exam"}, "valueString": text}
        if not KEEP.for_call()(resource):  # a call each: the corpus would spend one's budget
            other_lesions_only += assert_dropped_text_changes_nothing(text, reading_ahead=True)
        elif KEEP(resource):
            kept_only_by_words += 1
    assert kept_only_by_words > 100
    assert other_lesions_only > 10
    keep = KEEP.for_call()  # a new call: the corpus spent the last one's reading budget
    silent = {
        "resourceType": "Observation",
        "code": {"text": "Thyroid exam"},
        "valueString": "Thyroid not enlarged, no nodules palpable.",
    }
    assert KEEP(silent) and not keep(silent)
    bleeding = {**silent, "valueString": "Bleeding nodule on the nose."}
    assert keep(bleeding)


def test_a_measured_lesion_is_kept_without_reading_ahead() -> None:
    measured = {
        "resourceType": "Observation",
        "code": {"text": "Size of skin lesion"},
        "valueQuantity": {"value": 4, "unit": "mm"},
    }
    assert KEEP.for_call()(measured)


def test_past_its_budget_the_call_keeps_what_holds_a_term_unread() -> None:
    # No characters left to read ahead: the resource is kept, validated and read by the
    # reader within its own budget, as without reading ahead.
    spent = RelevanceFilter(VOCABULARY, READER, ReadingLimits(chars_per_request=0))
    silent = {
        "resourceType": "Observation",
        "code": {"text": "Thyroid exam"},
        "valueString": "Thyroid not enlarged, no nodules palpable.",
    }
    assert spent.for_call()(silent)


def test_a_resource_kept_unread_for_want_of_budget_is_read_ahead_by_the_next_call() -> None:
    # Decisions are remembered from call to call, but only those the resource itself decided:
    # one kept unread because its call had spent its budget is read ahead next time, and dropped.
    keep = RelevanceFilter(VOCABULARY, READER, ReadingLimits(chars_per_request=100))
    first = {
        "resourceType": "Observation",
        "code": {"text": "Thyroid exam"},
        "valueString": "Thyroid not enlarged, no nodules palpable; weight 80 kg.",
    }
    silent = {**first, "valueString": "Thyroid not enlarged, no nodules palpable."}
    spent = keep.for_call()
    assert not spent(first)  # read ahead: 68 of the call's 100 characters (with its code)
    assert spent(silent)  # no budget left to read it: kept for the reader
    assert not keep.for_call()(silent)
    assert not keep.for_call()(first)  # remembered, and read again by no call


def test_a_coded_answer_is_kept_even_when_its_text_says_nothing() -> None:
    # A later answer to the same question supersedes an earlier one (findings._latest_answers):
    # dropping it would let the earlier answer stand.
    answer = {
        "resourceType": "Observation",
        "code": {"text": "Skin lesion present"},
        "valueCodeableConcept": {"text": "No lesion"},
    }
    assert KEEP(answer) == KEEP.for_call()(answer)


def test_past_its_time_the_call_reads_no_further_ahead() -> None:
    # No processor time to read ahead: after a few texts (the clock is looked at every few),
    # every resource holding a term is kept for the reader, which has its own budget.
    spent = RelevanceFilter(VOCABULARY, READER, ReadingLimits(cpu_ms=0)).for_call()
    silent = [
        {
            "resourceType": "Observation",
            "code": {"text": "Thyroid exam"},
            "valueString": f"Thyroid not enlarged, no nodules palpable; weight {kg} kg.",
        }
        for kg in range(60, 90)
    ]
    kept = [spent(resource) for resource in silent]
    assert kept[-1] and sum(not k for k in kept) < 10


def _draft_orders() -> list[dict[str, Any]]:
    """Every draft order of the scenarios, and each again with only its code, only its name."""
    orders = []
    for name in SCENARIOS:
        bundle = scenario_request(name).get("context", {}).get("draftOrders") or {}
        for entry in bundle.get("entry", []):
            order = entry["resource"]
            orders.append(order)
            concept = order.get("medicationCodeableConcept")
            if isinstance(concept, dict):
                orders.append({**order, "medicationCodeableConcept": {"text": concept.get("text")}})
                coded = {"coding": [{**c, "display": None} for c in concept.get("coding", [])]}
                orders.append({**order, "medicationCodeableConcept": coded})
    return orders


def test_a_draft_order_the_filter_drops_is_no_medicine_the_content_knows() -> None:
    """Draft orders are skipped before validation when the filter drops them; each such order of
    the scenarios (a steroid known by code, by name, by brand) read alone gives no labels."""
    reader = RecordReader(VOCABULARY, READER)
    now = datetime(2026, 11, 26, tzinfo=UTC)
    dropped = kept = 0
    for order in _draft_orders():
        order = {k: v for k, v in order.items() if v is not None}
        model = parse_resource(json.loads(json.dumps(order)), "draft")
        uses = reader.read(ClinicalRecord(now, None, {}, [model])).medicines
        if KEEP.for_call()(order):
            kept += 1
        else:
            dropped += 1
            assert all(not use.labels for use in uses), order
    assert kept > 20 and dropped > 0


def test_a_term_that_begins_with_a_number_turns_the_word_screen_off() -> None:
    # No list of first words holds every number: with such a term in the content, the filter
    # reads every text rather than drop the one that holds it.
    from cds_service.clinical.knowledge import RedFlag

    flag = RedFlag.model_validate(
        {
            "id": "test-flag",
            "name": "Test flag",
            "short": "test flag",
            "origin": "clinical",
            "recognise": {"text": ["# zorblats"]},
            "escalation": [{"text": "Examine.", "cites": ["berk-bayliss-2008"]}],
        }
    )
    kb = KB.model_copy(update={"red_flags": [*KB.red_flags, flag]})
    vocabulary = Vocabulary(kb)
    reader = text_reader(kb, frozenset(vocabulary.phrases()))
    assert reader.term_ends is None
    keep = RelevanceFilter(vocabulary, reader)
    note = {"resourceType": "Observation", "code": {"text": "Exam"}, "valueString": "3 zorblats"}
    assert keep(note) and not KEEP(note)
    assert not keep({**note, "valueString": "Heart sounds normal, 3 beats."})
    assert READER.term_ends is not None  # the content as shipped keeps its screen


# Ways notes are really written that the filter once dropped though the reader reads them (found by
# a reviewer probing the filter with half a million texts, none taken from this project's tests).
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
WRITTEN_AS_NOTES_ARE = {
    "a contraction": ["Won't heal"],
    "a contraction without its apostrophe": ["Pt says it doesnt heal"],
    "a curly apostrophe": ["Still won\u2019t heal"],
    "cannot, read as can + not": ["Cannot heal, crusted"],
    "a count glued to the word": ["2milia"],
    "a count glued to an abbreviation": ["Hx 2BCC"],
    "a term that begins with a sign": ["> 6 mths"],
    "a '<' in one note and a '>' in the next": [
        "eGFR <60",
        "bleeding papule on L lower lid -> refer",
    ],
}


@pytest.mark.parametrize("notes", WRITTEN_AS_NOTES_ARE.values(), ids=WRITTEN_AS_NOTES_ARE.keys())
def test_notes_written_as_clinicians_write_them_are_kept(notes: list[str]) -> None:
    condition = {"resourceType": "Condition", "note": [{"text": n} for n in notes]}
    assert any(READER.read(n, None, len(n)).mentions for n in notes)  # a finding to lose
    assert KEEP(condition) and KEEP.for_call()(condition)


def test_a_pasted_blob_glued_to_a_term_is_read_and_kept() -> None:
    note = "ZX81PQ" * 10 + "BCC"  # cut into pieces of 60 characters: "... BCC"
    assert READER.read(note, None, len(note)).mentions  # as the record reader reads it
    condition = {"resourceType": "Condition", "note": [{"text": note}]}
    assert KEEP(condition) and KEEP.for_call()(condition)


@pytest.mark.parametrize(
    "concept",
    [
        {"coding": [{"display": "Tacrolimus 1 mg capsule"}]},  # no system, no code
        {"coding": [{"code": "12345", "display": "Tretinoin 0.025% cream"}]},
        {"text": "Coconut", "coding": [{"system": RXNORM, "code": "000000", "display": "oil"}]},
    ],
    ids=["display only", "code and display", "name split between text and display"],
)
def test_a_medicine_named_by_its_displays_is_kept(concept: dict[str, Any]) -> None:
    order = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p"},
        "medicationCodeableConcept": concept,
    }
    named = " ".join([concept.get("text", "")] + [c["display"] for c in concept["coding"]])
    assert READER.read(named.strip()).mentions  # what the record reader reads for a medicine
    assert KEEP(order)


@pytest.mark.parametrize(
    "observation",
    [
        {"code": {"text": "Max diameters"}, "valueQuantity": {"value": 6, "unit": "mm"}},
        {
            "code": {"coding": [{"display": "Lesion size"}]},
            "valueQuantity": {"value": 6, "unit": "mm"},
        },
        {
            "component": [
                {"code": {"text": "Lesion diameter"}, "valueQuantity": {"value": 6, "unit": "mm"}}
            ]
        },
    ],
    ids=["a lesion word inside a word", "a display without a code", "a component"],
)
def test_a_lesion_measured_as_the_reader_recognises_it_is_kept(observation: dict[str, Any]) -> None:
    # findings._measurements reads these sizes (size and growth red flags).
    assert KEEP({"resourceType": "Observation", "status": "final", **observation})


def test_a_passage_cut_inside_an_ignored_phrase_is_read_as_the_reader_reads_it() -> None:
    # A run-on note is read in passages; one ends on "tacrolimus", the next begins "ointment":
    # the reader finds a systemic immunosuppressant in the first, so must the filter.
    note = "ab cd " * 331 + "ab tacrolimus ointment" + " ab cd" * 400
    assert note.rfind(" ", 0, 2000) == note.index(" ointment")
    assert READER.read(note, None, len(note)).mentions
    assert KEEP({"resourceType": "Condition", "note": [{"text": note}]})


def test_a_note_is_looked_at_up_to_the_reader_s_own_limit() -> None:
    note = "Thyroid normal. " * 1500 + "Bleeding papule on the nose."  # 24,028 characters
    limits = ReadingLimits(chars_per_note=30_000)
    assert READER.read(note, None, len(note)).mentions
    assert RelevanceFilter(VOCABULARY, READER, limits)(
        {"resourceType": "Condition", "note": [{"text": note}]}
    )


@pytest.mark.parametrize(
    "written",
    [
        "Blee\u00adding",
        "Non\u2013healing",
        "\uff42\uff4c\uff45\uff45\uff44\uff49\uff4e\uff47",
        "won't\u00a0heal",
    ],
    ids=["soft hyphen", "en dash", "full-width", "no-break space"],
)
def test_a_word_written_in_other_typography_is_kept(written: str) -> None:
    condition = {"resourceType": "Condition", "note": [{"text": written}]}
    assert READER.read(written).mentions
    assert KEEP(condition) and KEEP.for_call()(condition)


def test_a_misspelt_milia_name_is_kept_for_the_reader() -> None:
    # "Mileum" begins no term, but the reader reads it as "milium": the filter must keep it.
    note = {"resourceType": "Observation", "valueString": "Mileum R cheek, bleeds."}
    assert KEEP(note)
    assert READER.read("Mileum R cheek, bleeds.").lesions


@pytest.mark.parametrize("text", ["Two mill ia noted.", "Pt has a milly a."])
def test_a_milia_name_dictation_split_is_kept_for_the_reader(text: str) -> None:
    # Neither part begins a term; the reader joins them, so the filter must keep the note.
    assert KEEP({"resourceType": "Observation", "valueString": text})
    assert READER.read(text).lesions


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        # findings of other structures, which the rules asking for them count only of the milia
        ("Throat mildly erythematous, tonsils grade 1, no exudate.", False),
        ("Eyes red and sore.", False),
        # a look-alike named, a sign counted wherever it is, a finding of no other lesion
        ("Syringomas on the lower eyelids.", True),
        ("Feet examined: sensation intact to monofilament, nails thickened.", True),
        ("It bleeds easily.", True),
    ],
)
def test_a_finding_said_of_another_structure_alone_is_dropped(text: str, kept: bool) -> None:
    resource = {"resourceType": "Observation", "code": {"text": "Exam"}, "valueString": text}
    assert KEEP(resource)  # its words hold terms
    assert KEEP.for_call()(resource) is kept
