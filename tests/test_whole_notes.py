"""Whole notes of the kinds an independent probe (fixtures/corpus-probes, F) found misread: what
each asserts about the patient's milia, read end to end as a hook would (reader, then rules)."""

from __future__ import annotations

import pytest

from tests.test_reasoning import ADULT, KB, OLDER, assessed, note

CASES = [
    pytest.param(
        # "r/o BCC" is a look-alike to rule out, never a history of skin cancer
        "Solitary firm white papule L cheek, 2 mm. Impression: milium, r/o BCC.",
        OLDER,
        {"diagnosis-uncertain"},
        {"history-of-skin-cancer"},
        {"basal-cell-carcinoma"},
        set(),
        id="rule-out-bcc",
    ),
    pytest.param(
        # doubt with an adverb between its words
        "Two tiny white papules R nose. They may simply be milia, but I cannot exclude recurrence.",
        OLDER,
        {"diagnosis-uncertain"},
        set(),
        set(),
        set(),
        id="may-simply-be",
    ),
    pytest.param(
        "Tiny white papule L temple. I am no longer confident this is a milium.",
        OLDER,
        {"diagnosis-uncertain"},
        set(),
        set(),
        set(),
        id="no-longer-confident",
    ),
    pytest.param(
        # a season with "the" and "before last": more than a year
        "Tiny white papule on the L temple since the summer before last, a milium.",
        ADULT,
        {"persisting-many-months"},
        set(),
        set(),
        set(),
        id="summer-before-last",
    ),
    pytest.param(
        # one milium that changed over weeks is not a crop of new lesions
        "Milium L temple, diagnosed by a locum. Over the past few weeks it has developed a "
        "shallow central ulcer that has not healed.",
        OLDER,
        {"ulceration"},
        {"spreading-rapidly"},
        set(),
        set(),
        id="one-milium-is-no-crop",
    ),
    pytest.param(
        # a noun with its adjective after it
        "Milia over knuckles and elbows at sites of healed blisters; nails dystrophic.",
        ADULT,
        {"genodermatosis-signs"},
        set(),
        set(),
        set(),
        id="nails-dystrophic",
    ),
    pytest.param(
        # a name dictation split in two, and a transcription's disclaimer that denies nothing
        "Dictated, not read: Pt has a milly a on the R lower lid margin in among the lashes, "
        "~1 yr. Occasionally bleeds when she rubs her eye.",
        ADULT,
        {"eyelid-margin", "bleeding-or-crusting", "persisting-many-months"},
        set(),
        set(),
        set(),
        id="dictated-split-name",
    ),
    pytest.param(
        "dictated not read. patient had radio therapy to the right neck one and a half years ago "
        "period numerous mill ya noted on the right neck within the treated area",
        OLDER,
        {"radiotherapy-to-site"},
        set(),
        set(),
        set(),
        id="dictated-radio-therapy",
    ),
    pytest.param(
        # a drug named with a dose form that takes it out of its class: topical tacrolimus is no
        # systemic immunosuppression
        "Periocular skin thin and atrophic, with multiple tiny milia. Stop clobetasol -> "
        "tacrolimus 0.1% oint.",
        ADULT,
        set(),
        {"immunosuppression"},
        set(),
        set(),
        id="topical-tacrolimus",
    ),
    pytest.param(
        "Renal transplant 2019, on tacrolimus 2 mg bd. Several milia on both cheeks.",
        ADULT,
        {"immunosuppression"},
        set(),
        set(),
        set(),
        id="systemic-tacrolimus",
    ),
    pytest.param(
        # a denial of change is not a denial of the time: they have been there two years
        "Milia L cheek without any change x 2 yrs.",
        ADULT,
        {"persisting-many-months"},
        set(),
        set(),
        set(),
        id="without-change-for-years",
    ),
    pytest.param(
        # a hedge between the verb and the colour, and a shape compared with before
        "Pt writes: the little white bump by my nose that you said was a milia has turned kind "
        "of pinkish-grey and looks more irregular.",
        ADULT,
        {"change-in-size-colour-shape"},
        set(),
        set(),
        set(),
        id="turned-kind-of-pinkish",
    ),
    pytest.param(
        # a parent's own history in a baby's note is family history
        "NEWBORN DISCHARGE EXAM. Skin: few milia on nose, unchanged. Maternal hx: melanoma in "
        "situ L calf, treated 4 yrs ago. Mom herself had several BCCs in her 20s.",
        ADULT,
        set(),
        {"history-of-skin-cancer"},
        set(),
        set(),
        id="maternal-history",
    ),
    pytest.param(
        # a margin said to be spared, and "no lash loss", are no margin finding
        "PE: ~20 1-2 mm firm white papules infraorbital and upper lids. Lid margins spared. "
        "No lash loss.",
        ADULT,
        set(),
        {"eyelid-margin"},
        set(),
        set(),
        id="margins-spared",
    ),
    pytest.param(
        # told by the patient's child, "mum" is the patient (probe pc-growing-003's kind)
        "Phone review, history from her son. Mother has a firm pearly white spot on the L cheek, "
        "now twice the size it was at Christmas, ?milium.",
        OLDER,
        {"growing-larger", "diagnosis-uncertain"},
        set(),
        set(),
        set(),
        id="told-by-the-patients-son",
    ),
    pytest.param(
        # told by a parent, "son" is the patient
        "Dad called: son has a small white bump under the R eye that has started to bleed, "
        "?milium.",
        "2015-01-01",
        {"bleeding-or-crusting"},
        set(),
        set(),
        set(),
        id="told-by-the-patients-father",
    ),
    pytest.param(
        # told by a parent, the other parent is still family
        "Seen with mum. Dad has a white spot on his nose that keeps bleeding. Milia x3 on the "
        "cheeks, 1 mm.",
        "2015-01-01",
        set(),
        {"bleeding-or-crusting"},
        set(),
        set(),
        id="the-other-parent-is-family",
    ),
    pytest.param(
        # one phrase, two findings
        "Milia under both eyes; one is red and sore after squeezing.",
        ADULT,
        {"inflamed", "painful"},
        set(),
        set(),
        set(),
        id="red-and-sore",
    ),
    pytest.param(
        # a homophone of dictation inside a name
        "Pearly 2 mm papule R ala, ?milium, needs biopsy to exclude basil cell carcinoma.",
        OLDER,
        {"diagnosis-uncertain"},
        set(),
        {"basal-cell-carcinoma"},
        set(),
        id="basil-cell",
    ),
    pytest.param(
        # milia on the backs of the hands are porphyria's here, not a calcinosis to rule out
        "Known PCT, on venesection. Milia over the dorsal hands at healed blister sites.",
        OLDER,
        {"porphyria-pattern"},
        set(),
        set(),
        {"milia-like-calcinosis-cutis"},
        id="pct-hands-are-no-calcinosis",
    ),
    pytest.param(
        "Chalky white 2 mm papules on the fingers, ?milia.",
        "2016-01-01",
        {"diagnosis-uncertain"},
        set(),
        {"milia-like-calcinosis-cutis"},
        set(),
        id="chalky-papules",
    ),
    pytest.param(
        # a count that grows is no lesion that grows
        "Over the past 14 months a slowly growing number of tiny white cysts on both temples, "
        "milia.",
        ADULT,
        {"persisting-many-months"},
        {"growing-larger", "spreading-rapidly"},
        set(),
        set(),
        id="growing-number",
    ),
    pytest.param(
        # "RT" with a dose is radiotherapy; the milia are in its field
        "Breast ca, adjuvant RT 40 Gy to the L breast a year ago. Within the treated field, "
        "10 firm white 1 mm milia.",
        ADULT,
        {"radiotherapy-to-site"},
        set(),
        set(),
        set(),
        id="rt-with-a-dose",
    ),
    pytest.param(
        # ... and not in it when said to be well outside it
        "ChemoRT to the neck 8 months ago. A few milia on both lower eyelids, well outside the "
        "RT field.",
        OLDER,
        set(),
        {"radiotherapy-to-site"},
        set(),
        set(),
        id="outside-the-field",
    ),
    pytest.param(
        "On dabrafenib; eruptive milia over the forehead and cheeks since last month.",
        ADULT,
        {"spreading-rapidly"},
        set(),
        set(),
        set(),
        id="eruptive",
    ),
    pytest.param(
        "Milia on the upper lids, per pt there as long as she can remember.",
        ADULT,
        {"persisting-many-months"},
        set(),
        set(),
        set(),
        id="as-long-as-remembered",
    ),
    pytest.param(
        # the plaque under milia en plaque carries its findings to them
        "Behind the L ear: pink, slightly oedematous plaque studded with dozens of 1-2 mm "
        "white cysts. Imp: milia en plaque.",
        ADULT,
        {"inflamed"},
        set(),
        set(),
        set(),
        id="oedematous-plaque",
    ),
]


