"""The clinical text reader, mechanism by mechanism: inflection, abbreviations, lesion attachment,
site regions, time expressions and context. Each test reads a note as an EHR would send it and checks
what the reader says it asserts (the corpus in fixtures/corpus measures the same on 1,300 notes)."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.clinical.loading import default_content_dir, load_knowledge
from cds_service.clinical.terms import Shorthand, forms, parse, sequences, with_shorthand
from cds_service.clinical.text import TextReader, text_reader
from cds_service.clinical.vocabulary import Vocabulary

KB = load_knowledge(default_content_dir())
VOCABULARY = Vocabulary(KB)


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return text_reader(KB, frozenset(VOCABULARY.phrases()))


def said(reader: TextReader, text: str) -> dict[str, tuple[str, str]]:
    """Label -> (status, lesion) of every mention in ``text``."""
    return {
        label: (m.status, m.lesion)
        for m in reader.read(text).mentions
        for label in m.labels
        if not label.startswith("concept:")
    }


def there(reader: TextReader, text: str) -> bool:
    """Whether the reader finds a milia-like lesion present in ``text``."""
    return any(les.status == "present" for les in reader.read(text).lesions)


def flag(name: str) -> str:
    return f"red-flag:{name}"


#: The red flag "history of skin cancer" is recognised through the patient state (patients.yaml).
SKIN_CANCER_HISTORY = "state:skin-cancer-history"


# ------------------------------------------------------------------------------- inflection


def test_a_base_word_finds_its_inflections() -> None:
    assert {"bleed", "bleeds", "bled", "bleeding"} <= forms("bleed")
    assert {"enlarge", "enlarged", "enlarging"} <= forms("enlarge")
    assert forms("=red") == {"red"}  # "=" keeps a word as written
    assert forms("of") == {"of"}  # function words are not inflected


@pytest.mark.parametrize(
    ("text", "item"),
    [
        ("Milium L lid, bled twice this week.", "bleeding-or-crusting"),
        ("The milium on her cheek keeps bleeding.", "bleeding-or-crusting"),
        ("Milia on the temple, one has enlarged since spring.", "growing-larger"),
        ("Milium nose, getting bigger per pt.", "growing-larger"),
        ("White milium, tender on palpation.", "painful"),
        ("White bump on the L lid; it smarts when she rubs it.", "painful"),
        ("Milium L lid, she winced when I touched it.", "painful"),
        ("One of the milia has become sore, red and bigger.", "growing-larger"),
        ("Milia since the burn, not responding to adapalene.", "after-injury-not-improving"),
    ],
)
def test_a_flag_is_found_in_any_tense(reader: TextReader, text: str, item: str) -> None:
    assert flag(item) in said(reader, text)


# ---------------------------------------------------------------------------- abbreviations


def test_an_abbreviation_is_found_wherever_its_expansion_is() -> None:
    slots = parse("history of basal cell carcinoma", lambda t: t.split(), {})
    bcc = Shorthand(("bcc",), ("basal", "cell", "carcinoma"), False)
    spelled = {
        " ".join("#" if p is None else sorted(p[1])[0] for p in variant)
        for sequence in sequences(slots, inflect=False)
        for variant in with_shorthand(sequence, [bcc])
    }
    assert spelled == {"history of basal cell carcinoma", "history of bcc"}


@pytest.mark.parametrize(
    ("text", "item"),
    [
        ("h/o BCC nose. Milia L cheek.", SKIN_CANCER_HISTORY),
        ("Hx multiple SCCs. Now milia on the forehead.", SKIN_CANCER_HISTORY),
        ("s/p XRT to the L cheek; milia in the treated area.", flag("radiotherapy-to-site")),
        ("milium L lower lid, TTP.", flag("painful")),
        ("milium nose w/ telangs over it.", flag("bcc-pattern")),
        ("wht papule nasal tip 2mm ulcd centre w/ crust ?BCC ?milium", flag("ulceration")),
        ("milium R cheek, small ulc. at its centre", flag("ulceration")),
    ],
)
def test_reviewed_shorthand_is_read(reader: TextReader, text: str, item: str) -> None:
    assert item in said(reader, text)


# ------------------------------------------------------------------------ lesion attachment


def test_an_attribute_of_another_lesion_does_not_count_for_the_milia(reader: TextReader) -> None:
    found = said(reader, "Scattered milia periorbital. 6 mm mole on the back, bleeding.")
    assert found[flag("bleeding-or-crusting")][1] == "other"
    assert found["condition:milia"] == ("present", "milia")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        # Milia en plaque: the plaque's redness and swelling are the milia's.
        (
            "R retroauricular erythematous, oedematous plaque studded with numerous 1-2 mm milia.",
            flag("inflamed"),
        ),
        (
            "3 cm red, swollen plaque with dozens of 1-2 mm white milia behind the L ear.",
            "inflamed",
        ),
        ("Milia arising on an erythematous, oedematous plaque L temple.", flag("inflamed")),
        ("Milia on a red swollen plaque L retroauricular.", flag("inflamed")),
        (
            "L retroauricular plaque, red and swollen, studded with dozens of 1-2 mm white milia.",
            flag("inflamed"),
        ),
        # The plaque's own site between it and the milia.
        ("Red, raised plaque behind the L ear studded with tiny white milia.", flag("inflamed")),
        ("Crusted plaque covered in milia on the R cheek.", flag("bleeding-or-crusting")),
    ],
)
def test_what_is_said_of_a_lesion_milia_are_on_is_said_of_the_milia(
    reader: TextReader, text: str, label: str
) -> None:
    found = said(reader, text)
    label = label if label.startswith("red-flag:") else flag(label)
    assert found[label] == ("present", "milia")


def test_induration_alone_is_not_inflammation(reader: TextReader) -> None:
    found = said(reader, "Pink indurated plaque studded with tiny white milia behind the L ear.")
    assert found["condition:milia"] == ("present", "milia")
    assert flag("inflamed") not in found


@pytest.mark.parametrize(
    "text",
    [
        "Pink papule on the R forearm, bleeding. 2 milia on the L cheek.",
        "Erythematous plaque with a milium next to it, the plaque crusted.",
        "Red scaly plaque on the shin and milia on both cheeks.",
        "Erythematous plaque on the back; milia on the nose.",
    ],
)
def test_milia_beside_another_lesion_or_in_another_clause_are_not_on_it(
    reader: TextReader, text: str
) -> None:
    found = said(reader, text)
    flags = {k: v for k, v in found.items() if k.startswith("red-flag:")}
    assert flags, "the other lesion's finding is read"
    assert all(lesion == "other" for _, lesion in flags.values()), flags


def test_a_look_alike_to_rule_out_is_no_lesion_of_its_own(reader: TextReader) -> None:
    # "r/o BCC" weighs a diagnosis for the papule described: the translucent edge is the papule's.
    text = (
        "L cheek: 3 mm white milium-like bump, wife says it has got bigger since spring; translucent"
        " rim and a small vessel on dermoscopy - r/o BCC, punch biopsy arranged."
    )
    assert said(reader, text)[flag("bcc-pattern/any_of.0")] == ("present", "milia")


@pytest.mark.parametrize(
    "text",
    [
        "Throat mildly erythematous, tonsils grade 1, no exudate.",
        "TMs red and bulging bilaterally.",
        "Milia on cheeks. Throat red and inflamed.",
    ],
)
def test_what_is_said_of_a_structure_that_is_not_skin_is_not_said_of_a_lesion(
    reader: TextReader, text: str
) -> None:
    found = said(reader, text)
    assert found.get(flag("inflamed"), ("present", "other"))[1] == "other"


def test_the_eyes_and_their_treatment_are_not_a_lesion(reader: TextReader) -> None:
    found = said(
        reader, "C/o eyes that sting, dry eye. Incidental: 3 milia R upper lid. Lid warming."
    )
    assert found[flag("painful")][1] == "other"
    assert flag("inflamed") not in found


@pytest.mark.parametrize(
    "text",
    [
        "Milia on the cheeks, one inflamed; lungs clear.",
        "Lungs clear, milia on the cheeks with one inflamed.",
        "Throat red and a cyst on the chin that is inflamed.",
    ],
)
def test_a_lesion_in_the_same_sentence_wins_over_a_structure_that_is_not_skin(
    reader: TextReader, text: str
) -> None:
    assert said(reader, text)[flag("inflamed")][1] != "other"


def test_an_attribute_in_the_next_sentence_belongs_to_the_lesion_just_named(
    reader: TextReader,
) -> None:
    found = said(reader, "?milia L lower lid. Bled on touch last week.")
    assert found[flag("bleeding-or-crusting")] == ("present", "milia")


def test_a_milium_seen_before_and_found_today_with_a_red_flag_is_there_now(
    reader: TextReader,
) -> None:
    found = said(
        reader,
        "Seen previously with a milium R lower lid. Today: 3 mm, with a central erosion, "
        "no crust, sits 3 mm below the lashes.",
    )
    assert found["condition:milia"] == ("present", "milia")
    assert found[flag("ulceration")] == ("present", "milia")


@pytest.mark.parametrize(
    ("text", "present"),
    [
        (
            "Her beautician told her the bumps on her forehead are milia. O/E: closed comedones"
            " and a few inflamed papules. No milia.",
            False,
        ),
        ("Mum asked about her own milia. Baby: skin clear, no milia.", False),
        # Without the note's own denial, someone else's word for it may be right.
        ("Mum thinks they're milia. O/E 2 mm white papule L cheek, bled twice.", True),
        ("Pt told by her GP these are milia. O/E: 1 mm white papules, typical milia.", True),
        # Advice not to handle them says they are there.
        ("Advised not to squeeze the milia on her cheeks.", True),
        # Answered by a look-alike that cannot be a cancer, in a note without a red flag.
        (
            'Referred as "milia". O/E amber papules on sun-damaged skin: colloid milium.',
            False,
        ),
        (
            'Pt says he has "milia". Soft yellow papules on the forehead: sebaceous hyperplasia.',
            False,
        ),
        # Not when the answer may be a cancer, or the note holds a red flag (or a word of one).
        ('Referred as "milia". O/E 3 mm pearly papule, rolled edge: nodular BCC.', True),
        ('Referred as "milia". Translucent amber papules: colloid milium.', True),
        ('Referred as "milia". They bled last week. Sebaceous hyperplasia.', True),
        # An earlier exam carried into the note, and today's.
        (
            "** Previous exam carried forward ** Skin: multiple milia bilateral lower lids. -----"
            " Exam today: lower lids clear, no milia seen.",
            False,
        ),
        (
            "** Previous exam carried forward ** Skin: milia L lower lid. ----- Exam today:"
            " milia unchanged, no new lesions.",
            True,
        ),
    ],
)
def test_milia_in_someone_elses_or_an_earlier_notes_words_are_set_aside_when_the_note_denies_them(
    reader: TextReader, text: str, present: bool
) -> None:
    assert there(reader, text) is present


@pytest.mark.parametrize(
    ("text", "present"),
    [
        ("Explained that tiny white bumps (milia) sometimes form in healing scars.", False),
        ("Explained that milia and pigment change are recognised complications.", False),
        ("Advised that tiny white bumps can appear after peels; none today.", False),
        # Said of the patient's own lesions: there.
        ("Explained that the tiny firm white spots on her knuckles are milia.", True),
    ],
)
def test_what_is_taught_in_general_is_no_lesion_of_the_patient(
    reader: TextReader, text: str, present: bool
) -> None:
    assert there(reader, text) is present


@pytest.mark.parametrize(
    ("text", "present"),
    [
        ("Milia over the nose noted at the newborn check have now cleared completely.", False),
        ("The nasal milia seen at 2 weeks have all gone.", False),
        # Another clause, or a verb that says it calmed down: still there.
        ("Milia persist, but the redness has cleared.", True),
        ("Milia came up in the irradiated skin afterwards but have all cleared.", False),
        ("The milium on her chin that was inflamed a fortnight ago has settled.", True),
    ],
)
def test_milia_whose_sentence_says_they_have_gone_are_not_there(
    reader: TextReader, text: str, present: bool
) -> None:
    assert there(reader, text) is present


@pytest.mark.parametrize(
    "text",
    [
        # said to have gone
        "H/o milia as a child, resolved. Today: bleeding from a cut on the chin.",
        # the finding is said of another part of the body
        "PMH: milia removed from R lower lid by derm 2 yrs ago, no recurrence. "
        "Attends today re L knee pain.",
    ],
)
def test_milia_of_the_past_stay_past_when_what_follows_is_not_about_them(
    reader: TextReader, text: str
) -> None:
    assert said(reader, text)["condition:milia"][0] == "historical"


def test_one_of_them_refers_back_to_the_milia(reader: TextReader) -> None:
    found = said(reader, "Several milia on the forehead. One of them has bled.")
    assert found[flag("bleeding-or-crusting")][1] == "milia"


def test_a_size_counts_only_for_the_lesion_it_is_said_of(reader: TextReader) -> None:
    reading = reader.read("Milia 1 mm on both lids. Trunk: 7 mm naevus, regular.")
    assert [lesion.sizes_mm for lesion in reading.lesions] == [(1.0,)]


# ---------------------------------------------------------------------- milia-like lesions


@pytest.mark.parametrize(
    "text",
    [
        "Pinhead white spots across the chin and nose.",
        "Firm white 2 mm papule on the temple.",
        "Hard white bump under the eye that won't squeeze.",
        "Asks about tiny white seeds on both cheeks that she cannot pop.",  # the lay word
        "wht firm spot chin x3/52, nil expressible",  # shorthand for the colour
    ],
)
def test_a_lesion_described_as_milia_is_milia_like(reader: TextReader, text: str) -> None:
    lesions = reader.read(text).lesions
    assert lesions and not lesions[0].named


@pytest.mark.parametrize(
    "text", ["Brown 3 mm papule on the back.", "Pink scaly plaque on the shin.", "Mole L arm."]
)
def test_a_lesion_described_otherwise_is_not(reader: TextReader, text: str) -> None:
    assert not reader.read(text).lesions


# ----------------------------------------------------------------------------- site regions


def test_sites_are_compared_by_region(reader: TextReader) -> None:
    sites = reader.sites
    assert sites.with_regions(["lower-eyelid"]) == ("lower-eyelid", "eyelid", "periocular", "face")
    assert sites.same_region(["lower-eyelid"], ["eyelid-margin"])
    assert not sites.same_region(["cheek"], ["back"])
    # Skin of cheek (36141000) and cheek structure (60819002) are one site.
    assert sites.by_code[("http://snomed.info/sct", "36141000")] == "cheek"
    assert sites.by_code[("http://snomed.info/sct", "60819002")] == "cheek"


def test_the_lash_line_is_the_eyelid_margin(reader: TextReader) -> None:
    lesion = reader.read("Tiny milium among the lashes of the R upper lid.").lesions[0]
    assert "eyelid-margin" in lesion.sites


# --------------------------------------------------------------------------- time from text


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("Milia L cheek x 6 wks.", 42),
        ("Milia on the nose for 18/12.", 547),
        ("Milia present approx. 2 yrs.", 730),
        ("Milia for the last year and a half.", 548),
        ("milium L temple x6wks", 42),
        ("Milia on the eyelids for eight or nine months.", 274),
        # Dated by what came before them, the sentence before.
        (
            "Had a chemical peel about eight months ago. Milia developed over the following weeks.",
            243,
        ),
        ("Skin graft R foot two years ago. Milia have been present over it since it healed.", 730),
        ("Fractional laser a year ago. Tiny white cysts came up afterwards, still there.", 365),
    ],
)
def test_a_duration_is_read_from_the_note(reader: TextReader, text: str, days: int) -> None:
    lesion = reader.read(text).lesions[0]
    assert lesion.days is not None and abs(lesion.days - days) <= 2


def test_a_date_in_the_note_gives_a_duration(reader: TextReader) -> None:
    from datetime import UTC, datetime

    two_years_ago = datetime.now(UTC).year - 2
    for text in (f"Milia on the nose since {two_years_ago}.", f"Milia since 01/{two_years_ago}."):
        days = reader.read(text).lesions[0].days
        assert days is not None and days > 365, text


def test_an_age_is_not_a_duration(reader: TextReader) -> None:
    assert reader.read("41M, milia on the nose.").lesions[0].days is None
    assert reader.read("A 6 month old with milia on the nose.").lesions[0].days is None


def test_a_drugs_duration_is_not_the_milias(reader: TextReader) -> None:
    text = "On clobetasol for hand eczema for 3 years. Milia on the hands for 6 weeks."
    assert [lesion.days for lesion in reader.read(text).lesions] == [42.0]


@pytest.mark.parametrize(
    ("text", "days"),
    [
        # A cause between the milia and their time does not take the time.
        ("Several milia over the irradiated skin of the L chest, present about 8 months.", 243),
        # Said of the milia named before it, not of the lesion named after it.
        (
            "Milia on each lower lid, unchanged over the past year per pt. Seb keratosis L temple.",
            365,
        ),
    ],
)
def test_a_time_after_a_word_of_presence_is_the_lesions_before_it(
    reader: TextReader, text: str, days: int
) -> None:
    (lesion,) = reader.read(text).lesions
    assert lesion.days is not None and abs(lesion.days - days) <= 2


def test_since_birth_and_new_lesions_every_week(reader: TextReader) -> None:
    assert reader.read("Milia on the face since birth.").lesions[0].since_age_days == 0
    lesions = reader.read("Milia came up over ten days, new ones every week.").lesions
    onsets = [lesion.onset_within_days for lesion in lesions if lesion.onset_within_days]
    assert onsets and min(onsets) <= 10


def test_time_in_a_hypothetical_clause_does_not_count(reader: TextReader) -> None:
    lesion = reader.read("Milia L temple. If still present in 6 months, extract.").lesions[0]
    assert lesion.days is None


# --------------------------------------------------------------------------------- context


@pytest.mark.parametrize(
    "text",
    [
        "No evidence of milia.",
        "Milia excluded.",
        "Milia: not seen.",
        "The milia have cleared.",
        "Consent discussed: scarring, infection, milia.",
        "Mother had milia as a baby.",
        "Return if white spots appear on the nose.",
        "Risks explained incl. pigment change, infection, milia.",  # shorthand for 'including'
        "Milia noted on the nose at birth have now cleared.",
        "Had milia on the nose as a newborn, all gone by 6 weeks.",
    ],
)
def test_milia_said_not_to_be_present_do_not_count(reader: TextReader, text: str) -> None:
    found = said(reader, text)
    assert found.get("condition:milia", ("gone", ""))[0] not in {"present", "uncertain"}


@pytest.mark.parametrize(
    ("text", "label", "status"),
    [
        # A treatment to come is not one had; one started is.
        (
            "Milia L cheek. Due to start radiotherapy to the L breast next month.",
            "trigger:radiotherapy",
            None,
        ),
        (
            "Milia on the face since starting vemurafenib 6 wks ago.",
            "drug-class:braf-kinase-inhibitors",
            "present",
        ),
        # A recent span is now; "in the past" alone is not.
        ("Eruption of many milia over the face in the past 2 weeks.", "condition:milia", "present"),
        ("Milia on the nose in the past, none now.", "condition:milia", "historical"),
        # An onset long ago is how long the milia have been there, not a past episode.
        ("Milia on the L cheek that started 2 years ago.", "condition:milia", "present"),
    ],
)
def test_when_a_cue_says_a_thing_happened(
    reader: TextReader, text: str, label: str, status: str | None
) -> None:
    assert said(reader, text).get(label, (None, ""))[0] == status


def test_a_relative_calling_about_another_is_calling_about_the_patient(reader: TextReader) -> None:
    text = "Son phoned re his mother's milium on the L temple - he says it has bled twice."
    found = said(reader, text)
    assert found["condition:milia"][0] == "present"
    assert found[flag("bleeding-or-crusting")][0] == "present"
    # A relative's own history is still family history.
    assert SKIN_CANCER_HISTORY not in said(reader, "Milia L cheek. Her mother's BCC was excised.")


@pytest.mark.parametrize(
    ("text", "label", "status"),
    [
        # The relative tells; the finding is the patient's.
        ("His father has noticed tiny white milia under both eyes.", "condition:milia", "present"),
        ("She is worried about her own milia on the nose.", "condition:milia", "present"),
        # The relative's own care is not the patient's.
        (
            "Milia on the cheeks. Her husband is being investigated for night sweats.",
            flag("other-symptoms"),
            None,
        ),
        ("Worried about skin cancer. Milia L cheek.", "mimic:basal-cell-carcinoma", None),
        ("Milia L cheek. Her husband has had several BCCs removed.", SKIN_CANCER_HISTORY, None),
        # What is expected is not what happened.
        (
            "Told mum these are milia, leave them alone, usually gone in a few weeks.",
            "condition:milia",
            "present",
        ),
        ("Milia on the nose have cleared.", "condition:milia", "historical"),
    ],
)
def test_whose_finding_it_is(reader: TextReader, text: str, label: str, status: str | None) -> None:
    assert said(reader, text).get(label, (None, ""))[0] == status


@pytest.mark.parametrize("word", ["mileum", "millium", "milim", "milai", "Miliam"])
def test_a_milia_name_misspelt_by_one_letter_is_read(reader: TextReader, word: str) -> None:
    assert said(reader, f"{word} on the L cheek, bled twice.")["condition:milia"][0] == "present"


def test_english_words_one_letter_from_a_milia_name_are_not_misspellings(
    reader: TextReader,
) -> None:
    """Every English word lemminflect knows one letter from a milia name ("cilia", the lashes)
    is listed in the lexicon's not_misspellings, so it is read as itself."""
    import lemminflect

    from cds_service.clinical.text import misspellings

    listed = set(KB.lexicon.lesions.not_misspellings)
    variants = misspellings(KB.lexicon.lesions.milia, set())
    english = {w for w in variants if lemminflect.getAllLemmas(w)}
    assert english <= listed, f"add to lesions.not_misspellings: {sorted(english - listed)}"
    for text in (
        "Small cyst at the cilia of the L lid.",
        "Marrow aspirate from the posterior ilium.",  # another word one letter from "milium"
        "Emilia, her daughter, was present.",  # a name one letter from "milia"
    ):
        assert "condition:milia" not in said(reader, text), text


