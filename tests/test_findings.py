"""Reading the FHIR record into findings: ages, sizes, growth, medicines, statuses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cds_service.clinical.findings import Findings, RecordReader
from cds_service.clinical.loading import default_content_dir, load_knowledge
from cds_service.clinical.reasoning import assess
from cds_service.clinical.text import text_reader
from cds_service.clinical.vocabulary import Vocabulary
from cds_service.fhir.record import ClinicalRecord
from cds_service.fhir.resources import parse_resource

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
KB = load_knowledge(default_content_dir())
VOCABULARY = Vocabulary(KB)


@pytest.fixture(scope="module")
def reader() -> RecordReader:
    return RecordReader(VOCABULARY, text_reader(KB, frozenset(VOCABULARY.phrases())))


def record(
    *resources: dict[str, Any], birth: str = "1980-01-01", orders: tuple[dict[str, Any], ...] = ()
) -> ClinicalRecord:
    patient = parse_resource({"resourceType": "Patient", "id": "p", "birthDate": birth}, "p")
    by_type: dict[str, list[Any]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(parse_resource(r, "test"))
    return ClinicalRecord(NOW, patient, by_type, [parse_resource(o, "o") for o in orders])


def observation(oid: str, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"text": "Skin exam"},
        **fields,
    }


MILIA_NOTE = observation("o0", valueString="Milia on the right cheek.")


def size(oid: str, value: float, unit: str, when: str, site: str = "36141000") -> dict[str, Any]:
    return observation(
        oid,
        code={"text": "Size of skin lesion"},
        valueQuantity={
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
        bodySite={"coding": [{"system": "http://snomed.info/sct", "code": site}]},
        effectiveDateTime=when,
    )


def test_age_in_days_at_the_time_of_the_hook(reader: RecordReader) -> None:
    assert reader.read(record(birth="2026-11-20")).age_days == 6
    assert reader.read(record(birth="1926-11-26")).age_days == 100 * 365 + 25  # 25 leap days


def test_sizes_are_converted_to_millimetres(reader: RecordReader) -> None:
    findings = reader.read(record(MILIA_NOTE, size("o1", 0.4, "cm", "2026-11-01")))
    assert [m.size_mm for m in findings.measurements] == [4.0]


def test_a_height_is_not_a_lesion_size(reader: RecordReader) -> None:
    height = observation(
        "h1",
        code={
            "coding": [{"system": "http://loinc.org", "code": "8302-2", "display": "Body height"}]
        },
        valueQuantity={
            "value": 170,
            "unit": "cm",
            "system": "http://unitsofmeasure.org",
            "code": "cm",
        },
    )
    assert reader.read(record(MILIA_NOTE, height)).measurements == ()


def test_sizes_written_in_text_are_read(reader: RecordReader) -> None:
    note = observation("o1", valueString="Milium 2.5 mm on the left eyelid.")
    assert [m.size_mm for m in reader.read(record(note)).measurements] == [2.5]


def flags(findings: Findings) -> set[str]:
    return {hit.id for hit in assess(findings, KB).red_flags}


def test_growth_between_two_measurements_of_the_same_site_is_a_red_flag(
    reader: RecordReader,
) -> None:
    grown = record(MILIA_NOTE, size("o1", 2, "mm", "2026-03-01"), size("o2", 3, "mm", "2026-11-01"))
    assert "growing-larger" in flags(reader.read(grown))
    other_site = record(
        MILIA_NOTE,
        size("o1", 2, "mm", "2026-03-01"),
        size("o2", 3, "mm", "2026-11-01", site="113179006"),
    )
    assert "growing-larger" not in flags(reader.read(other_site))
    shrunk = record(
        MILIA_NOTE, size("o1", 3, "mm", "2026-03-01"), size("o2", 2, "mm", "2026-11-01")
    )
    assert "growing-larger" not in flags(reader.read(shrunk))


def steroid(status: str, authored: str, route: str = "Topical") -> dict[str, Any]:
    if route != "Topical":  # a tablet: named in text only, as a record without ATC codes would
        return {
            "resourceType": "MedicationRequest",
            "id": "m1",
            "status": status,
            "intent": "order",
            "medicationCodeableConcept": {"text": "Betamethasone valerate 0.5 mg tablets"},
            "subject": {"reference": "Patient/p"},
            "authoredOn": authored,
            "dosageInstruction": [{"route": {"text": route}}],
        }
    return {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [
                {"system": "http://www.whocc.no/atc", "code": "D07AD01", "display": "clobetasol"}
            ],
            "text": "Clobetasol 0.05% cream",
        },
        "subject": {"reference": "Patient/p"},
        "authoredOn": authored,
        "dosageInstruction": [{"route": {"text": route}}],
    }


def triggers(findings: Findings) -> set[str]:
    return {hit.id for hit in assess(findings, KB).triggers}


def test_a_potent_steroid_counts_only_after_long_topical_use(reader: RecordReader) -> None:
    long_use = reader.read(record(MILIA_NOTE, steroid("active", "2026-06-01")))
    assert "potent-topical-corticosteroid" in triggers(long_use)
    assert long_use.medicines[0].days == 178
    short_use = reader.read(record(MILIA_NOTE, steroid("active", "2026-11-20")))
    assert "potent-topical-corticosteroid" not in triggers(short_use)
    by_mouth = reader.read(record(MILIA_NOTE, steroid("active", "2026-06-01", route="Oral")))
    assert "potent-topical-corticosteroid" not in triggers(by_mouth)


def test_condition_statuses(reader: RecordReader) -> None:
    def milia(**status: Any) -> Findings:
        condition = {
            "resourceType": "Condition",
            "id": "c1",
            "subject": {"reference": "Patient/p"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "254679001"}]},
            **status,
        }
        return reader.read(record(condition))

    assert milia().with_label("condition:milia")[0].status == "present"
    resolved = milia(clinicalStatus={"coding": [{"code": "resolved"}]})
    assert resolved.with_label("condition:milia")[0].status == "historical"
    provisional = milia(verificationStatus={"coding": [{"code": "provisional"}]})
    assert provisional.with_label("condition:milia")[0].status == "uncertain"
    assert (
        milia(verificationStatus={"coding": [{"code": "refuted"}]}).with_label("condition:milia")
        == []
    )


def test_nothing_about_milia_means_no_assessment(reader: RecordReader) -> None:
    note = observation("o1", valueString="Bleeding papule on the nose, history of BCC.")
    assessment = assess(reader.read(record(note)), KB)
    assert assessment.milia is None
    assert assessment.red_flags == () and assessment.mimics == ()


def test_two_codings_of_one_site_are_one_series(reader: RecordReader) -> None:
    # Skin of cheek (36141000) then cheek structure (60819002): one site, so the growth is seen.
    grown = record(
        MILIA_NOTE,
        size("o1", 2, "mm", "2026-03-01", site="36141000"),
        size("o2", 3.5, "mm", "2026-11-01", site="60819002"),
    )
    assert "growing-larger" in flags(reader.read(grown))


def test_a_duration_in_the_note_counts_like_record_dates(reader: RecordReader) -> None:
    note = observation("o1", valueString="Milia L lower lid, present approx. 2 yrs.")
    assert "persisting-many-months" in flags(reader.read(record(note)))
    short = observation("o1", valueString="Milia L lower lid x 6 wks.")
    assert "persisting-many-months" not in flags(reader.read(record(short)))


def test_present_since_a_stage_of_life_lasts_as_long_as_the_patient_has_been_older(
    reader: RecordReader,
) -> None:
    note = observation("o1", valueString="Milia under both eyes since her early twenties.")
    assert "persisting-many-months" in flags(reader.read(record(note, birth="1992-05-01")))
    # Twenty years and a few months old: present a few months at most.
    assert "persisting-many-months" not in flags(reader.read(record(note, birth="2006-09-01")))
    # With no birth date, a stage of life after birth is taken as long ago: a red flag's input.
    undated = ClinicalRecord(
        NOW,
        parse_resource({"resourceType": "Patient", "id": "p"}, "p"),
        {"Observation": [parse_resource(note, "test")]},
    )
    assert "persisting-many-months" in flags(reader.read(undated))


@pytest.mark.parametrize(
    "text",
    [
        "s/p allo-SCT for AML 2 yrs ago, chronic GVHD. Milia on both cheeks.",
        "Milia L temple. Crohn's disease, on adalimumab.",
        "Milia on the nose. On ruxolitinib for myelofibrosis.",
        # A transplant in the past medical history is a recipient today.
        "PMHx: renal tx 2015, HTN. Milia L temple.",
        "Milia on both lids. PMH: liver transplant.",
    ],
)
def test_immunosuppression_is_read_as_notes_abbreviate_it(reader: RecordReader, text: str) -> None:
    note = observation("o1", valueString=text)
    assert "immunosuppression" in flags(reader.read(record(note)))


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("Milium L lower lid - bigger than last visit.", "growing-larger"),
        ("Milium R temple, larger than on the previous photos.", "growing-larger"),
        ("Milium L lower lid, now darker.", "change-in-size-colour-shape"),
        ("Milium L lower lid, greyer than it was.", "change-in-size-colour-shape"),
        ("White papule L temple, used to be round, now misshapen.", "change-in-size-colour-shape"),
    ],
)
def test_a_change_said_as_a_comparison_is_a_change(
    reader: RecordReader, text: str, flag: str
) -> None:
    assert flag in flags(reader.read(record(observation("o1", valueString=text))))


def test_a_comparison_said_of_another_lesion_is_not_the_milias(reader: RecordReader) -> None:
    text = "Milium L lower lid, 1 mm. Naevus R arm bigger than last visit and now darker."
    found = flags(reader.read(record(observation("o1", valueString=text))))
    assert not {"growing-larger", "change-in-size-colour-shape"} & set(found)


@pytest.mark.parametrize(
    "text",
    [
        "White papule L cheek, dx uncertain, for bx.",
        "Firm white 2 mm papule R nasal ala. Not a classic milium - derm referral.",
        "'Milium' L temple; I'm not convinced, it looks atypical.",
        "white papule R lower lid - not sure what this is.",
        "Firm white papule L ala; unsure re diagnosis, derm opinion.",
    ],
)
def test_a_writer_unsure_in_words_is_an_uncertain_diagnosis(
    reader: RecordReader, text: str
) -> None:
    assert "diagnosis-uncertain" in flags(reader.read(record(observation("o1", valueString=text))))


@pytest.mark.parametrize(
    "text",
    [
        "Milia on both cheeks. Rash on the trunk, dx unclear, ?eczema.",
        "Dx: milia. Reassured.",
        "PCT dx 3 yrs ago, in remission. Milia dorsal hands.",
    ],
)
def test_a_diagnosis_that_is_clear_or_of_another_lesion_is_not_uncertain(
    reader: RecordReader, text: str
) -> None:
    found = flags(reader.read(record(observation("o1", valueString=text))))
    assert "diagnosis-uncertain" not in found


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        # A negation reaches a list, not a clause after a comma.
        ("Milium L cheek, not tender, bleeds on touch.", "bleeding-or-crusting"),
        ("Milium L cheek, no discharge, has enlarged.", "growing-larger"),
        ("Milium L cheek - no itch, 4mm.", "larger-than-3mm"),
        # "Won't express" describes a milium; its negation reaches nothing after it.
        ("Firm white papule L cheek, won't express, bled twice.", "bleeding-or-crusting"),
        ("2mm firm white papule, doesn't express, pearly and telangiectatic.", "bcc-pattern"),
        # A template's answers.
        ("Milium R temple\nBleeding: Y\nTender: N\nChange: Y - bigger per pt", "growing-larger"),
        ("Milium R temple\nBleeding: Y\nTender: N", "bleeding-or-crusting"),
        # A colour with a suffix.
        (
            "The milium on her chin has turned a yellowy-brown colour.",
            "change-in-size-colour-shape",
        ),
        # One-line templates: each answer is its heading's.
        ("Milium L cheek. Bleeding: Y Growth: N", "bleeding-or-crusting"),
        ("Milium L cheek. Bleeding: N Growth: Y", "growing-larger"),
        # A ticked box is not a "no".
        ("Milium L cheek. Bleeding: X", "bleeding-or-crusting"),
        # One vessel on the surface is the BCC look.
        (
            "Milium R ala, opaque white, a single fine vessel running across its surface.",
            "bcc-pattern",
        ),
        # Milia after an injury that keep coming.
        (
            "Graze to L knee 4 months ago; milia in the scar, more at each review.",
            "after-injury-not-improving",
        ),
    ],
)
def test_a_red_flag_after_a_negated_or_templated_finding_is_read(
    reader: RecordReader, text: str, flag: str
) -> None:
    assert flag in flags(reader.read(record(observation("o1", valueString=text))))


@pytest.mark.parametrize(
    "text",
    [
        "Milium L cheek. No bleeding, crusting, ulceration.",
        "Milium L cheek. No bleeding, crusts or scabs.",
        "Milium L cheek\nBleeding: N\nTender: N\nUlcerated: -\nSize: 2mm",
        "Milia x4 periorbital. Bleeding: N Growth: N Pain: N Ulceration: N Hx skin cancer: N",
    ],
)
def test_a_negated_list_or_template_gives_no_red_flag(reader: RecordReader, text: str) -> None:
    assert not flags(reader.read(record(observation("o1", valueString=text))))


@pytest.mark.parametrize(
    "text",
    [
        "Mum rang: the tiny hard white spots on her nose that she was born with are still there.",
        "Milia on the nose since the baby was born.",
    ],
)
def test_born_with_is_since_birth(reader: RecordReader, text: str) -> None:
    note = observation("o1", valueString=text)
    assert "neonatal-milia-persisting" in flags(reader.read(record(note, birth="2026-07-01")))


def test_a_relatives_immunosuppression_is_not_the_patients(reader: RecordReader) -> None:
    for text in ("Milia on the nose. Her mother has had a BMT.", "Milia. Mum had a renal tx."):
        note = observation("o1", valueString=text)
        assert "immunosuppression" not in flags(reader.read(record(note))), text


def test_a_newborn_with_lesions_described_as_milia_has_neonatal_milia(
    reader: RecordReader,
) -> None:
    note = observation("o1", valueString="Pinhead white spots across the chin and nose.")
    assessment = assess(reader.read(record(note, birth="2026-11-12")), KB)
    assert assessment.milia is not None
    assert "neonatal-milia" in assessment.variants
    assert assessment.red_flags == ()


def test_an_adults_milia_like_papule_with_red_flags_escalates(reader: RecordReader) -> None:
    note = observation(
        "o1", valueString="Firm white 2 mm papule on the temple that has begun to weep and scab."
    )
    assessment = assess(reader.read(record(note)), KB)
    assert assessment.milia is not None
    assert "bleeding-or-crusting" in {h.id for h in assessment.red_flags}


def test_a_doubted_former_diagnosis_does_not_silence_the_look_alike(reader: RecordReader) -> None:
    note = observation(
        "o1",
        valueString="Formerly diagnosed as milia; now several soft yellow papules with a central "
        "dimple on the forehead, ?sebaceous hyperplasia.",
    )
    assessment = assess(reader.read(record(note)), KB)
    assert "sebaceous-hyperplasia" in {h.id for h in assessment.mimics}


def test_the_assessment_says_what_was_read(reader: RecordReader) -> None:
    coded = {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "254679001"}]},
    }
    findings = reader.read(record(MILIA_NOTE, coded))
    assert (findings.notes_read, findings.coded_read) == (1, 1)


def test_a_broader_code_counts_as_milia_only_with_milia_in_words(reader: RecordReader) -> None:
    def condition(text: str | None) -> dict[str, Any]:
        code: dict[str, Any] = {
            "coding": [
                {
                    "system": "http://hl7.org/fhir/sid/icd-10-cm",
                    "code": "L72.0",
                    "display": "Epidermal cyst",
                }
            ]
        }
        if text:
            code["text"] = text
        return {
            "resourceType": "Condition",
            "id": "c1",
            "subject": {"reference": "Patient/p"},
            "code": code,
        }

    assert assess(reader.read(record(condition(None))), KB).milia is None
    assert assess(reader.read(record(condition("Epidermoid cyst of the back"))), KB).milia is None
    assert assess(reader.read(record(condition("Milia of cheeks"))), KB).milia is not None


def test_entries_are_described_by_kind_and_date_not_by_text(reader: RecordReader) -> None:
    note = observation("o1", valueString="Milium L cheek, bled.", effectiveDateTime="2026-11-20")
    undated = {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p"},
        "code": {"text": "Milia"},
    }
    described = dict(reader.read(record(note, undated)).described)
    assert described == {
        "Observation/o1": "the note of 2026-11-20",
        "Condition/c1": "the condition",
    }


def test_a_calls_reading_budget_is_its_own_processor_time_not_its_neighbours() -> None:
    """A worker's threads serve calls side by side: another call's work must not spend this
    call's budget (a process-wide clock ran out under load, and notes went unread)."""
    import threading
    import time

    from cds_service.clinical.findings import ReadingLimits, _Tally

    tally = _Tally(ReadingLimits(cpu_ms=50))

    def another_call() -> None:
        until = time.thread_time() + 0.2
        while time.thread_time() < until:
            pass

    neighbour = threading.Thread(target=another_call)
    neighbour.start()
    neighbour.join()
    assert tally.take("Milia L cheek.", "note") == "Milia L cheek."
    # Its own work does spend it.
    until = time.thread_time() + 0.06
    while time.thread_time() < until:
        pass
    assert tally.take("Milia L cheek.", "note") == ""