@pytest.mark.parametrize(("text", "birth", "flags", "not_flags", "mimics", "not_mimics"), CASES)
def test_what_a_note_asserts(
    text: str,
    birth: str,
    flags: set[str],
    not_flags: set[str],
    mimics: set[str],
    not_mimics: set[str],
) -> None:
    found = assessed(KB, note(text), birth=birth)
    assert found.milia is not None
    red = {h.id for h in found.red_flags}
    named = {h.id for h in found.mimics}
    assert flags <= red and not (not_flags & red), red
    assert mimics <= named and not (not_mimics & named), named


@pytest.mark.parametrize(
    "text",
    [
        "Walks a mile a day for his knees. Skin: nil of note.",  # "mile a" is no split "milia"
        "Mill is closed; works at the quarry. Skin: nil of note.",
    ],
)
def test_words_that_only_look_like_a_split_name_are_not_milia(text: str) -> None:
    assert assessed(KB, note(text)).milia is None


@pytest.mark.parametrize(
    "text",
    [
        # "w/o", as "without", denies
        "EB simplex review. Healed areas on hands and knees w/o scarring or milia.",
        # milia-like spots in a condition are not there
        "Peel 2 wks ago, healing well. RTC prn - call if she notices tiny white bumps.",
        # a parent asking whether milia could come
        "Mom writes: Is it true my baby could get milia because I get them? His skin looks "
        "totally smooth right now.",
    ],
)
def test_milia_denied_or_in_a_condition_are_not_there(text: str) -> None:
    assert assessed(KB, note(text)).milia is None


def test_milia_like_spots_said_to_have_gone_are_not_there() -> None:
    text = (
        "Urgent referral: mole on the L calf that has darkened and grown. No other lesions of "
        "concern; the tiny white spots she had on her eyelids have gone since she stopped using "
        "a thick eye balm."
    )
    assert assessed(KB, note(text)).milia is None