def test_english_words_one_slip_from_a_long_name_are_not_misspellings(reader: TextReader) -> None:
    """Every English word lemminflect knows one slip from a long name (a letter added, dropped or
    changed, two swapped) is listed in not_misspellings, or is the name's plural."""
    import string

    import lemminflect

    listed = set(KB.lexicon.lesions.not_misspellings)
    letters = string.ascii_lowercase
    english = set()
    for name in reader._near._names:
        slips = {name[:i] + c + name[i:] for i in range(len(name) + 1) for c in letters}
        slips |= {name[:i] + name[i + 1 :] for i in range(len(name))}
        slips |= {name[:i] + c + name[i + 1 :] for i in range(len(name)) for c in letters}
        slips |= {name[:i] + name[i + 1] + name[i] + name[i + 2 :] for i in range(len(name) - 1)}
        for word in slips - {name, name + "s"}:
            if reader._near.name_for(word) and lemminflect.getAllLemmas(word):
                english.add(word)
    assert english <= listed, f"add to lesions.not_misspellings: {sorted(english - listed)}"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("64F RA, long-term penicilamine. Milia forehead, 1 mm.", "drug-class:penicillamine"),
        (
            "s/p dermabraison of an old tattoo 2/12 ago; milia over the site.",
            "trigger:dermabrasion",
        ),
        ("After flurouracil cream to the forehead, milia there.", "drug-class:fluorouracil"),
    ],
)
def test_a_long_name_with_one_slip_is_read_as_the_name(
    reader: TextReader, text: str, label: str
) -> None:
    assert label in said(reader, text)


