"""Cards (cds_service/cards.py): which card kinds an assessment gets, in the content's order, and
what every rendered card carries: a red flag's card alone, numbered citations to listed references,
a summary under 140 characters, a detail that fits one screen, and stable ids."""

from __future__ import annotations

import re

import pytest

from cds_service.card_ids import CardIdentity
from cds_service.cards import DETAIL_LIMIT, CardRenderer, choose_kinds
from cds_service.clinical.knowledge import KnowledgeBase
from cds_service.clinical.loading import default_content_dir, load_knowledge
from cds_service.clinical.reasoning import Assessment, Hit

MILIA = Hit("milia", ("Condition/1",))
BLEEDING = Hit("bleeding-or-crusting", ("Observation/2",), "bleeds on touch")


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge(default_content_dir())


def kinds(kb: KnowledgeBase, assessment: Assessment, hook: str = "patient-view") -> list[str]:
    return choose_kinds(assessment, kb.card_templates, kb.card_choice, hook)


def test_a_red_flag_gets_its_card_alone(kb: KnowledgeBase) -> None:
    assert kinds(kb, Assessment(milia=MILIA, red_flags=(BLEEDING,))) == ["red-flags"]


def test_milia_alone_gets_the_likely_milia_card(kb: KnowledgeBase) -> None:
    assert kinds(kb, Assessment(milia=MILIA)) == ["likely-milia"]


def test_nothing_found_gets_no_card(kb: KnowledgeBase) -> None:
    assert kinds(kb, Assessment()) == []


def test_the_red_flag_card_cites_listed_references_and_fits_one_screen(kb: KnowledgeBase) -> None:
    renderer = CardRenderer(kb, "https://cds.example.org")
    ids = CardIdentity(b"secret", kb.meta.content_version).for_patient(None, None, "p1")
    assessment = Assessment(milia=MILIA, red_flags=(BLEEDING,))
    (rendered,) = renderer.render_all(assessment, "patient-view", "p1", ids)
    card = rendered.card
    assert card.indicator == "warning" and len(card.summary) < 140
    detail = card.detail or ""
    assert len(detail) <= DETAIL_LIMIT
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", detail)}
    assert cited, "the detail cites its references"
    listed = re.findall(r"^\s*(\d+)\. ", detail, flags=re.MULTILINE)
    assert cited <= {int(n) for n in listed}, "every number cited is listed beneath"
    assert rendered.uuid == ids.card("red-flags") == card.uuid


def test_an_order_hook_never_gets_the_chart_cards(kb: KnowledgeBase) -> None:
    assert kinds(kb, Assessment(milia=MILIA), hook="order-sign") == []
