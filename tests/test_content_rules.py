"""check-content: passes on cards/, and names file and line for each kind of broken copy.

Each broken copy is made from the shipped cards by one edit; the expected line is found in the edited
text itself, so the test checks the message against the file a reviewer would open.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cds_service.clinical.loading import validate_content
from cds_service.errors import ContentError
from tests.conftest import build_app
from tests.content_copies import check, copy_cards, edit

#: Left out of make check: check-content on broken copies in subprocesses.
pytestmark = pytest.mark.slow


Breakage = Callable[[Path], tuple[str, int, str]]


def missing_reference(cards: Path) -> tuple[str, int, str]:
    line = edit(cards / "templates.yaml", r"cites: \[milia-guidance-article", "cites: [no-such-ref")
    return "templates.yaml", line, "cites unknown reference 'no-such-ref'"


def summary_too_long(cards: Path) -> tuple[str, int, str]:
    summary = "Milia-like lesion with red flags ({red_flags}) " + "x" * 70
    line = edit(
        cards / "templates.yaml",
        r'summary: "Milia-like lesion with red flags[^"]*"',
        f'summary: "{summary}"',
    )
    length = len(summary.replace("{red_flags}", "x" * 60))
    return (
        "templates.yaml",
        line,
        f"summary can reach {length} characters with the longest placeholders; "
        "it must stay under 140",
    )


def unknown_code_system(cards: Path) -> tuple[str, int, str]:
    line = edit(
        cards / "conditions.yaml",
        r'system: "http://snomed\.info/sct"',
        'system: "http://snomed.example/sct"',
    )
    return "conditions.yaml", line, "unknown code system 'http://snomed.example/sct'"


def snomed_typo(cards: Path) -> tuple[str, int, str]:
    line = edit(cards / "conditions.yaml", r'code: "254679001"', 'code: "254679002"')
    return "conditions.yaml", line, "'254679002' fails the SNOMED CT check digit"


def dangling_mimic(cards: Path) -> tuple[str, int, str]:
    line = edit(
        cards / "red-flags.yaml", r"points_to: \[basal-cell-carcinoma", "points_to: [no-such-mimic"
    )
    return "red-flags.yaml", line, "points to unknown mimic 'no-such-mimic'"


def dangling_step(cards: Path) -> tuple[str, int, str]:
    line = edit(
        cards / "conditions.yaml", r"management: \[leave-alone", "management: [no-such-step"
    )
    return "conditions.yaml", line, "unknown management step 'no-such-step'"


def bad_yaml(cards: Path) -> tuple[str, int, str]:
    line = edit(cards / "mimics.yaml", r"^mimics:\n", "mimics:\n  - [unclosed\n")
    return "mimics.yaml", line + 2, "invalid YAML"


def wrong_indicator(cards: Path) -> tuple[str, int, str]:
    line = edit(cards / "templates.yaml", r"indicator: warning", "indicator: urgent")
    return (
        "templates.yaml",
        line,
        "card_templates.red-flags.indicator: Input should be 'info', 'warning' or 'critical'",
    )


def code_without_verification(cards: Path) -> tuple[str, int, str]:
    text = (cards / "conditions.yaml").read_text()
    match = re.search(
        r'^( +)- system: "http://snomed\.info/sct"\n(?:\1  .*\n)*?\1  verified: true\n', text, re.M
    )
    assert match
    block = match.group(0)
    (cards / "conditions.yaml").write_text(
        text.replace(block, re.sub(r".*verified: true\n", "", block), 1)
    )
    line = text.count("\n", 0, match.start()) + 1
    return "conditions.yaml", line, "verified: Field required"


def unknown_lexicon_concept(cards: Path) -> tuple[str, int, str]:
    line = edit(
        cards / "red-flags.yaml", r"concepts: \[bleed, crust\]", "concepts: [bleed, crusty]"
    )
    return "red-flags.yaml", line, "unknown lexicon concept 'crusty'"


def unreadable_term(cards: Path) -> tuple[str, int, str]:
    line = edit(cards / "lexicon.yaml", r"terms: \[bleed, ", 'terms: [bleed, "<nothing> here", ')
    return (
        "lexicon.yaml",
        line,
        "term '<nothing> here': '<nothing>' names no concept of the lexicon",
    )


def unknown_card_kind_in_choice(cards: Path) -> tuple[str, int, str]:
    line = edit(cards / "templates.yaml", r"alone: \[red-flags,", "alone: [red-flag,")
    return "templates.yaml", line, "unknown card kind 'red-flag'"


def summary_claiming_absence(cards: Path) -> tuple[str, int, str]:
    line = edit(cards / "templates.yaml", r"per \{read\}", "; no red flag found in {read}")
    return "templates.yaml", line, "card text claims an absence ('no red flag')"


def unknown_age_band(cards: Path) -> tuple[str, int, str]:
    line = edit(
        cards / "management.yaml", r"patient: \{ages: \[adult\]\}", "patient: {ages: [grown-up]}"
    )
    return "management.yaml", line, "unknown age band 'grown-up'"


def unknown_patient_state(cards: Path) -> tuple[str, int, str]:
    line = edit(cards / "order-cautions.yaml", r"states: \[pregnancy\]", "states: [pregnant]")
    return "order-cautions.yaml", line, "unknown patient state 'pregnant'"


def unknown_drug_class(cards: Path) -> tuple[str, int, str]:
    line = edit(
        cards / "triggers.yaml",
        r"drug_classes: \[penicillamine\]",
        "drug_classes: [penicilamine]",
    )
    return "triggers.yaml", line, "unknown drug class 'penicilamine'"


def reassuring_card_before_the_red_flags(cards: Path) -> tuple[str, int, str]:
    line = edit(
        cards / "templates.yaml",
        r"order: \[red-flags, mimic-to-rule-out",
        "order: [mimic-to-rule-out, red-flags",
    )
    return "templates.yaml", line, "'mimic-to-rule-out' comes before 'red-flags', which escalates"


def statement_claiming_absence(cards: Path) -> tuple[str, int, str]:
    line = edit(
        cards / "management.yaml", r"once they have been examined", "when red flags are absent"
    )
    return "management.yaml", line, "card text claims an absence ('no red flag')"


BREAKAGES = [
    summary_claiming_absence,
    statement_claiming_absence,
    unknown_age_band,
    unknown_patient_state,
    unknown_drug_class,
    reassuring_card_before_the_red_flags,
    unknown_lexicon_concept,
    unreadable_term,
    unknown_card_kind_in_choice,
    missing_reference,
    summary_too_long,
    unknown_code_system,
    snomed_typo,
    dangling_mimic,
    dangling_step,
    bad_yaml,
    wrong_indicator,
    code_without_verification,
]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.__name__)
def test_each_broken_copy_is_reported_with_file_and_line(
    tmp_path: Path, breakage: Breakage
) -> None:
    cards = copy_cards(tmp_path)
    filename, line, expected = breakage(cards)
    result = check(cards)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    prefix = f"{cards / filename}:{line}: "
    assert any(out.startswith(prefix) and expected in out for out in lines), result.stdout


def test_the_service_refuses_to_start_on_invalid_content(tmp_path: Path) -> None:
    cards = copy_cards(tmp_path)
    _, line, expected = dangling_mimic(cards)
    with pytest.raises(ContentError) as raised:
        build_app(content_dir=cards)
    assert f"red-flags.yaml:{line}: {expected}" in raised.value.message
    served = subprocess.run(
        [sys.executable, "-m", "cds_service.cli", "serve", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CDS_CONTENT_DIR": str(cards), "CDS_DATABASE_URL": "sqlite://"},
    )
    assert served.returncode == 2
    assert "refusing to start on invalid content" in served.stderr
    assert f"red-flags.yaml:{line}: {expected}" in served.stderr


@pytest.mark.parametrize(
    ("file", "pattern", "replacement", "message"),
    [
        (
            "templates.yaml",
            r"when: \{escalate: true\}",
            "when: {escalate: true, triggers: false}",
            "a card that escalates must apply on escalate alone",
        ),
        (
            "patients.yaml",
            r"days_at_least: 4383\n    days_under: 6575",
            "days_at_least: 6575\n    days_under: 4383",
            "age band 'adolescent' is empty",
        ),
        (
            "order-cautions.yaml",
            r"      drug_classes: \[potent-topical-corticosteroids\]",
            "      drug_classes: [potent-topical-corticosteroids]\n      patient: {states: [pregnancy]}",
            "a drug rule cannot hold gates",
        ),
        (
            "mimics.yaml",
            r"lesion: \{size_mm_over: 3, solitary: true\}",
            "lesion: {}",
            "an empty lesion rule would match any lesion",
        ),
        (
            "templates.yaml",
            r"when: \{milia: true, variants: \[neonatal-milia\]\}",
            "when: {variants: [neonatal-milia]}",
            "a card for a variant needs milia: true",
        ),
    ],
)
def test_rules_that_would_mislead_are_refused(
    tmp_path: Path, file: str, pattern: str, replacement: str, message: str
) -> None:
    cards = copy_cards(tmp_path)
    edit(cards / file, pattern, replacement)
    result = check(cards)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr, result.stdout + result.stderr


def test_a_card_that_could_outgrow_one_screen_is_refused(tmp_path: Path) -> None:
    cards = copy_cards(tmp_path)
    long = "Milia are harmless; " * 40
    edit(
        cards / "templates.yaml",
        r"      - text: \"Milia are small keratin cysts",
        f'      - text: "{long}"\n        cites: [berk-bayliss-2008]\n      - text: "Milia are small keratin cysts',
    )
    result = check(cards)
    assert result.returncode != 0
    assert "card_templates.likely-milia: the detail can reach" in result.stdout


# Every other content error, one broken copy each, checked in-process for its exact line:
# (file, pattern, replacement, the pattern of the line the problem names in the edited file,
# the exact message). The named line is found in the edited text, so the test checks what a
# reviewer would open.
TODAY_PLUS_A_YEAR = "2999-01-01"
CONTENT_ERRORS = [
    (
        "mimics.yaml",
        r"  - id: syringoma",
        "  - id: sebaceous-hyperplasia",
        r"  - id: sebaceous-hyperplasia\n(?![\s\S]*  - id: sebaceous-hyperplasia)",
        "duplicate id 'sebaceous-hyperplasia' in mimics",
    ),
    (
        "management.yaml",
        r"    - id: gentle-exfoliation",
        "    - id: leave-alone",
        r"    - id: leave-alone\n(?![\s\S]*    - id: leave-alone)",
        "duplicate step id 'leave-alone'",
    ),
    (
        "override-reasons.yaml",
        r"    - code: patient-declines",
        "    - code: already-evaluated-by-dermatology",
        r"    - code: already-evaluated-by-dermatology\n(?![\s\S]*- code: already-evaluated-by-dermatology)",
        "duplicate reason 'already-evaluated-by-dermatology'",
    ),
    (
        "templates.yaml",
        r"links: \[berk-bayliss-2008, sachdeva-2009\]",
        "links: [berk-bayliss-2008, no-such-ref]",
        r"links: \[berk-bayliss-2008, no-such-ref\]",
        "links unknown reference 'no-such-ref'",
    ),
    (
        "templates.yaml",
        r"suggestions: \[add-milia-to-problem-list\]",
        "suggestions: [add-milia-to-the-list]",
        r"suggestions: \[add-milia-to-the-list\]",
        "unknown suggestion 'add-milia-to-the-list'",
    ),
    (
        "templates.yaml",
        r"    pending_days: 60\n",
        "    pending_days: 60\n    recommended: true\n",
        r"    suggestions: \[dermatology-referral, skin-biopsy\]",
        "at most one suggestion of a card may be recommended",
    ),
    (
        "templates.yaml",
        r"order: \[red-flags, mimic-to-rule-out, ",
        "order: [red-flags, ",
        r"  order: ",
        "card kind 'mimic-to-rule-out' has no place in the order",
    ),
    (
        "templates.yaml",
        r"alone: \[red-flags, ",
        "alone: [",
        r"  alone: ",
        "card kind 'red-flags' escalates and must stand alone",
    ),
    (
        "templates.yaml",
        r"    indicator: warning",
        "    indicator: info",
        r"    indicator: info\n    summary: \"Milia-like lesion with red flags",
        "a card that escalates cannot be 'info'",
    ),
    (
        "templates.yaml",
        # The newborn card's indicator (comments may stand between it and its summary).
        r"    indicator: info(?=\n(?:    #.*\n)*    summary: \"Newborn)",
        "    indicator: critical",
        r"    indicator: critical",
        "critical is only for cards that escalate",
    ),
    (
        "templates.yaml",
        r"\{red_flags\}\): examine",
        "{red_flags): examine",
        r"    summary: \"Milia-like lesion with red flags",
        "malformed placeholder: unmatched '{' in format spec",
    ),
    (
        "templates.yaml",
        r"\(benign keratin cysts\) per \{read\}",
        "(benign keratin cysts) per {notes}",
        r"    summary: \"Consistent with milia",
        "unknown placeholder {notes}; known: {red_flags}, {mimics}, {trigger}, {variant}, {caution}, {read}",
    ),
    (
        "meta.yaml",
        r"  edited: 2026-11-26",
        f"  edited: {TODAY_PLUS_A_YEAR}",
        r"  edited: ",
        "edited is in the future",
    ),
    (
        "meta.yaml",
        r"  status: draft",
        "  status: reviewed",
        r"  status: reviewed",
        "status 'reviewed' needs a sign_off (role and date)",
    ),
    (
        "meta.yaml",
        r"  status: draft",
        f"  status: draft\n  sign_off: {{role: dermatologist, date: {TODAY_PLUS_A_YEAR}}}",
        r"  sign_off: ",
        "the sign-off date is in the future",
    ),
    (
        "meta.yaml",
        r"  status: draft",
        "  status: draft\n  sign_off: {role: dermatologist, date: 2026-01-01}",
        r"  sign_off: ",
        "the sign-off is older than the last edit: review this version, or set status: draft",
    ),
    (
        "conditions.yaml",
        r"    kind: milia\n",
        "    kind: variant\n",
        r"^conditions:",
        "exactly one condition must be of kind 'milia'",
    ),
    (
        "conditions.yaml",
        r"    kind: milia\n    name: \"Milia\"\n    codes:\n(?:      .*\n)+",
        '    kind: milia\n    name: "Milia"\n    codes: []\n',
        r"    codes: \[\]",
        "milia needs a verified code",
    ),
    (
        "lexicon.yaml",
        r"    - id: crust\n",
        "    - id: bleed\n",
        r"    - id: bleed\n(?![\s\S]*    - id: bleed\n)",
        "duplicate concept id 'bleed'",
    ),
    ("sites.yaml", r"  - id: scalp\n", "  - id: face\n", r"^sites:", "duplicate site id 'face'"),
    (
        "abbreviations.yaml",
        r'\{short: "pmhx"',
        '{short: "pmh"',
        r'(?<=\(past medical history\)"\}\n)  - \{short: "pmh"',
        "duplicate abbreviation 'pmh'",
    ),
    (
        "management.yaml",
        r"patient: \{ages: \[child, adolescent, adult\], unknown_age: applies\}",
        "patient: {unknown_age: applies}",
        r"patient: \{unknown_age: applies\}",
        "unknown_age needs ages: it says what an unknown age means",
    ),
    (
        "red-flags.yaml",
        r"      duration_from: \[words, notes\]\n",
        "      duration_from: []\n",
        r"      duration_from: \[\]",
        "duration_from is empty: the duration is never read",
    ),
    (
        "drugs.yaml",
        r"    concepts: \[potent-steroid\]\n    codes:\n(?:      .*\n)+",
        "    codes: []\n",
        r"  - id: potent-topical-corticosteroids",
        "a drug class needs codes or concepts",
    ),
    (
        "order-cautions.yaml",
        r"    min_duration_days: 28\n",
        "",
        r"  - id: .*\n(?=(?:    .*\n|      .*\n|\s*#.*\n)*?    long_when_refills_at_least)",
        "long_when_* needs min_duration_days: it says what counts as long",
    ),
    (
        "triggers.yaml",
        r"      drug_classes: \[potent-topical-corticosteroids\]\n",
        "      drug_classes: [potent-topical-corticosteroids]\n      patient: {states: [pregnancy]}\n",
        r"    recognise:\n      drug_classes: \[potent-topical-corticosteroids\]\n      patient",
        "a drug cause cannot hold gates: the medication list is read by drug and route",
    ),
    (
        "templates.yaml",
        r"    when: \{escalate: true\}",
        "    when: {milia: true}",
        r"^card_templates:",
        "no card kind has when: {escalate: true}: red flags would not show",
    ),
]


@pytest.mark.parametrize(
    ("file", "pattern", "replacement", "named", "message"),
    CONTENT_ERRORS,
    ids=[case[4].split(":")[0][:40] for case in CONTENT_ERRORS],
)
def test_every_content_error_names_its_file_and_line(
    tmp_path: Path, file: str, pattern: str, replacement: str, named: str, message: str
) -> None:
    cards = copy_cards(tmp_path)
    edit(cards / file, pattern, replacement)
    text = (cards / file).read_text()
    found = re.search(named, text, flags=re.MULTILINE)
    assert found, f"{named!r} not in the edited {file}"
    line = text.count("\n", 0, found.start()) + 1
    kb, problems = validate_content(cards)
    assert kb is None
    assert f"{cards / file}:{line}: {message}" in problems, "\n".join(problems)