@pytest.mark.parametrize("brand", ["Glivec", "Mekinist", "Tasigna"])
def test_a_kinase_inhibitor_is_found_by_its_brand_name(reader: TextReader, brand: str) -> None:
    assert "drug-class:braf-kinase-inhibitors" in said(
        reader, f"On {brand} daily. Milia on cheeks."
    )


def test_an_english_word_one_slip_from_a_name_is_itself(reader: TextReader) -> None:
    found = said(reader, "Milia. Differing opinions; a fraction of the cost of freeing time.")
    assert not any(label.startswith(("drug-class:", "trigger:", "caution:")) for label in found)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("He thinks it is a millie um.", "milium"),
        ("A single milly um on the L cheek.", "milium"),
        ("More in keeping with colloid millie um.", "colloid milium"),
    ],
)
def test_a_name_whose_ending_dictation_split_is_read_whole(
    reader: TextReader, text: str, name: str
) -> None:
    assert any(m.text == name for m in reader.read(text).mentions), reader.read(text).mentions


def test_a_pause_after_a_name_spelt_right_is_not_part_of_it(reader: TextReader) -> None:
    assert [les.text for les in reader.read("Milia um a few weeks, L cheek.").lesions] == ["milia"]


def test_a_number_of_lesions_is_not_a_negation(reader: TextReader) -> None:
    assert said(reader, "Pt reports ↑ no. of milia on the cheeks.")["condition:milia"][0] == (
        "present"
    )


