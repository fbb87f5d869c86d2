"""The knowledge base schema (cds_service/clinical/knowledge.py) and the content shipped in cards/:
its provenance, red flags that each escalate with statements citing known references, card templates
that the card choice can reach, and schema rules that refuse unsafe or malformed content (card text
claiming an absence such as 'no red flag', a statement citing nothing, a field the schema lacks)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from cds_service.clinical.knowledge import (
    CardTemplate,
    Code,
    KnowledgeBase,
    Meta,
    Statement,
)
from cds_service.clinical.loading import default_content_dir, load_knowledge

ABSENCE = "card text claims an absence"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge(default_content_dir())


def test_meta_says_what_the_content_is_and_its_review_status(kb: KnowledgeBase) -> None:
    assert re.fullmatch(r"\d{4}\.\d+\.\d+", kb.meta.content_version)
    assert kb.meta.source.topic.code == "254679001"  # SNOMED CT: Milia
    if kb.meta.sign_off is None:
        assert kb.meta.provenance == "draft, awaiting dermatology review"
    signed = Meta.model_validate(
        {
            **kb.meta.model_dump(exclude={"sign_off"}),
            "status": "reviewed",
            "sign_off": {"role": "Consultant dermatologist", "date": "2027-01-15"},
        }
    )
    assert signed.provenance == "reviewed: reviewed by a consultant dermatologist on 2027-01-15"


def test_every_red_flag_escalates_with_statements_citing_known_references(
    kb: KnowledgeBase,
) -> None:
    known = {r.id for r in kb.references}
    assert len(known) == len(kb.references), "reference ids must be unique"
    assert len(kb.red_flags) >= 10
    assert len({f.id for f in kb.red_flags}) == len(kb.red_flags)
    for flag in kb.red_flags:
        assert flag.escalation, flag.id
        for statement in flag.escalation:
            assert statement.cites, flag.id
            assert set(statement.cites) <= known, (flag.id, statement.cites)
        assert kb.red_flag(flag.id) is flag


def test_card_templates_are_reachable_and_cite_known_references(kb: KnowledgeBase) -> None:
    known = {r.id for r in kb.references}
    assert set(kb.card_choice.order) == set(kb.card_templates)
    assert set(kb.card_choice.alone) <= set(kb.card_choice.order)
    for kind, template in kb.card_templates.items():
        assert set(template.links) <= known, kind
        assert all(set(s.cites) <= known for s in template.detail), kind
        assert set(template.suggestions) <= set(kb.suggestions), kind
    red_flags = kb.card_templates["red-flags"]
    assert red_flags.when.escalate is True
    assert red_flags.indicator in {"warning", "critical"}
    # A card about benign milia is never critical, and never the first choice over a red flag.
    assert kb.card_templates["likely-milia"].indicator == "info"
    assert kb.card_choice.order[0] == "red-flags"


@pytest.mark.parametrize(
    "text",
    [
        "No red flags were found in the record.",
        "no red-flag on review",
        "Red flags are absent.",
        "Red flag ruled out by the nurse.",
        "There are no warning signs.",
        "No concerning features.",
    ],
)
def test_card_text_claiming_an_absence_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match=ABSENCE):
        Statement.model_validate({"text": text, "cites": ["milia-guidance-article"]})
    template: dict[str, Any] = {
        "indicator": "info",
        "summary": text,
        "detail": [{"text": "Milia are harmless.", "cites": ["milia-guidance-article"]}],
        "when": {"milia": True},
    }
    with pytest.raises(ValidationError, match=ABSENCE):
        CardTemplate.model_validate(template)


def test_the_schema_accepts_what_a_reviewer_writes_and_refuses_malformed_content() -> None:
    # Saying that red flags are present, or when to examine, is not a claim of absence.
    fine = Statement.model_validate(
        {"text": "Red flags of the guidance are in this record.", "cites": ["berk-bayliss-2008"]}
    )
    assert fine.cites == ["berk-bayliss-2008"]
    # An unquoted SNOMED CT id is read by YAML as a number; it is kept as text.
    code = Code.model_validate(
        {
            "system": "http://snomed.info/sct",
            "code": 254679001,
            "display": "Milia",
            "verified": True,
        }
    )
    assert code.code == "254679001"
    refused: list[tuple[dict[str, Any], str]] = [
        ({"text": "Milia are harmless.", "cites": []}, "cites"),
        ({"text": "Milia are harmless.", "cites": ["Not An Id"]}, "cites.0"),
        ({"text": "", "cites": ["berk-bayliss-2008"]}, "text"),
        ({"text": "Milia.", "cites": ["berk-bayliss-2008"], "colour": "red"}, "colour"),
    ]
    for data, field in refused:
        with pytest.raises(ValidationError) as caught:
            Statement.model_validate(data)
        assert [".".join(map(str, e["loc"])) for e in caught.value.errors()] == [field]
