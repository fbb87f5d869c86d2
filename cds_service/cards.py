"""Cards: an Assessment rendered as CDS Hooks cards from the knowledge base's templates.

Every statement in a card's detail carries numbered citations to the references listed beneath it,
and the footer gives the content version and review date so a clinician can see what the advice rests
on. Cards know nothing of FHIR JSON or the database.
"""

from __future__ import annotations

import uuid

from .clinical.knowledge import CardTemplate, KnowledgeBase
from .clinical.reasoning import Assessment
from .protocol import Card, Coding, Link, Source


def _detail(template: CardTemplate, kb: KnowledgeBase, evidence: tuple[str, ...]) -> str:
    numbers: dict[str, int] = {}
    lines = []
    for statement in template.detail:
        marks = "".join(f"[{numbers.setdefault(ref, len(numbers) + 1)}]" for ref in statement.cites)
        lines.append(f"- {statement.text} {marks}")
    if evidence:
        lines.append("")
        lines.append(f"**Why this card:** based on {', '.join(evidence)}.")
    lines.append("")
    lines.append("**References**")
    lines.append("")
    for ref_id, number in numbers.items():
        ref = kb.reference(ref_id)
        lines.append(f"{number}. {ref.citation} <{ref.link}>")
    lines.append("")
    meta = kb.meta
    lines.append(
        f"_Content version {meta.content_version}, reviewed {meta.review_date.isoformat()} "
        f"({meta.status}). Decision support, not a diagnosis: examine the patient._"
    )
    return "\n".join(lines)


def _source(kb: KnowledgeBase) -> Source:
    src = kb.meta.source
    topic = Coding(system=src.topic.system, code=src.topic.code, display=src.topic.display)
    return Source(label=src.label, url=src.url, topic=topic)


def render_card(kind: str, assessment: Assessment, kb: KnowledgeBase) -> Card:
    template = kb.card_templates[kind]
    evidence = (assessment.evidence or {}).get(kind, ())
    links = [
        Link(label=kb.reference(ref_id).short, url=kb.reference(ref_id).link, type="absolute")
        for ref_id in template.links
    ]
    return Card(
        uuid=str(uuid.uuid4()),
        summary=template.summary,
        detail=_detail(template, kb, evidence),
        indicator=template.indicator,
        source=_source(kb),
        links=links or None,
    )


def render_cards(assessment: Assessment, kb: KnowledgeBase) -> list[Card]:
    return [render_card(kind, assessment, kb) for kind in assessment.card_kinds]