@pytest.mark.parametrize(
    ("text", "label", "status"),
    [
        ("?milia vs syringoma L lower lid.", "mimic:syringoma", "uncertain"),
        ("Milia or closed comedones?", "condition:milia", "uncertain"),
        ("Probably milia but I cannot exclude a BCC.", "mimic:basal-cell-carcinoma", "uncertain"),
        # Doubt said as what cannot be excluded, in its spellings, and the short "basal cell".
        ("White papule L nose, can't rule out BCC.", "mimic:basal-cell-carcinoma", "uncertain"),
        ("White papule L nose, could not rule out BCC.", "mimic:basal-cell-carcinoma", "uncertain"),
        ("White papule L nose; couldn't exclude BCC.", "mimic:basal-cell-carcinoma", "uncertain"),
        ("White papule L nose, unable to rule out BCC.", "mimic:basal-cell-carcinoma", "uncertain"),
        ("Could be a milium but BCC must be excluded.", "mimic:basal-cell-carcinoma", "uncertain"),
        ("White papule; BCC needs to be ruled out.", "mimic:basal-cell-carcinoma", "uncertain"),
        (
            "3 mm white papule, crusted. I can't exclude a basal cell.",
            "mimic:basal-cell-carcinoma",
            "uncertain",
        ),
        # A denial far off and a doubt near: the doubt is what the words say.
        (
            "It does not look like a typical milium and I can't exclude a basal cell.",
            "mimic:basal-cell-carcinoma",
            "uncertain",
        ),
        ("When scratched it bleeds. Milium L cheek.", flag("bleeding-or-crusting"), "present"),
        ("Previous excision of a BCC from the nose.", SKIN_CANCER_HISTORY, "historical"),
    ],
)
def test_status_of_a_mention(reader: TextReader, text: str, label: str, status: str) -> None:
    assert said(reader, text)[label][0] == status


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Milia L cheek. Mother had a BCC.", SKIN_CANCER_HISTORY),
        ("Milia on the lids. Come back if it starts bleeding.", flag("bleeding-or-crusting")),
        ("Milia, non-tender.", flag("painful")),
        ("I would be grateful if you could see her; milia on the nose.", "nothing"),
        # What a habit or a drug can cause, in general.
        ("Milia. Do not pick: damaging the skin can cause scarring.", "trigger:skin-trauma"),
        # A doubt denied is no doubt.
        ("Milia. No clinical suspicion of BCC.", "mimic:basal-cell-carcinoma"),
        ("Milia since birth, skin not fragile, no concern for EB.", flag("blistering-disease")),
    ],
)
def test_family_hypothetical_and_negated_mentions_do_not_count(
    reader: TextReader, text: str, label: str
) -> None:
    assert label not in said(reader, text)


def test_a_letters_courtesy_is_not_a_hypothetical(reader: TextReader) -> None:
    text = "I would be grateful if you could see this man with a milium that bled."
    assert said(reader, text)[flag("bleeding-or-crusting")][0] == "present"


def test_a_history_cue_stops_at_a_semicolon(reader: TextReader) -> None:
    found = said(reader, "s/p XRT scalp for SCC; milia on the scalp now.")
    assert found["condition:milia"][0] == "present"


# ------------------------------------------------------------------------------- linearity


def test_reading_time_grows_linearly_with_the_note(reader: TextReader) -> None:
    """Recognition visits each token a bounded number of times: a note ten times longer gives ten
    times the matches, not a hundred (timings belong in bench/; this counts the work)."""
    unit = "Skin: 2 mm firm white papule L lower lid x 3/12, bled twice. "
    short = reader.read(unit * 5)
    long = reader.read(unit * 50)
    assert len(long.mentions) == 10 * len(short.mentions)


def test_a_long_note_is_read_in_passages_with_the_same_findings(reader: TextReader) -> None:
    # A full skin exam repeated to 60 KB: every milia-like lesion and every bleeding is still found.
    unit = "Face: 2 mm firm white papule L lower lid, bled twice. Back: 6 mm brown macule. "
    note = unit * 750
    # Read whole: the record reader passes the settings' per-note limit (20,000 by default).
    reading = reader.read(note, limit=len(note))
    assert len(reading.lesions) == 750
    bleeding = [m for m in reading.mentions if flag("bleeding-or-crusting") in m.labels]
    assert len(bleeding) == 750 and {m.lesion for m in bleeding} == {"milia"}


def test_a_cheek_and_an_ear_are_two_places(reader: TextReader) -> None:
    sites = reader.sites
    assert not sites.same_region(["cheek"], ["ear"])  # both on the face: two places
    assert sites.same_region(["face"], ["cheek"])  # "the face" holds the cheek
    assert sites.same_region(["lower-eyelid"], ["eyelid-margin"])  # one eyelid


def test_a_site_after_on_locates_the_lesion_just_named(reader: TextReader) -> None:
    lesions = reader.read("Amber papules on the sun-exposed ears; milia on the cheeks.").lesions
    milia = next(lesion for lesion in lesions if lesion.text == "milia")
    assert "ear" not in milia.sites and "cheek" in milia.sites


def test_a_reading_stops_at_its_limit(reader: TextReader) -> None:
    unit = "Face: 2 mm firm white papule L lower lid, bled twice. Back: 6 mm brown macule. "
    whole, cut = reader.read(unit * 100, limit=len(unit) * 100), reader.read(unit * 100, limit=800)
    assert len(whole.lesions) == 100 and len(cut.lesions) < 15


def test_term_ends_pair_each_first_word_with_the_words_its_terms_end_with(
    reader: TextReader,
) -> None:
    ends = reader.term_ends
    assert ends is not None  # no term of the content begins with a number
    assert {"milia", "basal", "bleeding"} <= set(ends)
    assert "milia" in (ends["milia"] or ())
    assert "carcinoma" in (ends["basal"] or ())
    # "bp" begins terms (an abbreviation), none of which ends with a blood pressure's numbers.
    bp = ends.get("bp")
    assert bp is None or not {"134", "72"} & bp


NOTE = "2 mm white papule on the left lower eyelid margin, bleeding, not healing"
TYPOGRAPHY = {
    "no-break spaces": NOTE.replace(" ", "\u00a0"),
    "narrow no-break spaces": NOTE.replace(" ", "\u202f"),
    "zero-width spaces": NOTE.replace(" ", " \u200b"),
    # invisible marks as the only thing between words, or around them (right-to-left pastes)
    "zero-width spaces for spaces": NOTE.replace(" ", "\u200b"),
    "word joiners for spaces": NOTE.replace(" ", "\u2060"),
    "left-to-right marks around words": NOTE.replace("bleeding", "\u200ebleeding\u200e"),
    "a directional embedding inside a word": NOTE.replace("bleeding", "blee\u202eding\u202c"),
    "an isolate around the site": NOTE.replace("eyelid", "\u2066eyelid\u2069"),
    "tabs": NOTE.replace(" ", "\t"),
    "a soft hyphen inside a word": NOTE.replace("bleeding", "blee\u00adding"),
    "full-width letters": NOTE.replace(
        "bleeding", "\uff42\uff4c\uff45\uff45\uff44\uff49\uff4e\uff47"
    ),
    "an en dash for a hyphen": NOTE.replace("not healing", "non\u2013healing"),
    "upper case": NOTE.upper(),
}


@pytest.mark.parametrize("written", TYPOGRAPHY.values(), ids=TYPOGRAPHY.keys())
def test_a_note_reads_the_same_whatever_its_typography(reader: TextReader, written: str) -> None:
    # Notes pasted from word processors and web pages: every red flag of the plain note is read.
    def flags(text: str) -> set[str]:
        return {lbl for m in reader.read(text).mentions for lbl in m.labels if "red-flag" in lbl}

    assert flags(NOTE) == {
        "red-flag:bleeding-or-crusting",
        "red-flag:eyelid-margin",
        "red-flag:ulceration",
    }
    assert flags(written) >= flags(NOTE)


def test_a_template_answered_line_by_line_negates_each_line_only(reader: TextReader) -> None:
    template = "Milium L cheek.\nBleeding: No\nCrusting: No\nUlceration: No\nIncrease in size: No"
    said = {lbl for m in reader.read(template).mentions for lbl in m.labels}
    assert said == {"condition:milia"}  # "No" ends its line: no flag from the next line
    answered = template.replace("Crusting: No", "Crusting: Yes, scab on it")
    assert "red-flag:bleeding-or-crusting" in {
        lbl for m in reader.read(answered).mentions if m.status == "present" for lbl in m.labels
    }


@pytest.mark.parametrize(
    "checklist",
    [
        "Milium R forehead, 2 mm [x] Bleeding [ ] Ulcer [ ] Pain [x] Growth [ ] Colour change",
        "Milium R forehead, 2 mm\n[X] Bleeding\n[] Ulcer\n[ ] Pain\n[x] Growth",
        "Milium R forehead, 2 mm \u2611 Bleeding \u2610 Ulcer \u2610 Pain \u2612 Growth",
    ],
)
def test_a_check_box_says_yes_when_ticked_and_no_when_empty(
    reader: TextReader, checklist: str
) -> None:
    present = {
        lbl for m in reader.read(checklist).mentions if m.status == "present" for lbl in m.labels
    }
    assert {flag("bleeding-or-crusting"), flag("growing-larger")} <= present
    assert not present & {flag("ulceration"), flag("painful")}


def test_unlikely_negates_the_words_just_before_it_not_the_whole_sentence(
    reader: TextReader,
) -> None:
    # medspaCy's "unlikely" reached back over the whole sentence: the milium was negated with
    # the look-alike, and a patient with milia in the record got no card at all.
    reading = reader.read("Milium L cheek, BCC unlikely")
    present = {lbl for m in reading.mentions if m.status == "present" for lbl in m.labels}
    assert "condition:milia" in present
    assert not present & {"mimic:basal-cell-carcinoma", "concept:skin-cancer"}


def test_none_before_findings_denies_them_and_the_list_they_begin(reader: TextReader) -> None:
    present = {
        lbl
        for text in (
            "Milia on the cheeks, none painful.",
            "Milia x4 under the eyes, none tender, inflamed or bleeding.",
        )
        for m in reader.read(text).mentions
        if m.status == "present"
        for lbl in m.labels
    }
    assert "condition:milia" in present
    assert not present & {flag("painful"), flag("inflamed"), flag("bleeding-or-crusting")}
    # Milia named after the list are still there.
    assert there(reader, "Papules on the chin, none tender, milia on the nose.")
    # A list that "none" does not begin is not denied: the second sentence says a finding.
    reading = reader.read("Milia x3, none painful. One bled last week.")
    assert flag("bleeding-or-crusting") in {
        lbl for m in reading.mentions if m.status == "present" for lbl in m.labels
    }


def test_an_abbreviation_of_a_hyphenated_expansion_is_found(reader: TextReader) -> None:
    # The expansion is read by the tokenizer, as the terms are ("non-melanoma": non - melanoma);
    # split on spaces it matched no term, and "Hx NMSC" was never a skin cancer history.
    labels = {lbl for m in reader.read("Hx NMSC, milia L cheek").mentions for lbl in m.labels}
    assert "concept:skin-cancer" in labels


def test_every_token_pattern_the_reader_builds_passes_spacys_check(reader: TextReader) -> None:
    """The term matchers skip spaCy's check of each pattern (a pydantic model apiece, slow at
    start-up) because the patterns are made, not written: this is that check, on all of them."""
    from spacy.schemas import validate_token_pattern

    from cds_service.clinical.matchers import TermMatcher

    matchers = [m for m in vars(reader).values() if isinstance(m, TermMatcher)]
    spacy_matchers: list[Any] = [m._patterns for m in matchers]
    patterns = [
        pattern
        for spacy_matcher in spacy_matchers
        for pattern_list in spacy_matcher._patterns.values()  # the patterns as added
        for pattern in pattern_list
    ]
    assert len(matchers) == 2 and len(patterns) >= 5
    assert [validate_token_pattern(p) for p in patterns] == [[]] * len(patterns)
